"""A browser-playable copy of the master for the review room: VP9 and Opus in WebM, with the
subtitle track and the chapters as WebVTT files beside it.

Browsers do not play Matroska with H.264 and SubRip (Chromium's demuxer takes Matroska only as
WebM: VP8/VP9/AV1 with Opus/Vorbis), and H.264 itself plays only where the browser was built
with proprietary codecs. VP9/Opus WebM plays in every current browser. The subtitles and the
chapters are read back from the master, so the preview shows what the master carries."""

import json
from pathlib import Path
from typing import TextIO

from ..fsutil import atomic_path, write_text_atomic
from ..media import ffmpeg, probe


def vtt_time(seconds: float) -> str:
    """12.5 -> '00:00:12.500' (WebVTT needs hours for programmes of an hour or more; always given)."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def chapters_vtt(chapters: list[dict]) -> str:
    """ffprobe's chapters ([{start_time, end_time, tags: {title}}]) as a WebVTT chapters track."""
    lines = ["WEBVTT", ""]
    for i, ch in enumerate(chapters, 1):
        title = (ch.get("tags") or {}).get("title", f"Chapter {i}")
        # a cue's text ends at a blank line and "-->" starts a timing line: keep the title on one line
        title = " ".join(title.split()).replace("-->", "->")
        lines += [str(i), f"{vtt_time(float(ch['start_time']))} --> {vtt_time(float(ch['end_time']))}", title, ""]
    return "\n".join(lines)


def subtitles_vtt(master: str | Path, out: str | Path, log: TextIO | None = None) -> None:
    """The master's first subtitle track as WebVTT, at the master's own times."""
    with atomic_path(out) as tmp:
        ffmpeg(
            # -copyts: the times as the master holds them; FFmpeg would otherwise shift them by
            # the file's start, which the sound's Opus pre-skip puts 7 ms before zero
            ["-copyts", "-i", str(master), "-map", "0:s:0", "-c:s", "webvtt", "-f", "webvtt", str(tmp)],
            f"writing the subtitles of {master} as WebVTT",
            log,
        )


def make_preview(
    master: str | Path,
    out_video: str | Path,
    out_subtitles: str | Path,
    out_chapters: str | Path,
    settings: dict,
    log: TextIO | None = None,
) -> dict:
    """Encode the preview and write its two WebVTT tracks; returns what the master held.

    settings: review.preview of the config (video_bitrate, audio_bitrate, cpu_used)."""
    info = probe(master)
    streams = info.get("streams", [])
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    has_subs = any(s.get("codec_type") == "subtitle" for s in streams)
    with atomic_path(out_video) as tmp:
        # realtime deadline with a high cpu-used: a preview for eyes, encoded in about the
        # programme's running time on 2 cores (the master stays the reference)
        args = [
            "-i",
            str(master),
            "-map",
            "0:v:0",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            str(settings["cpu_used"]),
            "-row-mt",
            "1",
            "-b:v",
            settings["video_bitrate"],
            "-pix_fmt",
            "yuv420p",
            "-map_chapters",
            "-1",
            "-map_metadata",
            "-1",
        ]
        if has_audio:
            args += ["-map", "0:a:0", "-c:a", "libopus", "-b:a", settings["audio_bitrate"]]
        ffmpeg([*args, "-f", "webm", str(tmp)], f"encoding the preview of {master}", log)
    if has_subs:
        subtitles_vtt(master, out_subtitles, log)
    else:
        write_text_atomic(out_subtitles, "WEBVTT\n\n")
    chapters = info.get("chapters", [])
    write_text_atomic(out_chapters, chapters_vtt(chapters))
    summary = {"audio": has_audio, "subtitles": has_subs, "chapters": len(chapters)}
    if log is not None:
        print(f"preview: {json.dumps(summary)}", file=log, flush=True)
    return summary
