"""The episode's picture as one segment per shot, each encoded once in the delivery format and
joined without another encode: an edit to one shot encodes its own segment again (and the
next one, when that one crossfades out of it), not the whole episode.

Segment k holds the episode's frames from shot k's first frame on the timeline (the first
frame of its crossfade in, when it has one) up to shot k+1's first frame: the frames of a
crossfade belong to the later shot's segment, which therefore reads both clips. A segment is
made by the master's own join (master.video_graph) over just the shots it reads, with each
shot's fades and dips as the whole timeline gives them, cut to the segment's frames: frame
for frame the picture the whole graph makes (tests/test_segments.py decodes both).

Each segment is its own encode, so it starts on a key frame and refers to no frame outside it
(a closed GOP), and the pieces join with FFmpeg's concat demuxer and a stream copy. MPEG-TS
holds them because it stamps frames in 1/90000 s, exact for 24, 25 and 30 fps: the joined
picture has no hole and no repeated frame (NUT was tried and put a one-frame hole at each
join, as x264's B-frames start a NUT file two frames late)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from .. import verify_output
from ..errors import TowerError
from ..fsutil import atomic_path
from ..media import Stream, chain, concat_list, ffmpeg, fx, graph, output, source, video_encode_args
from .master import video_graph
from .transitions import shot_edges

SUFFIX = ".ts"
# config `output` keys that shape the encoded picture: only these re-encode a segment
VIDEO_KEYS = ("video_codec", "video_preset", "video_crf", "pix_fmt")


def segment_specs(timeline: dict) -> list[dict[str, Any]]:
    """One spec per shot, in order: the shots its picture reads (`inputs`: their indexes in the
    timeline; `shots`, `edges`: their rows and what their transitions take of them), and the
    frames it holds of their join (`start`, `frames`). Only what shapes the segment is in it,
    so a spec changes exactly when its picture does. A shot that the next one's crossfade
    takes whole has no segment: its every frame is in the next one's."""
    shots, edges = timeline["shots"], shot_edges(timeline)
    specs = []
    for k, shot in enumerate(shots):
        if shot["frames"] == edges[k]["crossfade_out"]:
            continue
        first = k - 1 if edges[k]["crossfade_in"] else k
        specs.append(
            {
                "episode": timeline["episode"],
                "shot": shot["shot"],
                "fps": timeline["fps"],
                "inputs": list(range(first, k + 1)),
                # where a shot sits on the timeline is not in it: an earlier shot made longer
                # moves this one and re-encodes nothing of it
                "shots": [{key: v for key, v in shots[i].items() if key != "start_frame"} for i in range(first, k + 1)],
                "edges": [dict(edges[i]) for i in range(first, k + 1)],
                # the earlier shot's frames before the crossfade are its own segment's
                "start": shots[first]["frames"] - edges[k]["crossfade_in"] if first < k else 0,
                # the frames it crossfades into the next shot are the next segment's
                "frames": shot["frames"] - edges[k]["crossfade_out"],
            }
        )
    return specs


def segment_picture(spec: dict, inputs: list[Stream]) -> Stream:
    """The segment's frames from its shots' video streams (one per spec["inputs"])."""
    joined = video_graph({"fps": spec["fps"], "shots": spec["shots"]}, inputs, spec["edges"])
    start = spec["start"]
    return chain(
        joined, [fx("trim", start_frame=start, end_frame=start + spec["frames"]), fx("setpts", "PTS-STARTPTS")]
    )


def segment_args(spec: dict, inputs: list[Stream], out: Path | str, output_cfg: dict) -> list[str]:
    """FFmpeg arguments encoding a segment as config `output` says, into MPEG-TS."""
    return graph(
        output(segment_picture(spec, inputs), out, f="mpegts"),
        options=[*video_encode_args(output_cfg, spec["fps"]), "-fflags", "+bitexact"],
    )


def encode_segment(
    spec: dict,
    inputs: list[Stream],
    out: Path | str,
    output_cfg: dict,
    log: TextIO | None = None,
) -> None:
    """Write the segment atomically; it must hold exactly spec["frames"] frames."""
    complete = lambda p: verify_output.video(p, frames=spec["frames"])  # noqa: E731
    # one or two shots: the graph is short enough for the command line itself
    with atomic_path(out, check=complete) as part:
        ffmpeg(segment_args(spec, inputs, part, output_cfg), f"segment {spec['shot']} of {spec['episode']}", log)


def encode_segment_files(
    spec: dict,
    clip_paths: list,
    out: Path | str,
    output_cfg: dict,
    log: TextIO | None = None,
    gates: list | None = None,
) -> None:
    """encode_segment from the clips of the segment's shots (one file per spec["inputs"]).

    The workflow cuts a segment beside its clips' gates (gates: their report paths, in the
    clips' order), so a clip may be damaged: when the encode fails, a clip that does not read
    whole is named as the cause, with its gate, instead of the encoder's or the output
    check's message (which would suggest a full disk)."""
    try:
        encode_segment(spec, [source(p).video for p in clip_paths], out, output_cfg, log)
    except TowerError as e:
        for i, clip in enumerate(clip_paths):
            try:
                verify_output.video(clip)
            except verify_output.IncompleteOutput as damage:
                gate = f"Its gate ({gates[i]})" if gates and i < len(gates) else "Its gate"
                # the gate runs beside this job and may not have run yet (a cluster, a large
                # build): what is certain is the fix, not which run remakes the clip
                raise TowerError(
                    f"{clip}: {damage}: segment {spec['shot']} of {spec['episode']} cannot be cut from it. "
                    f"{gate} refuses such a clip; run again, and the clip is made again once the gate has refused it."
                ) from e
        raise


def join_segments(paths: list, out: Path | str, frames: int, log: TextIO | None = None) -> None:
    """The segments joined into one video file by a stream copy (for the editor's conform;
    the master joins them while it muxes the sound)."""
    with atomic_path(out, check=lambda p: verify_output.video(p, frames=frames)) as part:
        list_file = Path(part).with_name(Path(part).name + ".list")
        try:
            args = [*concat_list(paths, list_file), "-map", "0:v", "-c:v", "copy", "-fflags", "+bitexact", str(part)]
            ffmpeg(args, f"join of {len(paths)} segments", log)
        finally:
            list_file.unlink(missing_ok=True)


def encode_segments(
    timeline: dict, inputs: list[Stream], folder: Path | str, output_cfg: dict, log: TextIO | None = None
) -> list[Path]:
    """Every segment of the timeline into `folder`, named by shot, from the shots' video
    streams (`inputs`, one per shot in timeline order: the clips, or the conform's trimmed
    clips); the workflow makes each one as its own job instead (rule segment)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for spec in segment_specs(timeline):
        out.append(folder / f"{spec['shot']}{SUFFIX}")
        encode_segment(spec, [inputs[i] for i in spec["inputs"]], out[-1], output_cfg, log)
    return out
