# Episode stage: subtitles from the real line timing, the assembled master, and delivery
# of the master once its QC report and every item's report pass.


rule subtitles:
    input:
        placement="build/{ep}/placement.json",
    output:
        "subs/{ep}.{lang}.srt",
    params:
        track=subtitle_track,
    log:
        "logs/{ep}/subtitles.{lang}.log",
    benchmark:
        "benchmarks/subtitles/{ep}.{lang}.tsv"
    localrule: True
    script:
        "../scripts/subtitles.py"


# A segment is cut beside its clips' gates, not after them (they are quick and the segment is
# CPU work): the master waits for every clip gate and refuses the episode on a failed one. A
# clip that does not decode fails its segment with a message that names it and its gate
# (segments.py).
rule segment:
    input:
        clips=segment_clips,
        code=code_stamp("segment", ["episode/segments.py", "episode/master.py", "episode/transitions.py"]),
    output:
        "build/{ep}/segments/{shot}.ts",
    params:
        segment=segment_spec,
        settings=video_settings,
        gates=segment_clip_reports,
    log:
        "logs/{ep}/segments/{shot}.log",
    benchmark:
        "benchmarks/segment/{ep}/{shot}.tsv"
    script:
        "../scripts/segment.py"


# The episode's sound, encoded once and measured once: an edit to the picture re-encodes and
# re-measures none of it.
rule sound:
    input:
        mix="audio/{ep}/mix.wav",
        encoder=code("episode/master.py"),
    output:
        sound="build/{ep}/sound.opus",
        # its packets' digest and its loudness, for the episode's gate (episode/master.py)
        record="build/{ep}/sound.json",
    params:
        settings=sound_settings,
    log:
        "logs/{ep}/sound.log",
    benchmark:
        "benchmarks/sound/{ep}.tsv"
    script:
        "../scripts/sound.py"


rule master:
    input:
        segments=segment_files,
        clip_reports=lambda wc: ancient(clip_reports(wc)),
        sound="build/{ep}/sound.opus",
        # the mix's exact length (the Matroska duration), not its samples
        mix="audio/{ep}/mix.wav",
        subs=subtitle_files,
        assembler=code("episode/master.py"),
        # out of date while the episode's gate refuses it (see refusal)
        verdict=refusal("episode"),
    output:
        "build/{ep}/master.mkv",
    params:
        timeline=timeline_json,
        settings=lambda wc: section("output"),
        languages=language_tags,
    log:
        "logs/{ep}/master.log",
    benchmark:
        "benchmarks/master/{ep}.tsv"
    script:
        "../scripts/master.py"


rule deliver:
    input:
        master="build/{ep}/master.mkv",
        report="reports/{ep}/episode.json",
        # every gate again, not ancient: a threshold tightened after the renders stops delivery
        gates=gate_reports,
        # the renders the gates guard, so that a clip or mix its gate refused earlier is
        # made again once a waiver or threshold lets it by. Snakemake skips the own checks
        # of every job downstream of a re-run check and reaches them only through inputs
        # that are not ancient (snakemake/snakemake#4166; README: Quality gates)
        renders=lambda wc: clip_files(wc) + [f"audio/{wc.ep}/mix.wav"],
    output:
        "episodes/{ep}.mkv",
    log:
        "logs/{ep}/deliver.log",
    benchmark:
        "benchmarks/deliver/{ep}.tsv"
    localrule: True
    script:
        "../scripts/deliver.py"


# The review room's copy of the master (`tower-anime review`): browsers play WebM (VP9/Opus)
# with WebVTT subtitles and chapters, not Matroska with H.264 and SubRip. Not in `rule all`:
# the review command asks for it when it rebuilds.
rule preview:
    input:
        master="build/{ep}/master.mkv",
        maker=code("episode/preview.py"),
    output:
        video="build/{ep}/preview.webm",
        subtitles="build/{ep}/preview.vtt",
        chapters="build/{ep}/chapters.vtt",
    params:
        settings=lambda wc: dumps(config["review"]["preview"]),
    log:
        "logs/{ep}/preview.log",
    benchmark:
        "benchmarks/preview/{ep}.tsv"
    threads: 2
    localrule: True
    script:
        "../scripts/preview.py"
