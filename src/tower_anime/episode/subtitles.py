"""SRT subtitles from placed dialogue lines, within the delivery limits of the `subtitles`
config section (characters a row, rows an event, reading speed, shortest and longest event,
gap between events).

Every time is a whole number of milliseconds before any limit is checked: SRT keeps
milliseconds, and a limit met on unrounded times can be broken by the rounding (an event
written at 17.0 characters a second measured 17.42 once muxed). A placed line is a dict with
line, text, start, end (its voice) and window (the span its events must lie in).
"""
import functools
import math
import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..errors import MediaError

Event = tuple[float, float, str]  # (start s, end s, text with rows joined by "\n")


@dataclass(frozen=True)
class Limits:
    """The `subtitles` limits in the units the writer works in (characters, milliseconds)."""
    max_chars_per_line: int
    max_lines: int
    max_chars_per_second: float
    min_ms: int
    max_ms: int
    gap_ms: int
    lead_ms: int


def _ms_at_least(frames: float, fps: float) -> int:
    # whole ms rounded up, so the limit still holds when the gate measures it in frames
    return math.ceil(round(frames * 1000 / fps, 6))


def subtitle_limits(settings: Mapping, fps: float) -> Limits:
    """Limits from config['subtitles'] at a frame rate (frame counts become milliseconds)."""
    limits = Limits(
        max_chars_per_line=settings["max_chars_per_line"], max_lines=settings["max_lines"],
        max_chars_per_second=settings["max_chars_per_second"],
        min_ms=_ms_at_least(settings["min_duration_frames"], fps),
        max_ms=math.floor(round(settings["max_duration_seconds"] * 1000, 6)),
        gap_ms=_ms_at_least(settings["min_gap_frames"], fps),
        lead_ms=math.floor(round(settings["lead_frames"] * 1000 / fps, 6)))
    if limits.min_ms > limits.max_ms:
        raise MediaError(f"subtitles.min_duration_frames ({settings['min_duration_frames']} frames at {fps} fps) "
                         f"is longer than subtitles.max_duration_seconds ({settings['max_duration_seconds']} s); "
                         "lower the first or raise the second")
    return limits


def srt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _need_ms(chars: int, limits: Limits) -> int:
    """Shortest time an event of `chars` characters may stay up (reading speed, minimum)."""
    return max(limits.min_ms, math.ceil(chars * 1000 / limits.max_chars_per_second))


# --- where a line may break ------------------------------------------------------------
# Breaks follow the usual subtitling rules: after a sentence, then after , ; : and dashes,
# then before a conjunction, preposition or relative pronoun; never after a word that leans
# on the next one (an article, a determiner, a common adjective, a preposition...), which
# would cut a noun phrase in two.
_CONJ_PREP_REL = set("""and but or nor so yet for because although though while whereas if unless
until since when whenever where wherever after before once than that which who whom whose what
to of in on at by with from into onto about over under through between against without within
across along around behind beyond during toward towards upon like as near past via""".split())
_GLUE = _CONJ_PREP_REL | set("""a an the this these those my your his her its our their some any no
every each either neither another such all both few many much more most several i you he she we
they it is are was were be been am has have had do does did will would shall should can could may
might must not don't can't won't isn't aren't very too quite rather really just old new big small
little good bad great long short last first next other same whole young dark bright red blue green
black white high low full empty mr mrs ms dr""".split())
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CLAUSE_END = re.compile(r"([,;:—–]|--)[\"'”’)\]]*$")
_DASH = re.compile(r"^([—–-]|--)")
_EDGE = re.compile(r"^[\"'“‘(\[]+|[^\w'’]+$")
_COST = {"sentence": 0.0, "clause": 1.0, "phrase": 2.0, "word": 4.0, "glue": 1000.0}
_BALANCE = 0.25  # cost of one character of difference between the two rows of an event
_EVEN = 0.1  # cost of one character an event is longer or shorter than the line's average


def _bare(word: str) -> str:
    return _EDGE.sub("", word).lower()


def _break_kind(before: str, after: str) -> str:
    """What breaking between two words cuts: a sentence, a clause, a phrase, or less."""
    if _SENTENCE_END.search(before):
        return "sentence"
    if _CLAUSE_END.search(before) or _DASH.match(after):
        return "clause"
    if _bare(before) in _GLUE:
        return "glue"
    return "phrase" if _bare(after) in _CONJ_PREP_REL else "word"


def _break_costs(words: Sequence[str]) -> list[float]:
    """costs[j]: breaking before words[j] (j = 1..len-1)."""
    return [0.0] + [_COST[_break_kind(words[j - 1], words[j])] for j in range(1, len(words))]


def _layout(words: Sequence[str], costs: Sequence[float], i: int, j: int, limits: Limits) -> tuple[float, list[int]]:
    """Rows of the event words[i:j]: (cost, row starts). One row if it fits, else the fewest
    rows, broken at the best phrase boundaries with the rows' lengths as even as possible."""
    width = lambda a, b: sum(len(w) for w in words[a:b]) + b - a - 1  # noqa: E731
    if width(i, j) <= limits.max_chars_per_line:
        return 0.0, [i]
    for rows in range(2, limits.max_lines + 1):
        # best[(r, b)]: (cost, row starts) of words[i:b] in r rows
        best = {(0, i): (0.0, [])}
        for r in range(1, rows + 1):
            for b in range(i + 1, j + 1):
                for a in ([i] if r == 1 else range(i + 1, b)):
                    prev = best.get((r - 1, a))
                    if prev is None or width(a, b) > limits.max_chars_per_line:
                        continue
                    cost = prev[0] + (costs[a] if a > i else 0.0)
                    if (r, b) not in best or cost < best[(r, b)][0]:
                        best[(r, b)] = (cost, prev[1] + [a])
        if (rows, j) in best:
            cost, starts = best[(rows, j)]
            bounds = starts + [j]
            lengths = [width(bounds[k], bounds[k + 1]) for k in range(rows)]
            return cost + _BALANCE * (max(lengths) - min(lengths)), starts
    raise AssertionError("an event was laid out that does not fit its rows")  # _reach() prevents it


def _reach(words: Sequence[str], limits: Limits) -> list[int]:
    """reach[i]: one past the last word that can end an event starting at words[i] (rows
    filled greedily, which uses the fewest rows; and within the longest event's reading time)."""
    reach = []
    for i in range(len(words)):
        rows, row, j = 1, len(words[i]), i + 1
        while j < len(words):
            if row + 1 + len(words[j]) <= limits.max_chars_per_line:
                row += 1 + len(words[j])
            elif rows < limits.max_lines:
                rows, row = rows + 1, len(words[j])
            else:
                break
            if _need_ms(len(" ".join(words[i:j + 1])), limits) > limits.max_ms:
                break
            j += 1
        reach.append(j)
    return reach


def _split_events(words: Sequence[str], limits: Limits, at_least: int = 1) -> list[str]:
    """The line's words in events (rows joined by a newline): the fewest events (and at least
    `at_least`), broken at the best phrase boundaries, with the events' lengths as even as the
    boundaries allow."""
    n = len(words)
    costs = _break_costs(words)
    reach = _reach(words, limits)
    fewest, i = 0, 0
    while i < n:  # filling each event as far as it reaches gives the fewest events
        fewest, i = fewest + 1, reach[i]
    count = min(n, max(fewest, at_least))
    offsets = [0]
    for w in words:
        offsets.append(offsets[-1] + len(w) + 1)
    ideal = offsets[n] / count
    layout = functools.lru_cache(maxsize=None)(lambda a, b: _layout(words, costs, a, b, limits))
    # layer[j]: (cost, event starts) of words[:j] in k events
    layer = {0: (0.0, [])}
    for _ in range(count):
        nxt = {}
        for i, (cost, starts) in layer.items():
            for j in range(i + 1, reach[i] + 1 if i < n else i):
                c = (cost + (costs[i] if i else 0.0) + _EVEN * abs(offsets[j] - offsets[i] - ideal)
                     + layout(i, j)[0])
                if j not in nxt or c < nxt[j][0]:
                    nxt[j] = (c, starts + [i])
        layer = nxt
    bounds = layer[n][1] + [n]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        rows = layout(a, b)[1] + [b]
        out.append("\n".join(" ".join(words[r:q]) for r, q in zip(rows, rows[1:])))
    return out


def _check_words(line_id: str, words: Sequence[str], limits: Limits) -> None:
    for w in words:
        if len(w) > limits.max_chars_per_line:
            raise MediaError(f"line {line_id}: the word {w!r} has {len(w)} characters, more than a subtitle row "
                             f"holds (subtitles.max_chars_per_line = {limits.max_chars_per_line}); shorten or "
                             "hyphenate it in the script")
        if _need_ms(len(w), limits) > limits.max_ms:
            raise MediaError(f"line {line_id}: the word {w!r} needs {_need_ms(len(w), limits) / 1000:.3f} s at "
                             f"subtitles.max_chars_per_second, longer than one event may stay up "
                             f"({limits.max_ms / 1000:g} s); raise subtitles.max_duration_seconds or "
                             "subtitles.max_chars_per_second")


def split_text(text: str, limits: Limits, at_least: int = 1) -> list[str]:
    """The text of each event of a line, rows joined by a newline."""
    words = text.split()
    if not words:
        return []
    _check_words("?", words, limits)
    return _split_events(words, limits, at_least)


def _event_chars(part: str) -> int:
    # counted as the gate counts them: the row break is a space, spaces and punctuation count
    return len(part.replace("\n", " "))


def _needed_ms(parts: Sequence[str], limits: Limits) -> int:
    return sum(_need_ms(_event_chars(p), limits) for p in parts) + limits.gap_ms * max(len(parts) - 1, 0)


def reading_seconds(text: str, limits: Limits) -> float:
    """The least time a line's events need at the limits (reading speed and shortest event for
    each event, the gap between them): its shot must give its subtitles at least this long."""
    return _needed_ms(split_text(text, limits), limits) / 1000


def _ms_in(seconds: float, up: bool) -> int:
    x = round(seconds * 1000, 6)  # float noise off before rounding inwards
    return math.ceil(x) if up else math.floor(x)


def _share(extra: int, parts: Sequence[str], needs: Sequence[int], limits: Limits) -> list[int]:
    """Each event's time: its need plus a share of `extra` ms by its characters, none over
    the longest event."""
    durs = list(needs)
    weights = [_event_chars(p) for p in parts]
    while extra > 0:
        open_ = [k for k in range(len(durs)) if durs[k] < limits.max_ms]
        total = sum(weights[k] for k in open_)
        given = 0
        for k in open_:
            add = min(limits.max_ms - durs[k], extra * weights[k] // total)
            durs[k] += add
            given += add
        extra -= given
        if given == 0:  # the rounding remainder: a millisecond each, in order
            for k in open_:
                if extra == 0:
                    break
                durs[k] += 1
                extra -= 1
    return durs


def _line_events(cue: Mapping, lo: int, hi: int, limits: Limits) -> list[tuple[int, int, str]]:
    """Events of one line in whole ms, inside [lo, hi]; MediaError if the limits cannot all hold."""
    words = cue["text"].split()
    if not words:
        return []
    _check_words(cue["line"], words, limits)
    s, e = round(cue["start"] * 1000), round(cue["end"] * 1000)
    # a voice longer than one event may stay up is shown in as many events as it takes
    at_least = max(1, math.ceil((min(e, hi) - s + limits.gap_ms) / (limits.max_ms + limits.gap_ms)))
    parts = split_text(" ".join(words), limits, at_least)
    needs = [_need_ms(_event_chars(p), limits) for p in parts]
    need = sum(needs) + limits.gap_ms * (len(parts) - 1)
    earliest = max(lo, min(s, hi) - limits.lead_ms)
    if earliest + need > hi:
        chars = len(" ".join(words))
        raise MediaError(
            f"line {cue['line']}: its subtitles ({chars} characters) need {need / 1000:.3f} s at the limits but "
            f"its window gives {max(hi - earliest, 0) / 1000:.3f} s ({earliest / 1000:.3f}-{hi / 1000:.3f} s); "
            "lengthen the shot, shorten the line, or raise subtitles.max_chars_per_second")
    start = max(earliest, min(s, hi - need))  # on the voice; early (at most lead) only if needed
    most = len(parts) * limits.max_ms + limits.gap_ms * (len(parts) - 1)
    end = min(hi, max(e, start + need), start + most)
    if end < min(e, hi):
        raise MediaError(
            f"line {cue['line']}: its voice lasts {(e - s) / 1000:.3f} s but its {len(words)} word(s) make at most "
            f"{len(parts)} event(s) of {limits.max_ms / 1000:g} s; split the line or raise "
            "subtitles.max_duration_seconds")
    durs = _share(end - start - limits.gap_ms * (len(parts) - 1) - sum(needs), parts, needs, limits)
    out, t = [], start
    for part, d in zip(parts, durs):
        out.append((t, t + d, part))
        t += d + limits.gap_ms
    return out


def events(placed: Sequence[Mapping], limits: Limits) -> list[Event]:
    """(start, end, text) of every subtitle event, times in whole milliseconds.

    Each line's events start on its voice (or at most lead before it, when the reading time
    needs it), stay up after the voice as long as the reading speed or the shortest event
    needs, and lie inside the line's window, after the previous line's events and before the
    next line's voice, a gap away from both.
    """
    out, prev_end = [], None
    for i, cue in enumerate(placed):
        lo = _ms_in(cue["window"][0], up=True)
        hi = _ms_in(cue["window"][1], up=False)
        if prev_end is not None:
            lo = max(lo, prev_end + limits.gap_ms)
        if i + 1 < len(placed):
            hi = min(hi, round(placed[i + 1]["start"] * 1000) - limits.gap_ms)
        line = _line_events(cue, lo, hi, limits)
        if line:
            prev_end = line[-1][1]
        out += [(a / 1000, b / 1000, text) for a, b, text in line]
    return out


def build_srt(placed: Sequence[Mapping], limits: Limits) -> str:
    blocks = [f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n"
              for n, (start, end, text) in enumerate(events(placed, limits), 1)]
    return "\n".join(blocks)


def build_srt_for(placed: Sequence[Mapping], settings: Mapping, fps: float) -> str:
    """build_srt with the `subtitles` config section (the delivery limits the QC checks)."""
    return build_srt(placed, subtitle_limits(settings, fps))
