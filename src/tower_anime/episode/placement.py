"""Where each dialogue line really sits, once its voice's measured length is known.

The plan gives each line an earliest start and the span of its own shot (its `window`:
after a crossfade into the shot, before a crossfade out of it, never past the picture). A
line waits for the previous line of its shot plus a gap, and must end inside the window: a
line never plays in another shot or past the picture. When a shot's voices are longer than
their window holds, the shot's lines are sped up together (the mix applies `atempo`, which
keeps the pitch) by the least factor that fits, at most `voice.max_tempo`; a shot that does
not fit even then stops the build with what to change.

One rule writes the result (build/<ep>/placement.json); the mix, the subtitles and the
episode gate all read that file, so they cannot disagree.
"""

from __future__ import annotations

import math
from itertools import groupby

from ..errors import MediaError
from ..qc.speech import END_SECONDS, HOP

# seconds kept between a line's last sample and its shot's end: speech must not touch a cut,
# and the episode gate hears any speech in the picture's last END_SECONDS as cut off (its
# analysis frames are HOP long, and atempo's output length is not exact to the sample)
END_GUARD = round(END_SECONDS + HOP, 3)


def _place(cues: list[dict], durations: dict, tempo: float) -> list[tuple[float, float, float]]:
    """(start, voice end, end of the line's room) per line: a line's room lasts as long as its
    voice or, when longer, the time its subtitles need to be read (cue['reading'])."""
    spans, prev_room = [], None
    for cue in cues:
        start = cue["earliest"] if cue["earliest"] is not None else cue["window"][0]
        if prev_room is not None:
            start = max(start, prev_room + cue["gap"])
        start = round(start, 3)
        end = start + durations[cue["line"]] / tempo
        room = max(end, start + cue.get("reading", 0.0))
        spans.append((start, end, room))
        prev_room = room
    return spans


def _shot_tempo(cues: list[dict], durations: dict) -> float:
    """The least speed-up (1.0 if none) that ends the shot's last line, and the reading of its
    subtitles, inside its window."""
    limit = cues[0]["window"][1] - END_GUARD
    fits = lambda t: _place(cues, durations, t)[-1][2] <= limit  # noqa: E731 - local predicate
    if fits(1.0):
        return 1.0
    top = cues[0]["max_tempo"]
    if not fits(top):
        _refuse(cues, durations, top, limit)
    low, high = 1.0, top
    for _ in range(40):  # bisection: the end moves monotonically with the tempo
        mid = (low + high) / 2
        low, high = (low, mid) if fits(mid) else (mid, high)
    return math.ceil(high * 10000) / 10000


def _refuse(cues, durations, top, limit):
    shot = cues[0]["shot"]
    spans = _place(cues, durations, 1.0)
    need = spans[-1][2] - cues[0]["window"][0] + END_GUARD
    room = limit - cues[0]["window"][0] + END_GUARD
    lines = ", ".join(f"{c['line']} {durations[c['line']]:.2f} s" for c in cues)
    raise MediaError(
        f"the dialogue of shot {shot} ({lines}) needs {need:.2f} s but the shot leaves {room:.2f} s for it, "
        f"and {top}x faster (voice.max_tempo) is not enough; give shot {shot} about {need - room:.2f} s more "
        "(frames or duration), shorten its lines, raise voice.max_tempo, or lower the voice's "
        "voice.speaking_rate.<engine>.chars_per_second so the plan grows the shot for it (voice.fit_lines: grow "
        "or speed_up_then_grow)"
    )


def place_lines(cues: list[dict], durations: dict) -> list[dict]:
    """cues: plan.audio_timeline()['lines']; durations: line id -> measured seconds.

    Returns the cues with start, end (seconds on the episode timeline), tempo and the voice's
    own length added; lines of one shot share one tempo."""
    placed = []
    for _, group in groupby(cues, key=lambda c: c["shot"]):
        group = list(group)
        tempo = _shot_tempo(group, durations)
        for cue, (start, end, _) in zip(group, _place(group, durations, tempo)):
            placed.append(
                {
                    **cue,
                    "start": start,
                    "end": round(end, 3),
                    "tempo": tempo,
                    "voice_seconds": round(durations[cue["line"]], 4),
                }
            )
    return placed
