"""Each placed line's subtitle windows, from the timeline: its shot's span (never past the
picture's end) and its scene's span, in seconds.

Line placement gives a line these windows itself once it carries them; this fills them in
for placed lines that do not, so the subtitle writer and the episode QC always get them.
"""
from typing import Mapping, Sequence


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
        out.append({"scene": shot["scene"], "window": span(shot), "scene_window": span(scene), **cue})
    return out
