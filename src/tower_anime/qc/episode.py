"""Episode checks: streams and codecs against the delivery profile, ends of picture and sound
against each other and the script, loudness against the delivery profile (on the programme or
the dialogue stem), the subtitle track against the voice lines, chapters and the title."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import verify_output
from ..audio.delivery import reference, resolve_profile
from ..errors import MediaError
from ..fsutil import sha256_file
from ..media import ffmpeg, hashed_packets, loudness, loudness_meter, read_pcm, run, stream_packets
from .report import check, make_report
from .speech import speech_checks
from .subtitles import parse_srt, subtitle_checks


def loudness_checks(
    profile: dict[str, Any], dialogue_share: float, programme: dict[str, Any], dialogue: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Measured loudness (media.loudness() dicts) against the profile: the target on what the
    profile measures (the programme, or the dialogue stem), the true peak of the programme."""
    what, target = reference(profile, dialogue_share)
    measured = dialogue if what == "dialogue" else programme
    value = None if measured is None else round(abs(measured["integrated_lufs"] - target), 2)
    return [
        check(
            "dialogue_loudness_off_target" if what == "dialogue" else "loudness_off_target",
            value,
            "<=",
            profile["tolerance_lu"],
            "LU",
        ),
        check("true_peak", programme["true_peak_dbtp"], "<=", profile["true_peak_dbtp"], "dBTP"),
    ]


def _delivery(profile, dialogue_share, cfg):
    """The profile and what it was checked on, for people reading the report."""
    measured_on, target = reference(profile, dialogue_share)
    # the loudness range is reported beside the config's figure, never gated (streaming specs
    # ask only that it be reported)
    return {
        "profile": profile,
        "measured_on": measured_on,
        "target_lufs": target,
        "dialogue_share": dialogue_share,
        "lra_target_lu": cfg["loudness"]["lra"],
    }


def stream_end(path: str, stream: str) -> tuple[int, float]:
    """(packets, end time in seconds) of one stream, from its packets: no decoding."""
    count, end = 0, 0.0
    for pkt in stream_packets(path, stream):
        if pkt.get("pts_time") in (None, "", "N/A"):
            continue
        count += 1
        duration = pkt.get("duration_time")
        end = max(end, float(pkt["pts_time"]) + (float(duration) if duration not in (None, "", "N/A") else 0.0))
    return count, end


def audio_end(packets: list[dict] | Path | str, sample_rate: int) -> float:
    """Where the sound heard ends, in seconds: the last packet's end less the samples the
    encoder marked for the decoder to drop (Opus end trimming, Matroska DiscardPadding).
    packets: media.stream_packets' list, or the file to read it from."""
    if isinstance(packets, (str, Path)):
        packets = stream_packets(packets, "a:0")
    end, padding = 0.0, 0
    for pkt in packets:
        if pkt.get("pts_time") in (None, "N/A"):
            continue
        pkt_end = float(pkt["pts_time"]) + float(pkt.get("duration_time") or 0)
        if pkt_end >= end:
            end = pkt_end
            padding = sum(int(sd.get("discard_padding", 0)) for sd in pkt.get("side_data_list", []))
    return end - padding / sample_rate


def recorded_stem_loudness(mix_record: dict | None, stem: Path | str | None) -> dict | None:
    """The dialogue stem's loudness as the mix measured it (audio/<ep>/mix.json, its last
    pass) while the stem file still has the bytes it had then and the meter is the same one,
    else None (measured here)."""
    if not mix_record or not stem:
        return None
    recorded = mix_record.get("sha256", {}).get("dialogue")
    if recorded is None or mix_record.get("meter") != loudness_meter() or recorded != sha256_file(stem):
        return None
    return mix_record.get("result", {}).get("dialogue")


def recorded_loudness(record_path: Path | str | None, digest: str | None) -> dict | None:
    """The loudness the sound job measured (episode.master.sound_record) when the master's
    sound is that file's very packets (`digest`: media.hashed_packets of the master) and the
    meter is the same one, else None (the gate then measures the master). The packets
    decide, not the plan: a master whose sound was made or changed another way has another
    digest."""
    if not record_path or digest is None:
        return None
    try:
        record = json.loads(Path(record_path).read_text())
    except (OSError, ValueError):
        return None
    if record.get("packets") != digest or record.get("meter") != loudness_meter():
        return None
    return record.get("loudness")


def muxed_subtitles(path: Path | str, index: int = 0) -> str:
    return ffmpeg(["-i", str(path), "-map", f"0:s:{index}", "-f", "srt", "-"], f"subtitles of {path}").stdout


def chapter_languages(path: Path | str) -> list[str] | None:
    """The language of every chapter name, read by mkvtoolnix (FFmpeg does not report it);
    None when mkvextract is not installed."""
    if not shutil.which("mkvextract"):
        return None
    xml = run(["mkvextract", str(path), "chapters", "-"], f"chapters of {path}").stdout
    return re.findall(r"<ChapterLanguage>([^<]*)</ChapterLanguage>", xml)


def _flags(stream) -> dict:
    """A stream's language, name and default/forced flags as the container has them."""
    tags, disp = stream.get("tags", {}), stream.get("disposition", {})
    return {
        "lang": tags.get("language"),
        "name": tags.get("title"),
        "default": bool(disp.get("default")),
        "forced": bool(disp.get("forced")),
    }


def track_checks(
    path: Path | str, info_streams: dict, cfg: dict, placed: list[dict], fps: float, script: float
) -> tuple[list, dict]:
    """Each subtitle track of the plan (cfg["tracks"]) against the file: its language, name and
    flags, then its events against its lines (their text in its language) within its
    language's limits; the video and audio flags and the audio's language; the chapters'
    language. The first track's checks keep their plain names, the others end in @<lang>."""
    from ..episode.subtitles import limits_for

    tags, tracks = cfg["languages"], cfg["tracks"]
    subs = info_streams.get("subtitle") or []
    video, audio = ((info_streams.get(k) or [{}])[0] for k in ("video", "audio"))
    checks = [
        check("subtitle_tracks", len(subs), "==", len(tracks)),
        check("video_default", _flags(video)["default"], "==", True),
        check("audio_default", _flags(audio)["default"], "==", True),
        check("audio_language", _flags(audio)["lang"], "==", tags["audio"]),
    ]
    measured = {}
    for i, (track, stream) in enumerate(zip(tracks, subs)):
        suffix = "" if i == 0 else f"@{track['lang']}"
        want = {k: track[k] for k in ("lang", "name", "default", "forced")}
        checks.append(check(f"subtitle_track{suffix}", _flags(stream), "==", want))
        if i == 0:
            checks.append(check("subtitle_language", _flags(stream)["lang"], "==", track["lang"]))
        events = parse_srt(muxed_subtitles(path, i))
        measured[f"subtitle_events{suffix}"] = len(events)
        lines = [{**cue, "text": track["lines"][cue["line"]]} for cue in placed if cue["line"] in track["lines"]]
        found = subtitle_checks(
            events,
            lines,
            fps,
            limits_for(cfg["subtitles"], track["lang"]),
            cfg["qc"]["episode"]["subtitle_offset_frames"],
            script,
        )
        checks += [{**c, "metric": c["metric"] + suffix} for c in found]
    langs = chapter_languages(path)
    if langs is None:
        checks.append(
            check("chapter_language", None, "==", tags["chapters"], exempt="mkvextract (mkvtoolnix) is not installed")
        )
    else:
        checks.append(check("chapter_language", sorted(set(langs)) or None, "==", [tags["chapters"]]))
    return checks, measured


def _format_checks(video: dict | None, audio: dict | None, subs: dict | None, cfg: dict) -> list[dict]:
    """Codecs, pixel format, rate and channels against the delivery format in config `output`
    (the encoder was given the same values: this reads what FFmpeg actually wrote)."""
    delivery = cfg["output"]
    get = lambda s, key: s and s.get(key)  # noqa: E731 - a stream may be missing
    checks = [
        check("video_codec", get(video, "codec_name"), "==", delivery["video_codec"]),
        check("pix_fmt", get(video, "pix_fmt"), "==", delivery["pix_fmt"]),
        check("audio_codec", get(audio, "codec_name"), "==", delivery["audio_codec"]),
        check("audio_sample_rate", audio and int(audio["sample_rate"]), "==", delivery["sample_rate"], "Hz"),
        check("audio_channels", get(audio, "channels"), "==", delivery["audio_channels"]),
        check("subtitle_codec", get(subs, "codec_name"), "==", delivery["subtitle_codec"]),
    ]
    if "tracks" not in cfg:  # one track, in the configured language
        language = subs and subs.get("tags", {}).get("language")
        checks.append(check("subtitle_language", language, "==", delivery["subtitle_language"]))
    return checks


def _picture_checks(path: Path | str, video: dict, timeline: dict, tolerance: int, measured: dict) -> list[dict]:
    """Frame size, rate and the exact frame count; the counted frames go into `measured`."""
    fps = timeline["fps"]
    # verify_output counted the packets already (one per frame in H.264)
    counted = video.get("nb_read_packets")
    frames = int(counted) if counted not in (None, "", "N/A") else stream_end(path, "v:0")[0]
    # at a constant rate (checked) the picture ends after exactly `frames` frames; packet
    # times in Matroska are whole milliseconds, which would add up to 0.02 frame of noise
    measured.update(video_frames=frames, video_end=round(frames / fps, 4))
    return [
        check("width", int(video["width"]), "==", timeline["width"], "px"),
        check("height", int(video["height"]), "==", timeline["height"], "px"),
        check("fps", float(Fraction(video["r_frame_rate"])), "==", float(fps)),
        check("video_frames_off_script", abs(frames - timeline["total_frames"]), "<=", tolerance, "frames"),
    ]


def _chapter_checks(chapters: list[dict], timeline: dict) -> list[dict]:
    """One chapter per scene, starting on the scene's first frame, titled as the scene."""
    fps = timeline["fps"]
    checks = [check("chapters", len(chapters), "==", len(timeline["scenes"]))]
    for ch, scene in zip(chapters, timeline["scenes"]):
        off = round(abs(float(ch["start_time"]) - scene["start_frame"] / fps) * fps, 2)
        checks += [
            check(f"chapter_start[{scene['scene']}]", off, "<=", 1, "frames"),
            check(f"chapter_title[{scene['scene']}]", ch.get("tags", {}).get("title"), "==", scene["title"]),
        ]
    return checks


def episode_report(
    path: Path | str,
    timeline: dict,
    cfg: dict,
    placed: Sequence[dict] = (),
    waivers: Iterable[dict] = (),
    dialogue_stem: Path | str | None = None,
    dialogue_share: float = 0.0,
    sound_record: Path | str | None = None,
    mix_record: dict | None = None,
) -> dict[str, Any]:
    """timeline: the plan's timeline; placed: the voice lines where the mix put them, with
    their windows (build/<ep>/placement.json, episode.placement); cfg: the config sections output, loudness, subtitles, qc;
    dialogue_stem (and its share of the running time): measured too when the profile asks;
    sound_record: the encoded sound's record (build/<ep>/sound.json), whose loudness stands
    for the programme's when the master's sound packets are the recorded ones; mix_record:
    the mix's record (audio/<ep>/mix.json), whose dialogue loudness stands for the stem's
    while the stem has the recorded bytes."""
    try:
        # every packet there (a master cut short fails here); its answer is ffprobe's streams,
        # format and chapters, read once
        info = verify_output.video(path, audio=True)
    except (
        MediaError,
        verify_output.IncompleteOutput,
    ) as e:  # the report is written all the same, and delivery refuses it
        return make_report(
            "episode",
            timeline["episode"],
            [check("decodes", False, "==", True)],
            {"file": str(path), "error": str(e)},
            waivers,
        )
    by_type = {}
    for s in info["streams"]:
        by_type.setdefault(s["codec_type"], []).append(s)
    profile = resolve_profile(cfg)
    fps = timeline["fps"]
    q = cfg["qc"]["episode"]
    delivery = cfg["output"]  # the format the encoder was given: one place for both
    rate = delivery["sample_rate"]
    script = timeline["total_frames"] / fps
    video = (by_type.get("video") or [None])[0]
    audio = (by_type.get("audio") or [None])[0]
    subs = (by_type.get("subtitle") or [None])[0]
    # The sound's packets first: when they are the encoded sound's (sound_record), the
    # programme's loudness is the one measured there, and no sound is decoded here.
    packets, digest = hashed_packets(path) if audio else ([], None)
    known = recorded_loudness(sound_record, digest)
    known_stem = recorded_stem_loudness(mix_record, dialogue_stem) if audio else None
    # The measures that decode a whole file (the loudness of the programme and of the
    # dialogue stem, the stem's samples) start at once, two at a time beside the packet reads
    # below: the gate's answer is the same, in about half the wall time on two cores.
    with ThreadPoolExecutor(max_workers=2) as pool:
        programme = pool.submit(loudness, path) if audio and known is None else None
        stem = pool.submit(loudness, dialogue_stem) if audio and dialogue_stem and known_stem is None else None
        samples = pool.submit(read_pcm, dialogue_stem, rate) if dialogue_stem and placed else None
        checks = _format_checks(video, audio, subs, cfg)
        measured = {"script_seconds": round(script, 4)}
        if video:
            checks += _picture_checks(path, video, timeline, q["duration_tolerance_frames"], measured)
        # the picture's end: its counted frames (the script's when the video is missing)
        picture_end = measured.get("video_frames", timeline["total_frames"]) / fps
        # The container's duration is the Segment Duration (a float of 1 ms ticks). A muxer that
        # takes it from the last frame's timestamp plus its duration, both rounded to whole
        # milliseconds, lands within 1 ms of the picture's end; more than that is something else
        # (a subtitle or the sound running on, the Opus CodecDelay counted in).
        duration = info["format"].get("duration")
        measured["container_duration"] = duration and round(float(duration), 4)
        checks.append(
            check(
                "container_duration_off_picture",
                duration and round(abs(float(duration) - picture_end) * 1000, 2),
                "<=",
                1.0,
                "ms",
            )
        )
        if audio:
            end = audio_end(packets, int(audio["sample_rate"]))
            measured["audio_end"] = round(end, 4)
            # Matroska stamps the last Opus block in whole milliseconds (at most 0.5 ms off); its
            # length (20 ms) and DiscardPadding (in ns) are exact: a sound that ends on the
            # picture's last sample measures within 0.5 ms of it, checked at 1 ms so that float
            # rounding of the 0.5 ms case cannot fail a good file. One 48 kHz sample is 0.02 ms:
            # the mix's own length is exact to the sample (audio/mix.py), this checks the mux.
            checks.append(check("audio_end_off_picture", round(abs(end - picture_end) * 1000, 2), "<=", 1.0, "ms"))
            loud = known if known is not None else programme.result()
            measured["loudness_measured_on"] = "the sound job's file (the same packets)" if known else "the master"
            dialogue = known_stem if known_stem is not None else (stem.result() if stem else None)
            checks += loudness_checks(profile, dialogue_share, loud, dialogue)
            measured.update(loud)
            if dialogue:
                measured["dialogue_stem"] = dialogue
                measured["dialogue_stem_measured_on"] = "the mix (the same bytes)" if known_stem else "the stem"
        if dialogue_stem and placed:
            speech, found = speech_checks(samples.result(), rate, list(placed), script)
            checks += speech
            measured.update(found)
        if "tracks" in cfg:
            found, counts = track_checks(path, by_type, cfg, list(placed), fps, script)
            checks += found
            measured.update(counts)
        elif subs:
            events = parse_srt(muxed_subtitles(path))
            measured["subtitle_events"] = len(events)
            checks += subtitle_checks(events, list(placed), fps, cfg["subtitles"], q["subtitle_offset_frames"], script)
        chapters = info.get("chapters", [])
        checks += _chapter_checks(chapters, timeline)
        title = info["format"].get("tags", {}).get("title")
        checks.append(check("title", title, "==", timeline["title"]))
        return make_report(
            "episode",
            timeline["episode"],
            checks,
            {
                "file": str(path),
                "measured": measured,
                "delivery": _delivery(profile, dialogue_share, cfg),
                "chapter_titles": [c.get("tags", {}).get("title") for c in chapters],
            },
            waivers,
        )
