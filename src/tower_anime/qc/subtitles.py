"""Subtitle checks on the track muxed into the episode: each voice line's cue sits on the
line (in-time within a few frames; the out-time may linger a little to keep reading speed
down), and every event keeps the delivery limits (characters a line, lines, reading speed)."""
import re

from .report import check

_TIME = r"(\d+):(\d\d):(\d\d)[,.](\d\d\d)"
_BLOCK = re.compile(rf"{_TIME}\s*-->\s*{_TIME}[^\n]*\n(.*?)(?:\n\s*\n|\Z)", re.S)


def _seconds(h, m, s, ms):
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_srt(text):
    """[(start, end, text)] of an SRT document (cue numbers and styling are ignored)."""
    events = []
    for m in _BLOCK.finditer(text.replace("\r\n", "\n")):
        body = re.sub(r"<[^>]+>", "", m.group(9)).strip("\n")
        events.append((_seconds(*m.group(1, 2, 3, 4)), _seconds(*m.group(5, 6, 7, 8)), body))
    return events


def _norm(text):
    return " ".join(text.split())


def match_lines(events, placed):
    """Assign events, in order, to the voice lines whose text they spell out.

    Returns {line id: [events]}; a line whose text the events do not spell is missing.
    """
    out, i = {}, 0
    for cue in placed:
        want, got, start = _norm(cue["text"]), [], i
        while i < len(events) and len(_norm(" ".join(e[2] for e in got))) < len(want):
            got.append(events[i])
            i += 1
        if _norm(" ".join(e[2] for e in got)) == want:
            out[cue["line"]] = got
        else:
            i = start  # leave the events for the next line
    return out


def subtitle_checks(events, placed, fps, limits, offset_frames):
    """Checks of the muxed subtitle events against the placed voice lines.

    limits: config['subtitles'] (max_chars_per_line, max_lines, max_chars_per_second,
    linger_seconds); offset_frames: how far a cue may start from its line.
    """
    matched = match_lines(events, placed)
    checks = [check("subtitle_events_for_lines", len(matched), "==", len(placed))]
    linger = limits["linger_seconds"] * fps
    for cue in placed:
        got = matched.get(cue["line"])
        if not got:
            checks.append(check(f"subtitle_start[{cue['line']}]", None, "<=", offset_frames, "frames",
                                error=f"no subtitle events spell {cue['text']!r}"))
            continue
        checks += [
            check(f"subtitle_start[{cue['line']}]", round(abs(got[0][0] - cue["start"]) * fps, 2), "<=",
                  offset_frames, "frames"),
            check(f"subtitle_end[{cue['line']}]", round((got[-1][1] - cue["end"]) * fps, 2), "between",
                  [-offset_frames, round(offset_frames + linger, 2)], "frames"),
        ]
    rows = [row for e in events for row in e[2].split("\n")]
    speeds = [len(e[2].replace("\n", " ")) / (e[1] - e[0]) if e[1] > e[0] else float("inf") for e in events]
    checks += [
        check("subtitle_chars_per_line", max((len(r) for r in rows), default=0), "<=", limits["max_chars_per_line"]),
        check("subtitle_lines", max((len(e[2].split("\n")) for e in events), default=0), "<=", limits["max_lines"]),
        check("subtitle_chars_per_second", round(max(speeds, default=0.0), 2), "<=", limits["max_chars_per_second"]),
    ]
    return checks
