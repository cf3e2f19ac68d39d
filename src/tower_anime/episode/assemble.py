"""One FFmpeg run that joins the clips (cuts and crossfades), lays the mix under them and
muxes subtitles, chapters and the title into the episode MKV (H.264 + Opus)."""
import tempfile
from pathlib import Path

from ..fsutil import atomic_path
from ..media import ffmpeg
from ..story.transitions import shot_edges
from .chapters import ffmetadata


def _fade_out(n: int, frames: int, fps: int, colour: str) -> str:
    """The shot's last n frames toward `colour`, the k-th from the end at k/n of the picture,
    so that its last frame is the colour (the mirror of fade=t=in:s=0:n=n).

    FFmpeg's frame-counted fade-out first dims the frame after its start frame, which would
    have to be -1 when the fade is the whole shot; its time-based form computes the level from
    each frame's time, so the frames are stamped 1..frames for it and back to 0..frames-1."""
    return (f"setpts=PTS+1,fade=t=out:st={(frames - n) / fps:.6f}:d={n / fps:.6f}:c={colour},"
            f"setpts=PTS-1")


def video_graph(timeline: dict) -> str:
    """filter_complex text joining inputs 0..n-1 into [vout]: concat for cuts and dips, xfade
    for crossfades; dips and the episode's fades are fades at the ends of the shots they touch.

    Frame k of the output is frame k of the plan: every link runs in a 1/fps time base with
    pts = frame index, because xfade's offset and duration are times. FFmpeg 5.1's xfade
    stamps the frames it passes on from its second input one frame late (a hole after each
    crossfade); concat then puts the next shot after the hole, and 0.97 ms later still, as it
    guesses a segment's end from its mean frame spacing; the next xfade's offset then fell a
    frame early and paired an extra frame, so one frame of the shot was lost. Renumbering
    after every join (setpts=N) leaves no hole to carry forward."""
    fps = timeline["fps"]
    tb = f"settb=1/{fps},setpts=N"
    parts = []
    for i, (shot, edge) in enumerate(zip(timeline["shots"], shot_edges(timeline))):
        n = shot["frames"]
        # a clip longer than planned must not push the later shots: take its planned frames
        chain = [f"setpts=PTS-STARTPTS,fps={fps},format=yuv420p,setsar=1,{tb},trim=end_frame={n}"]
        if edge["fade_in"]:
            # frame k of the first fade_in frames at k/fade_in of the picture: frame 0 is the colour
            chain.append(f"fade=t=in:s=0:n={edge['fade_in']}:c={edge['fade_in_colour']}")
        if edge["fade_out"]:
            chain.append(_fade_out(edge["fade_out"], n, fps, edge["fade_out_colour"]))
        parts.append(f"[{i}:v]{','.join(chain)}[v{i}]")
    current, length = "[v0]", timeline["shots"][0]["frames"]
    for i, shot in enumerate(timeline["shots"][1:], 1):
        out = f"[j{i}]"
        if shot["transition_in"] == "crossfade":
            d = shot["transition_frames"]
            # xfade's fade shows the first overlapped frame as the earlier shot alone (progress P
            # runs 1 .. 1/d): the later shot's weight is made (k+1)/(d+1) at overlapped frame k
            # instead, so both shots' every frame is seen and neither repeats a pure frame.
            # xfade ends the transition as soon as its first input reports its end, even with
            # that input's last frame still queued (seen after concat): the last overlapped
            # frame then showed the later shot alone. One cloned frame after the earlier shot
            # keeps its real frames paired; the clone meets P = 0 (the later shot alone, as
            # wanted there) or is dropped at the end, either way one frame at the right place
            c = d / (d + 1)
            parts.append(f"{current}tpad=stop=1:stop_mode=clone[p{i}];\n"
                         f"[p{i}][v{i}]xfade=transition=custom:expr='B+(A-B)*P*{c:.6f}+0.5'"
                         f":duration={d / fps:.6f}:offset={(length - d) / fps:.6f},{tb}{out}")
            length += shot["frames"] - d
        else:
            # concat runs in microseconds: back to frame numbers for the next xfade
            parts.append(f"{current}[v{i}]concat=n=2:v=1:a=0,{tb}{out}")
            length += shot["frames"]
        current = out
    parts.append(f"{current}null[vout]")
    return ";\n".join(parts)


def assemble_episode(timeline, clip_paths, mix_wav, srt_path, out_mkv, output_cfg, log=None):
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
                part,
            ], f"episode {timeline['episode']}", log)
