"""Episode checks: streams and codecs against the delivery profile, ends of picture and sound
against each other and the script, loudness against the delivery profile (on the programme or
the dialogue stem), the subtitle track against the voice lines, chapters and the title."""
import csv
import io
from fractions import Fraction

from ..audio.delivery import reference, resolve_profile
from ..errors import MediaError
from ..media import ffmpeg, loudness, probe, read_pcm, run
from .report import check, make_report
from .speech import speech_checks
from .subtitles import parse_srt, subtitle_checks


def loudness_checks(profile, dialogue_share, programme, dialogue=None):
    """Measured loudness (media.loudness() dicts) against the profile: the target on what the
    profile measures (the programme, or the dialogue stem), the true peak of the programme."""
    what, target = reference(profile, dialogue_share)
    measured = dialogue if what == "dialogue" else programme
    value = None if measured is None else round(abs(measured["integrated_lufs"] - target), 2)
    return [
        check("dialogue_loudness_off_target" if what == "dialogue" else "loudness_off_target",
              value, "<=", profile["tolerance_lu"], "LU"),
        check("true_peak", programme["true_peak_dbtp"], "<=", profile["true_peak_dbtp"], "dBTP"),
    ]


def _delivery(profile, dialogue_share, cfg):
    """The profile and what it was checked on, for people reading the report."""
    measured_on, target = reference(profile, dialogue_share)
    # the loudness range is reported beside the config's figure, never gated (streaming specs
    # ask only that it be reported)
    return {"profile": profile, "measured_on": measured_on, "target_lufs": target,
            "dialogue_share": dialogue_share, "lra_target_lu": cfg["loudness"]["lra"]}


def stream_end(path, stream):
    """(packets, end time in seconds) of one stream, from its packets: no decoding."""
    proc = run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                "packet=pts_time,duration_time", "-of", "csv=p=0", str(path)], f"packets of {path}")
    count, end = 0, 0.0
    for row in csv.reader(io.StringIO(proc.stdout)):
        if not row or not row[0] or row[0] == "N/A":
            continue
        count += 1
        duration = float(row[1]) if len(row) > 1 and row[1] not in ("", "N/A") else 0.0
        end = max(end, float(row[0]) + duration)
    return count, end


def muxed_subtitles(path):
    return ffmpeg(["-i", str(path), "-map", "0:s:0", "-f", "srt", "-"], f"subtitles of {path}").stdout


def episode_report(path, timeline, cfg, placed=(), waivers=(), dialogue_stem=None, dialogue_share=0.0):
    """timeline: the plan's timeline; placed: the voice lines where the mix put them, with
    their windows (build/<ep>/placement.json, episode.placement); cfg: the config sections output, loudness, subtitles, qc;
    dialogue_stem (and its share of the running time): measured too when the profile asks."""
    try:
        info = probe(path)
    except MediaError as e:  # the report is written all the same, and delivery refuses it
        return make_report("episode", timeline["episode"], [check("decodes", False, "==", True)],
                           {"file": str(path), "error": str(e)}, waivers)
    by_type = {}
    for s in info["streams"]:
        by_type.setdefault(s["codec_type"], []).append(s)
    profile = resolve_profile(cfg)
    fps = timeline["fps"]
    frame = 1 / fps
    q = cfg["qc"]["episode"]
    delivery = q["delivery"]
    tol_frames = q["duration_tolerance_frames"]
    script = timeline["total_frames"] / fps
    video = (by_type.get("video") or [None])[0]
    audio = (by_type.get("audio") or [None])[0]
    subs = (by_type.get("subtitle") or [None])[0]
    get = lambda s, key: s and s.get(key)  # noqa: E731 - a stream may be missing
    checks = [
        check("video_codec", get(video, "codec_name"), "==", delivery["video_codec"]),
        check("pix_fmt", get(video, "pix_fmt"), "==", delivery["pix_fmt"]),
        check("audio_codec", get(audio, "codec_name"), "==", delivery["audio_codec"]),
        check("audio_sample_rate", audio and int(audio["sample_rate"]), "==", delivery["audio_sample_rate"], "Hz"),
        check("audio_channels", get(audio, "channels"), "==", delivery["audio_channels"]),
        check("subtitle_codec", get(subs, "codec_name"), "==", delivery["subtitle_codec"]),
        check("subtitle_language", subs and subs.get("tags", {}).get("language"), "==",
              cfg["output"]["subtitle_language"]),
    ]
    measured = {"script_seconds": round(script, 4)}
    if video:
        frames, _ = stream_end(path, "v:0")
        # at a constant rate (checked) the picture ends after exactly `frames` frames; packet
        # times in Matroska are whole milliseconds, which would add up to 0.02 frame of noise
        measured.update(video_frames=frames, video_end=round(frames / fps, 4))
        checks += [
            check("width", int(video["width"]), "==", timeline["width"], "px"),
            check("height", int(video["height"]), "==", timeline["height"], "px"),
            check("fps", float(Fraction(video["r_frame_rate"])), "==", float(fps)),
            check("video_frames_off_script", abs(frames - timeline["total_frames"]), "<=", tol_frames, "frames"),
        ]
    if audio:
        _, audio_end = stream_end(path, "a:0")
        measured["audio_end"] = round(audio_end, 4)
        checks.append(check("audio_end_off_script", round(abs(audio_end - script) / frame, 2), "<=", tol_frames,
                            "frames"))
        if video:
            checks.append(check("audio_video_end_difference", round(abs(audio_end - measured["video_end"]) / frame, 2),
                                "<=", tol_frames, "frames"))
        loud = loudness(path)
        dialogue = loudness(dialogue_stem) if dialogue_stem else None
        checks += loudness_checks(profile, dialogue_share, loud, dialogue)
        measured.update(loud)
        if dialogue:
            measured["dialogue_stem"] = dialogue
    if dialogue_stem and placed:
        rate = delivery["audio_sample_rate"]
        speech, found = speech_checks(read_pcm(dialogue_stem, rate), rate, list(placed), script)
        checks += speech
        measured.update(found)
    if subs:
        events = parse_srt(muxed_subtitles(path))
        measured["subtitle_events"] = len(events)
        checks += subtitle_checks(events, list(placed), fps, cfg["subtitles"], q["subtitle_offset_frames"], script)
    chapters = info.get("chapters", [])
    checks.append(check("chapters", len(chapters), "==", len(timeline["scenes"])))
    for ch, scene in zip(chapters, timeline["scenes"]):
        start = float(ch["start_time"])
        checks += [
            check(f"chapter_start[{scene['scene']}]", round(abs(start - scene["start_frame"] / fps) / frame, 2),
                  "<=", 1, "frames"),
            check(f"chapter_title[{scene['scene']}]", ch.get("tags", {}).get("title"), "==", scene["title"]),
        ]
    title = info["format"].get("tags", {}).get("title")
    checks.append(check("title", title, "==", timeline["title"]))
    return make_report("episode", timeline["episode"], checks,
                       {"file": str(path), "measured": measured,
                        "delivery": _delivery(profile, dialogue_share, cfg),
                        "chapter_titles": [c.get("tags", {}).get("title") for c in chapters]}, waivers)
