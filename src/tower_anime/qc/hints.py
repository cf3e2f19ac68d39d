"""What a failed check most likely means and how to fix it, by metric: the one table that
gate refusals (report.describe_failure) and `tower-anime qc` print under a failure.

A metric about one character, scene or line (`palette[luna]`) is looked up by its name
before the bracket; a (kind, metric) entry wins over the metric's own one.
"""

RETAKE = "re-take with the next seed (raise qc.takes)"
WAIVE = "if it is intended, waive the check with a reason (qc.waive)"

HINTS: dict[str | tuple[str, str], str] = {
    # stills
    ("still", "decodes"): "a truncated or corrupt image (an interrupted render or download, a full disk): it is made "
    "again on the next run",
    ("still", "width"): "the backend rendered another size than output.width/height: check its workflow's size",
    ("still", "height"): "the backend rendered another size than output.width/height: check its workflow's size",
    "luma_std": f"a blank or near-uniform render (black, grey, one fill): {RETAKE} or check the model and prompt",
    "sharpness": f"a blurred or blank render: {RETAKE} or check the model; a flat line-art style may need a "
    "lower qc.still.min_sharpness",
    "clipped_highlights": f"a blown-out render: {RETAKE} or darken the lighting in the prompt",
    "crushed_shadows": f"a render too dark to read: {RETAKE} or brighten the lighting in the prompt",
    "palette": f"the character is missing from the shot or drawn in other colours (the LoRA did not take): "
    f"{RETAKE}, check the character's LoRA and palette, raise qc.still.palette_radius for generated "
    f"images; {WAIVE}",
    "palette_colours": f"the character is drawn without some of their palette colours: {RETAKE}, check the LoRA "
    f"and palette; {WAIVE}",
    "reference": f"the costume or colours differ from the character's reference image: {RETAKE} or check the "
    f"LoRA; {WAIVE}",
    # clips
    ("clip", "decodes"): "a truncated or corrupt clip (cut short after it was made, a full disk): it is made again on "
    "the next run",
    "frames": "the clip backend made another length than the shot asks: check its workflow's frame count",
    "duration": "the clip backend made another length than the shot asks: check its workflow's frame count",
    ("clip", "fps"): "the clip backend made another frame rate than output.fps: check its workflow",
    ("clip", "width"): "the clip's size differs from its still's: check the clip workflow's resize",
    ("clip", "height"): "the clip's size differs from its still's: check the clip workflow's resize",
    "black_fraction": f"black frames or a fade to black inside the clip: {RETAKE} or check the clip model",
    "frozen_seconds": f"the clip stops moving (frozen image-to-video): {RETAKE} or ask for more motion in the "
    "shot's action; a hold that is meant add the move to qc.clip.frozen_exempt",
    "max_luma_jump": f"flicker, exposure pumping or a cut inside the clip: {RETAKE} or check the clip model",
    "min_sharpness": f"the clip is soft: {RETAKE} or check the clip model and its steps",
    "sharpness_ratio": f"the clip goes soft part-way: {RETAKE} or check the clip model and its steps",
    "first_frame_ssim": f"the clip does not start on its still: {RETAKE}, check that the clip workflow is fed "
    "the still; a move that starts cropped belongs in qc.clip.first_frame_exempt",
    # voice lines and music cues
    ("voice", "decodes"): "the voice file is not audio (a service's error reply?) or cut short (a full disk): read the "
    "line's log; it is made again on the next run",
    ("music", "decodes"): "the music file is not audio (a service's error reply?) or cut short (a full disk): read the "
    "cue's log; it is made again on the next run",
    ("voice", "sample_rate"): "the line is not at output.sample_rate: check the voice engine or service",
    ("music", "sample_rate"): "the cue is not at output.sample_rate: check the music service",
    ("voice", "rms_dbfs"): "the line is silent or far too quiet: check its text and the voice engine or service",
    ("music", "rms_dbfs"): "the cue is silent or far too quiet: check the soundfonts or the music service",
    "clipped_fraction": "the audio is clipped (peaks at full scale): lower the service's output gain or make it again",
    "chars_per_second": "speech too fast or too slow for its text (garbled, cut short, or padded with silence): "
    "check the line's text and the character's speed; a line meant to be slow or fast "
    "needs a wider qc.voice.chars_per_second",
    "seconds": "the cue is shorter than its scene: check the music service's reply or music settings",
    # the episode
    ("episode", "decodes"): "the master is truncated or corrupt: it is made again on the next run",
    **{
        ("episode", m): "the master's size or rate differs from output:: build it again (snakemake --forcerun master)"
        for m in ("width", "height", "fps")
    },
    "loudness_off_target": "the mix is off the delivery loudness: read logs/<ep>/mix.log and check loudness.profile",
    "dialogue_loudness_off_target": "the dialogue is off its loudness target: read logs/<ep>/mix.log and check "
    "the mix's ducking and loudness.profile",
    "true_peak": "the mix peaks above the ceiling: check loudness.profiles.<profile>.true_peak_dbtp and the mix log",
    **{
        m: "the master's streams differ from the delivery profile: make output: and qc.episode.delivery agree"
        for m in (
            "video_codec",
            "pix_fmt",
            "audio_codec",
            "audio_sample_rate",
            "audio_channels",
            "subtitle_codec",
            "subtitle_language",
        )
    },
    **{
        m: "the picture or sound is longer or shorter than the script: check that every clip passed its frames "
        "check, and read logs/<ep>/mix.log"
        for m in ("video_frames_off_script", "audio_end_off_script", "audio_video_end_difference")
    },
    **{
        m: "chapters or title differ from the story: build the master again (snakemake --forcerun master)"
        for m in ("chapters", "chapter_start", "chapter_title", "title")
    },
    **{
        m: "a subtitle is too long, too fast or off its line: shorten the line's text or widen the subtitles: limits"
        for m in ("subtitle_chars_per_line", "subtitle_lines", "subtitle_chars_per_second")
    },
    **{
        m: "a subtitle does not follow its voice line: build the subtitles again (snakemake --forcerun subtitles)"
        for m in ("subtitle_events_for_lines", "subtitle_start", "subtitle_end")
    },
}

FALLBACK = (
    "open the report for the measured values; then fix the item, loosen the threshold under qc:, "
    "or waive the check with a reason (qc.waive)"
)


def hint(kind: str, metric: str) -> str:
    """The likely cause and fix of a failed `metric` of a `kind` item (FALLBACK when unknown)."""
    name = metric.split("[", 1)[0]
    return HINTS.get((kind, name)) or HINTS.get(name) or FALLBACK
