"""First-cut episode checks: streams, size and rate, durations against the script, loudness
against the delivery profile, chapters and the subtitle track."""
from fractions import Fraction

from ..audio.delivery import reference, resolve_profile
from ..media import count_frames, loudness, probe
from .report import check, make_report


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


def episode_report(path, timeline, cfg, dialogue_stem=None, dialogue_share=0.0):
    """The report of the episode file at `path`; the dialogue stem is measured too when given."""
    info = probe(path)
    streams = info["streams"]
    by_type = {}
    for s in streams:
        by_type.setdefault(s["codec_type"], []).append(s)
    profile = resolve_profile(cfg)
    fps = timeline["fps"]
    frame = 1 / fps
    tol = cfg["qc"]["episode"]["duration_tolerance_frames"] * frame
    want = timeline["total_frames"] / fps
    video = (by_type.get("video") or [None])[0]
    audio = (by_type.get("audio") or [None])[0]
    subs = (by_type.get("subtitle") or [None])[0]
    checks = [
        check("video_codec", video and video["codec_name"], "==", "h264"),
        check("audio_codec", audio and audio["codec_name"], "==", "opus"),
        check("subtitle_codec", subs and subs["codec_name"], "==", "subrip"),
        check("subtitle_language", subs and subs.get("tags", {}).get("language"), "==", cfg["output"]["subtitle_language"]),
    ]
    if video:
        frames = count_frames(path)
        checks += [
            check("width", int(video["width"]), "==", timeline["width"], "px"),
            check("height", int(video["height"]), "==", timeline["height"], "px"),
            check("fps", float(Fraction(video["r_frame_rate"])), "==", float(fps)),
            check("video_frames_off_script", abs(frames - timeline["total_frames"]), "<=",
                  cfg["qc"]["episode"]["duration_tolerance_frames"], "frames"),
        ]
    if audio:
        audio_dur = float(audio.get("duration") or info["format"]["duration"])
        if "duration" not in audio:
            # Matroska keeps per-stream length in a tag
            tag = audio.get("tags", {}).get("DURATION")
            if tag:
                h, m, s = tag.split(":")
                audio_dur = int(h) * 3600 + int(m) * 60 + float(s)
        checks.append(check("audio_seconds_off_script", round(abs(audio_dur - want), 4), "<=", round(tol, 4), "s"))
        loud = loudness(path)
        dialogue = loudness(dialogue_stem) if dialogue_stem else None
        checks += loudness_checks(profile, dialogue_share, loud, dialogue)
        if dialogue:
            loud["dialogue_stem"] = dialogue
    else:
        loud = {}
    chapters = info.get("chapters", [])
    checks.append(check("chapters", len(chapters), "==", len(timeline["scenes"])))
    for ch, scene in zip(chapters, timeline["scenes"]):
        start = float(ch["start_time"])
        checks.append(check(f"chapter_start[{scene['scene']}]", round(abs(start - scene["start_frame"] / fps), 4),
                            "<=", round(frame, 4), "s"))
    title = info["format"].get("tags", {}).get("title")
    checks.append(check("title", title, "==", timeline["title"]))
    return make_report("episode", timeline["episode"], checks,
                       {"file": str(path), "measured": {**loud, "script_seconds": round(want, 4)},
                        "delivery": _delivery(profile, dialogue_share, cfg),
                        "chapter_titles": [c.get("tags", {}).get("title") for c in chapters]})
