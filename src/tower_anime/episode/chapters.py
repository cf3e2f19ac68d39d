"""FFMETADATA with the episode title and one chapter per scene, for `-map_chapters`."""

from __future__ import annotations


def _escape(value):
    # FFMETADATA escapes '=', ';', '#', '\' and newlines with a backslash
    for ch in ("\\", "=", ";", "#", "\n"):
        value = value.replace(ch, "\\" + ch)
    return value


def ffmetadata(timeline: dict) -> str:
    fps = timeline["fps"]
    lines = [";FFMETADATA1", f"title={_escape(timeline['title'])}", ""]
    scenes = timeline["scenes"]
    for i, scene in enumerate(scenes):
        start = round(scene["start_frame"] * 1000 / fps)
        # a crossfade overlaps two scenes; the chapter changes where the next scene starts
        end_frame = scenes[i + 1]["start_frame"] if i + 1 < len(scenes) else scene["start_frame"] + scene["frames"]
        end = round(end_frame * 1000 / fps)
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={start}",
            f"END={end}",
            f"title={_escape(scene['title'])}",
            "",
        ]
    return "\n".join(lines)
