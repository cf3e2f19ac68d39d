"""Transitions in frames: how many frames of each shot a crossfade, a dip or the episode's
fades take, the one rule that splits a dip between its two shots, and the check that every
transition fits the shots it joins (refused before any job, one line each)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ValidationProblem

# the colour a transition passes through; "crossfade" and "cut" pass through none
COLOURS = {"dip_to_black": "black", "dip_to_white": "white"}


def seconds_to_frames(seconds: float, fps: int) -> int:
    """A length in seconds as whole frames: 0 stays 0 (none), anything longer is at least 1."""
    return 0 if not seconds else max(1, round(seconds * fps))


def dip_halves(frames: int) -> tuple[int, int]:
    """(frames faded out at the end of the shot before, frames faded in at the start of the
    next) of a dip `frames` long: half out, half in, the odd frame on the way in."""
    out = frames // 2
    return out, frames - out


def shot_edges(timeline: dict) -> list[dict]:
    """Per shot, what its transitions take of it, in frames:

    crossfade_in / crossfade_out: frames overlapped with the shot before / after;
    fade_in / fade_out (with fade_in_colour / fade_out_colour): frames faded from / to a colour
    at its start / end (a dip's halves and the episode's fades); head / tail: the frames at its
    start / end that its transitions take, which must not overlap (head + tail <= frames).
    """
    shots = timeline["shots"]
    edges = [
        {
            "crossfade_in": 0,
            "crossfade_out": 0,
            "fade_in": 0,
            "fade_out": 0,
            "fade_in_colour": "black",
            "fade_out_colour": "black",
        }
        for _ in shots
    ]
    for i, shot in enumerate(shots[1:], 1):
        kind, n = shot["transition_in"], shot["transition_frames"]
        if kind == "crossfade":
            edges[i - 1]["crossfade_out"] = edges[i]["crossfade_in"] = n
        elif kind in COLOURS:
            out, into = dip_halves(n)
            edges[i - 1].update(fade_out=out, fade_out_colour=COLOURS[kind])
            edges[i].update(fade_in=into, fade_in_colour=COLOURS[kind])
    if shots:
        edges[0]["fade_in"] = timeline.get("fade_in_frames", 0)
        edges[-1]["fade_out"] = timeline.get("fade_out_frames", 0)
    for e in edges:
        e["head"] = e["crossfade_in"] + e["fade_in"]
        e["tail"] = e["crossfade_out"] + e["fade_out"]
    return edges


def _seconds(frames, fps):
    return f"{frames / fps:.4g} s ({frames} frame{'s' if frames != 1 else ''} at {fps} fps)"


def check_transitions(timeline: dict, episode: dict, where: Path | str) -> list[ValidationProblem]:
    """Problems with transitions and fades longer than the shots they join allow.

    A shot's incoming and outgoing transitions may not overlap: what one takes of a shot
    leaves the rest to the other. `episode` is the checked document (for the values the user
    wrote), `where` names its file."""
    fps, shots = timeline["fps"], timeline["shots"]
    edges = shot_edges(timeline)
    found = []

    def free(i, used):  # frames of shot i its other transition leaves to this one
        return shots[i]["frames"] - used

    def refuse(field, value, frames, most, why):
        found.append(
            ValidationProblem(
                where,
                field,
                f"got {value!r} = {_seconds(frames, fps)}; expected more than 0 and at most "
                f"{_seconds(most, fps)}: {why}",
            )
        )

    scene_index = {s["id"]: si for si, s in enumerate(episode["scenes"])}
    for i, shot in enumerate(shots[1:], 1):
        kind, n = shot["transition_in"], shot["transition_frames"]
        if kind == "cut":
            continue
        before, after = free(i - 1, edges[i - 1]["head"]), free(i, edges[i]["tail"])
        # a crossfade overlaps both shots by all its frames; a dip takes its halves of each
        most = min(before, after) if kind == "crossfade" else min(2 * before + 1, 2 * after)
        if n > most:
            si = scene_index[shot["scene"]]
            refuse(
                f"scenes[{si}].transition_seconds",
                episode["scenes"][si].get("transition_seconds", 0.5),
                n,
                max(most, 0),
                f"the {kind} joins shot {shots[i - 1]['shot']!r} ({before} of its "
                f"{shots[i - 1]['frames']} frames free) and shot {shot['shot']!r} ({after} of its "
                f"{shot['frames']} frames free)",
            )
    for key, i, other in (("fade_in", 0, "tail"), ("fade_out", len(shots) - 1, "head")):
        n = timeline.get(f"{key}_frames", 0)
        most = free(i, edges[i][other])
        if n and n > most:
            refuse(
                f"{key}_seconds",
                episode.get(f"{key}_seconds"),
                n,
                max(most, 0),
                f"the {'first' if key == 'fade_in' else 'last'} shot {shots[i]['shot']!r} has "
                f"{most} of its {shots[i]['frames']} frames free",
            )
    return found
