"""Each placed line's subtitle windows, from the timeline: its shot's span (never past the
picture's end) and its scene's span, in seconds.

Line placement gives a line these windows itself once it carries them; this fills them in
for placed lines that do not, so the subtitle writer and the episode QC always get them.
"""
from typing import Mapping, Sequence

from ..errors import MediaError


def with_windows(placed: Sequence[Mapping], timeline: Mapping) -> list[dict]:
    """placed lines with `window` and `scene_window` added where missing (timeline: the
    plan's timeline, with fps, total_frames, shots and scenes)."""
    fps = timeline["fps"]
    shots = {s["shot"]: s for s in timeline["shots"]}
    scenes = {s["scene"]: s for s in timeline["scenes"]}

    def span(row):
        return [round(row["start_frame"] / fps, 6), round(min(row["start_frame"] + row["frames"],
                                                              timeline["total_frames"]) / fps, 6)]

    out = []
    for cue in placed:
        shot = shots[cue["shot"]]
        scene = scenes[shot["scene"]]
        line = {"scene": shot["scene"], "window": span(shot), "scene_window": span(scene), **cue}
        if line["end"] > line["window"][1] + 0.0005:
            raise MediaError(f"line {cue['line']}: its voice ends at {line['end']:.3f} s, after its shot {cue['shot']} "
                             f"ends at {line['window'][1]:.3f} s, so its subtitles would run into the next shot; "
                             "give the shot more frames, shorten the line, or turn on voice.grow_shots")
        out.append(line)
    return out
