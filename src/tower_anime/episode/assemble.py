"""One FFmpeg run that joins the clips (cuts and crossfades), lays the mix under them and
muxes subtitles, chapters and the title into the episode MKV (H.264 + Opus)."""
import tempfile
from pathlib import Path
from typing import TextIO

from ..fsutil import atomic_path
from ..media import ffmpeg
from .chapters import ffmetadata


def video_graph(timeline):
    """filter_complex text joining inputs 0..n-1 into [vout]: concat for cuts, xfade for crossfades."""
    fps = timeline["fps"]
    parts = [
        # xfade needs identical timebases and frame rates on both sides
        f"[{i}:v]setpts=PTS-STARTPTS,fps={fps},format=yuv420p,setsar=1,settb=AVTB[v{i}]"
        for i in range(len(timeline["shots"]))
    ]
    current, length = "[v0]", timeline["shots"][0]["frames"]
    for i, shot in enumerate(timeline["shots"][1:], 1):
        out = f"[j{i}]"
        if shot["transition_in"] == "crossfade":
            d = shot["transition_frames"]
            parts.append(f"{current}[v{i}]xfade=transition=fade:duration={d / fps:.6f}:offset={(length - d) / fps:.6f}{out}")
            length += shot["frames"] - d
        else:
            parts.append(f"{current}[v{i}]concat=n=2:v=1:a=0{out}")
            length += shot["frames"]
        current = out
    # xfade leaves a one-frame hole in the timestamps after a transition; renumber every
    # frame so the stream is exactly total_frames long at a constant rate
    parts.append(f"{current}trim=end_frame={timeline['total_frames']},setpts=N/({fps}*TB)[vout]")
    return ";\n".join(parts)


def assemble_episode(timeline: dict, clip_paths: list[str], mix_wav: str, srt_path: str, out_mkv: str | Path,
                     output_cfg: dict, log: TextIO | None = None) -> None:
    """clip_paths in timeline order. Writes out_mkv atomically."""
    n = len(clip_paths)
    with tempfile.TemporaryDirectory(prefix="tower-episode-") as tmp:
        graph = Path(tmp) / "video.txt"
        graph.write_text(video_graph(timeline))
        meta = Path(tmp) / "chapters.txt"
        meta.write_text(ffmetadata(timeline), encoding="utf-8")
        inputs = []
        for p in clip_paths:
            inputs += ["-i", p]
        inputs += ["-i", mix_wav, "-i", srt_path, "-i", meta]
        with atomic_path(out_mkv) as part:
            ffmpeg([
                *inputs, "-filter_complex_script", graph,
                "-map", "[vout]", "-map", f"{n}:a", "-map", f"{n + 1}:s", "-map_chapters", str(n + 2),
                "-map_metadata", str(n + 2),
                "-c:v", "libx264", "-preset", output_cfg["video_preset"], "-crf", str(output_cfg["video_crf"]),
                "-pix_fmt", "yuv420p", "-r", str(timeline["fps"]),
                "-c:a", "libopus", "-b:a", output_cfg["audio_bitrate"], "-ar", "48000",
                "-c:s", "srt", "-metadata:s:s:0", f"language={output_cfg['subtitle_language']}",
                "-metadata:s:a:0", f"language={output_cfg['subtitle_language']}",
                "-metadata", f"title={timeline['title']}",
                # keep video at t=0: Opus pre-skip would otherwise shift every stream by ~7 ms
                "-avoid_negative_ts", "disabled",
                # the Matroska muxer otherwise writes a random segment UID and the date: two
                # builds of the same episode differed only there (tests/test_reproducible.py)
                "-fflags", "+bitexact",
                part,
            ], f"episode {timeline['episode']}", log)
