"""Subtitle checks on the track muxed into the episode: each voice line's events spell its
text, start on the voice (within a few frames), stay up while it is spoken, and lie inside its
shot, its scene and the picture; every event keeps the delivery limits (characters a row, rows,
reading speed, shortest and longest event, gap to the next one).

Times parsed from SRT are whole milliseconds; measurements in frames are rounded to 3
decimals, which removes float noise (1e-12) but not a real 1 ms miss (0.024 frame at 24 fps).
"""

import re
from collections.abc import Mapping, Sequence

from ..lang import join_rows, text_width
from .report import check

Event = tuple[float, float, str]

_TIME = r"(\d+):(\d\d):(\d\d)[,.](\d\d\d)"
_BLOCK = re.compile(rf"{_TIME}\s*-->\s*{_TIME}[^\n]*\n(.*?)(?:\n\s*\n|\Z)", re.S)


def _seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text: str) -> list[Event]:
    """[(start, end, text)] of an SRT document (cue numbers and styling are ignored)."""
    events = []
    for m in _BLOCK.finditer(text.replace("\r\n", "\n")):
        body = re.sub(r"<[^>]+>", "", m.group(9)).strip("\n")
        events.append((_seconds(*m.group(1, 2, 3, 4)), _seconds(*m.group(5, 6, 7, 8)), body))
    return events


def _norm(text: str) -> str:
    return " ".join(text.split())


def _unbroken(text: str) -> str:
    """An event's rows put back together: a space between rows of words, none in Japanese."""
    return join_rows(text.split("\n"))


def _joined(events: Sequence[Event]) -> str:
    return _norm(join_rows(_unbroken(e[2]) for e in events))


def _spelled_at(events: Sequence[Event], i: int, want: str) -> int | None:
    """End index of the run of events from i whose joined text is `want`, or None."""
    got, j = "", i
    while j < len(events) and len(got) < len(want):
        got = _norm(join_rows([got, _unbroken(events[j][2])]))
        j += 1
    return j if got == want and j > i else None


def match_lines(events: Sequence[Event], placed: Sequence[Mapping], tolerance: float) -> dict:
    """Assign events, in order, to the voice lines: {line id: [events]}.

    A line takes the first run of events after the previous line's that spells its text.
    Events left between two spelled lines go to the lines there that spelled nothing, each to
    the last such line whose voice starts (less `tolerance` s) at or before it, so a line with a
    changed word still has its events checked and its text shown beside the script's.
    """
    spelled, i = {}, 0
    for n, cue in enumerate(placed):
        want = _norm(cue["text"])
        for start in range(i, len(events)):
            end = _spelled_at(events, start, want)
            if end is not None:
                spelled[n] = (start, end)
                i = end
                break
    out = {cue["line"]: [] for cue in placed}
    for n, (a, b) in spelled.items():
        out[placed[n]["line"]] = list(events[a:b])
    used = {k for a, b in spelled.values() for k in range(a, b)}
    for k, ev in enumerate(events):
        if k in used:
            continue
        before = max((n for n, (a, b) in spelled.items() if b <= k), default=-1)
        after = min((n for n, (a, b) in spelled.items() if a > k), default=len(placed))
        gap = [n for n in range(before + 1, after) if n not in spelled]
        if not gap:
            continue  # a stray event: counted by subtitle_stray_events
        owner = max((n for n in gap if placed[n]["start"] - tolerance <= ev[0]), default=gap[0])
        out[placed[owner]["line"]].append(ev)
    return out


def _frames(seconds: float, fps: float) -> float:
    return round(seconds * fps, 3)


def _show(event: Event) -> str:
    return f"{event[0]:.3f}-{event[1]:.3f} s {event[2]!r}"


def _worst(name, events, measure, op, threshold, unit, **extra):
    """One check over all events: the worst event's measurement, and which event it is."""
    if not events:
        return check(name, None, op, threshold, unit, exempt="no subtitle events", **extra)
    values = [measure(e) for e in events]
    worst = (max if op == "<=" else min)(range(len(events)), key=lambda k: values[k])
    return check(name, values[worst], op, threshold, unit, event=_show(events[worst]), **extra)


def _speed(event: Event, half_width: float) -> float:
    ms = round((event[1] - event[0]) * 1000)
    chars = text_width(_unbroken(event[2]), half_width)
    return round(chars * 1000 / ms, 4) if ms > 0 else float("inf")


def subtitle_checks(
    events: Sequence[Event],
    placed: Sequence[Mapping],
    fps: float,
    limits: Mapping,
    offset_frames: float,
    picture_end: float,
) -> list[dict]:
    """Checks of the muxed subtitle events against the placed voice lines and the limits.

    placed: lines with line, text, start, end, window and scene_window (seconds); limits:
    config['subtitles']; offset_frames: how far an event may start from its voice;
    picture_end: the last frame's end, seconds.
    """
    matched = match_lines(events, placed, offset_frames / fps)
    spelled = [cue for cue in placed if matched[cue["line"]] and _joined(matched[cue["line"]]) == _norm(cue["text"])]
    owned = sum(len(v) for v in matched.values())
    checks = [
        check("subtitle_events_for_lines", len(spelled), "==", len(placed)),
        check(
            "subtitle_stray_events",
            len(events) - owned,
            "==",
            0,
            **(
                {"events": [_show(e) for e in events if not any(e in v for v in matched.values())]}
                if len(events) > owned
                else {}
            ),
        ),
    ]
    for cue in placed:
        got, line = matched[cue["line"]], cue["line"]
        checks.append(check(f"subtitle_text[{line}]", _joined(got) if got else None, "==", _norm(cue["text"])))
        if not got:
            checks.append(
                check(
                    f"subtitle_start[{line}]",
                    None,
                    "<=",
                    offset_frames,
                    "frames",
                    error=f"no subtitle events for {cue['text']!r}",
                )
            )
            continue
        first, last = min(e[0] for e in got), max(e[1] for e in got)
        outside = lambda w, first=first, last=last: _frames(max(w[0] - first, last - w[1], 0.0), fps)  # noqa: E731
        span = f"{first:.3f}-{last:.3f} s"
        checks += [
            check(f"subtitle_start[{line}]", _frames(abs(first - cue["start"]), fps), "<=", offset_frames, "frames"),
            # up while it is spoken: an event may stay up after its voice, not go before it ends
            check(f"subtitle_end[{line}]", _frames(last - cue["end"], fps), ">=", -offset_frames, "frames"),
            check(
                f"subtitle_window[{line}]",
                outside(cue["window"]),
                "<=",
                0,
                "frames outside",
                events=span,
                window=list(cue["window"]),
            ),
            check(
                f"subtitle_scene_window[{line}]",
                outside(cue["scene_window"]),
                "<=",
                0,
                "frames outside",
                events=span,
                scene_window=list(cue["scene_window"]),
            ),
        ]
    half = limits.get("half_width", 1.0)  # what a half-width character counts (Japanese: 0.5)
    ordered = sorted(events)
    gaps = [(b[0] - a[1], a, b) for a, b in zip(ordered, ordered[1:])]
    checks += [
        _worst(
            "subtitle_past_picture_end",
            events,
            lambda e: _frames(max(e[1] - picture_end, 0.0), fps),
            "<=",
            0,
            "frames",
            picture_end=round(picture_end, 4),
        ),
        _worst(
            "subtitle_chars_per_line",
            events,
            lambda e: max(text_width(r, half) for r in e[2].split("\n")),
            "<=",
            limits["max_chars_per_line"],
            "chars",
        ),
        _worst("subtitle_lines", events, lambda e: len(e[2].split("\n")), "<=", limits["max_lines"], "rows"),
        _worst(
            "subtitle_chars_per_second",
            events,
            lambda e: _speed(e, half),
            "<=",
            limits["max_chars_per_second"],
            "chars/s",
        ),
        _worst(
            "subtitle_min_duration",
            events,
            lambda e: _frames(e[1] - e[0], fps),
            ">=",
            limits["min_duration_frames"],
            "frames",
        ),
        _worst(
            "subtitle_max_duration", events, lambda e: round(e[1] - e[0], 3), "<=", limits["max_duration_seconds"], "s"
        ),
    ]
    if gaps:
        g = min(gaps, key=lambda x: x[0])
        checks.append(
            check(
                "subtitle_min_gap",
                _frames(g[0], fps),
                ">=",
                limits["min_gap_frames"],
                "frames",
                event=f"{_show(g[1])} then {_show(g[2])}",
            )
        )
    return checks
