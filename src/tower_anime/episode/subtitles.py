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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import MediaError
from ..lang import break_units, is_wide, join_rows, text_width

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
    half_width: float = 1.0  # what a half-width character counts (0.5 in Japanese subtitles)


def limits_for(settings: Mapping, language: str | None) -> dict:
    """The `subtitles` settings for a track in `language` (ISO 639-2: jpn): the defaults with
    subtitles.languages[language] over them."""
    base = {k: v for k, v in settings.items() if k != "languages"}
    return {**base, **((settings.get("languages") or {}).get(language) or {})}


def _ms_at_least(frames: float, fps: float) -> int:
    # whole ms rounded up, so the limit still holds when the gate measures it in frames
    return math.ceil(round(frames * 1000 / fps, 6))


def subtitle_limits(settings: Mapping, fps: float, language: str | None = None) -> Limits:
    """Limits from config['subtitles'] at a frame rate (frame counts become milliseconds), for a
    track in `language` (ISO 639-2) when given."""
    settings = limits_for(settings, language)
    limits = Limits(
        max_chars_per_line=settings["max_chars_per_line"],
        max_lines=settings["max_lines"],
        max_chars_per_second=settings["max_chars_per_second"],
        min_ms=_ms_at_least(settings["min_duration_frames"], fps),
        max_ms=math.floor(round(settings["max_duration_seconds"] * 1000, 6)),
        gap_ms=_ms_at_least(settings["min_gap_frames"], fps),
        lead_ms=math.floor(round(settings["lead_frames"] * 1000 / fps, 6)),
        half_width=settings.get("half_width", 1.0),
    )
    if limits.min_ms > limits.max_ms:
        raise MediaError(
            f"subtitles.min_duration_frames ({settings['min_duration_frames']} frames at {fps} fps) "
            f"is longer than subtitles.max_duration_seconds ({settings['max_duration_seconds']} s); "
            "lower the first or raise the second"
        )
    return limits


def srt_time(seconds: float) -> str:
    ms = max(0, int(round(seconds * 1000)))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def _need_ms(chars: float, limits: Limits) -> int:
    """Shortest time an event of `chars` characters may stay up (reading speed, minimum)."""
    return max(limits.min_ms, math.ceil(chars * 1000 / limits.max_chars_per_second))


# --- where a line may break ------------------------------------------------------------
# Breaks follow the usual subtitling rules: after a sentence, then after , ; : and dashes,
# then before a conjunction, preposition or relative pronoun; never after a word that leans
# on the next one (an article, a determiner, a common adjective, a preposition...), which
# would cut a noun phrase in two. Full-width text (Japanese) has no spaces: it may break
# between any two characters, best after 。！？ then after 、 then after a particle (に, を...)
# before the next word; never after a word that leans on its noun (この, その...), before
# closing punctuation, a small kana or the long-vowel mark, nor after an opening bracket
# (kinsoku shori). A compound may break after its hyphen (lang.break_units).
_CONJ_PREP_REL = set(
    """and but or nor so yet for because although though while whereas if unless
until since when whenever where wherever after before once than that which who whom whose what
to of in on at by with from into onto about over under through between against without within
across along around behind beyond during toward towards upon like as near past via""".split()
)
_GLUE = _CONJ_PREP_REL | set(
    """a an the this these those my your his her its our their some any no
every each either neither another such all both few many much more most several i you he she we
they it is are was were be been am has have had do does did will would shall should can could may
might must not don't can't won't isn't aren't very too quite rather really just old new big small
little good bad great long short last first next other same whole young dark bright red blue green
black white high low full empty mr mrs ms dr""".split()
)
_SENTENCE_END = re.compile(r"[.!?…。！？][\"'”’)\]」』）]*$")
_CLAUSE_END = re.compile(r"([,;:—–、，；：]|--)[\"'”’)\]」』）]*$")
_DASH = re.compile(r"^([—–-]|--)")
_EDGE = re.compile(r"^[\"'“‘(\[]+|[^\w'’]+$")
_COST = {"sentence": 0.0, "clause": 1.0, "phrase": 2.0, "word": 4.0, "glue": 1000.0}
_BALANCE = 0.25  # cost of one character of difference between the two rows of an event
_EVEN = 0.1  # cost of one character an event is longer or shorter than the line's average


def _hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u309f"


def _bare(word: str) -> str:
    return _EDGE.sub("", word).lower()


def _row(units: Sequence[str], a: int, b: int) -> str:
    return "".join(units[a:b]).strip()


# Japanese words that lean on the noun after them (この街 "this city"): like the English glue
# words, a break after one would cut a noun phrase in two
_JA_PARTICLES = set("はがをにでともへやかねよ")
_JA_GLUE = ("この", "その", "あの", "どの", "こんな", "そんな", "あんな", "どんな", "ある", "我が")


def _break_kind(before: str, after: str, text_before: str = "") -> str:
    """What breaking between two pieces cuts: a sentence, a clause, a phrase, or less.
    text_before: everything before the break (for a Japanese word longer than one piece)."""
    if _DASH.match(after):  # a row that starts with a dash reads as another speaker's line
        return "glue"
    if _SENTENCE_END.search(before.rstrip()):
        return "sentence"
    if _CLAUSE_END.search(before.rstrip()):
        return "clause"
    if not before.endswith(" "):  # inside full-width text
        last, first = before[-1], after[0]
        if text_before.endswith(_JA_GLUE) and not _hiragana(first):
            return "glue"
        if _hiragana(first) and not _hiragana(last):
            return "glue" if not is_wide(last) else "word"  # a particle leans on the word before it
        # a particle ends a phrase (検問所に|着く); another kana ending does not (着く|前に)
        return "phrase" if last in _JA_PARTICLES and not _hiragana(first) else "word"
    if _bare(before) in _GLUE:
        return "glue"
    return "phrase" if _bare(after) in _CONJ_PREP_REL else "word"


def _break_costs(units: Sequence[str]) -> list[float]:
    """costs[j]: breaking before units[j] (j = 1..len-1)."""
    return [0.0] + [_COST[_break_kind(units[j - 1], units[j], "".join(units[:j]))] for j in range(1, len(units))]


def _layout(units: Sequence[str], costs: Sequence[float], i: int, j: int, limits: Limits) -> tuple[float, list[int]]:
    """Rows of the event units[i:j]: (cost, row starts). One row if it fits, else the fewest
    rows, broken at the best phrase boundaries with the rows' lengths as even as possible."""
    width = lambda a, b: text_width(_row(units, a, b), limits.half_width)  # noqa: E731
    if width(i, j) <= limits.max_chars_per_line:
        return 0.0, [i]
    for rows in range(2, limits.max_lines + 1):
        # best[(r, b)]: (cost, row starts) of units[i:b] in r rows
        best = {(0, i): (0.0, [])}
        for r in range(1, rows + 1):
            for b in range(i + 1, j + 1):
                for a in [i] if r == 1 else range(i + 1, b):
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


def _reach(units: Sequence[str], limits: Limits) -> list[int]:
    """reach[i]: one past the last unit that can end an event starting at units[i] (rows
    filled greedily, which uses the fewest rows; and within the longest event's reading time)."""
    width = lambda a, b: text_width(_row(units, a, b), limits.half_width)  # noqa: E731
    reach = []
    for i in range(len(units)):
        rows, start, j = 1, i, i + 1
        while j < len(units):
            if width(start, j + 1) > limits.max_chars_per_line:
                if rows >= limits.max_lines:
                    break
                rows, start = rows + 1, j
            if _need_ms(width(i, j + 1), limits) > limits.max_ms:
                break
            j += 1
        reach.append(j)
    return reach


def _split_events(units: Sequence[str], limits: Limits, at_least: int = 1) -> list[str]:
    """The line's units in events (rows joined by a newline): the fewest events (and at least
    `at_least`), broken at the best phrase boundaries, with the events' lengths as even as the
    boundaries allow."""
    n = len(units)
    costs = _break_costs(units)
    reach = _reach(units, limits)
    fewest, i = 0, 0
    while i < n:  # filling each event as far as it reaches gives the fewest events
        fewest, i = fewest + 1, reach[i]
    count = min(n, max(fewest, at_least))
    offsets = [0]
    for u in units:  # a word counts its space; full-width characters have none
        bare = u.strip()
        offsets.append(offsets[-1] + text_width(bare, limits.half_width) + (0 if is_wide(bare[-1]) else 1))
    ideal = offsets[n] / count
    layout = functools.lru_cache(maxsize=None)(lambda a, b: _layout(units, costs, a, b, limits))
    # layer[j]: (cost, event starts) of units[:j] in k events
    layer = {0: (0.0, [])}
    for _ in range(count):
        nxt = {}
        for i, (cost, starts) in layer.items():
            for j in range(i + 1, reach[i] + 1 if i < n else i):
                c = cost + (costs[i] if i else 0.0) + _EVEN * abs(offsets[j] - offsets[i] - ideal) + layout(i, j)[0]
                if j not in nxt or c < nxt[j][0]:
                    nxt[j] = (c, starts + [i])
        layer = nxt
    bounds = layer[n][1] + [n]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        rows = layout(a, b)[1] + [b]
        out.append("\n".join(_row(units, r, q) for r, q in zip(rows, rows[1:])))
    return out


def _check_words(line_id: str | None, units: Sequence[str], limits: Limits) -> None:
    which = f"line {line_id}: " if line_id else ""
    for u in units:
        w, chars = u.strip(), text_width(u.strip(), limits.half_width)
        if chars > limits.max_chars_per_line:
            raise MediaError(
                f"{which}the word {w!r} has {chars:g} characters, more than a subtitle row "
                f"holds (subtitles.max_chars_per_line = {limits.max_chars_per_line}); shorten it, "
                "or break it with a space or a hyphen (a row may end after one)"
            )
        if _need_ms(chars, limits) > limits.max_ms:
            raise MediaError(
                f"{which}the word {w!r} needs {_need_ms(chars, limits) / 1000:.3f} s at "
                f"subtitles.max_chars_per_second, longer than one event may stay up "
                f"({limits.max_ms / 1000:g} s); raise subtitles.max_duration_seconds or "
                "subtitles.max_chars_per_second"
            )


def split_text(text: str, limits: Limits, at_least: int = 1) -> list[str]:
    """The text of each event of a line, rows joined by a newline."""
    units = break_units(text)
    if not units:
        return []
    _check_words(None, units, limits)
    return _split_events(units, limits, at_least)


def _event_chars(part: str, limits: Limits) -> float:
    # counted as the gate counts them: the rows joined back (a space between rows of words)
    return text_width(join_rows(part.split("\n")), limits.half_width)


def _needed_ms(parts: Sequence[str], limits: Limits) -> int:
    return sum(_need_ms(_event_chars(p, limits), limits) for p in parts) + limits.gap_ms * max(len(parts) - 1, 0)


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
    weights = [_event_chars(p, limits) for p in parts]
    while extra > 0:
        open_ = [k for k in range(len(durs)) if durs[k] < limits.max_ms]
        total = sum(weights[k] for k in open_)
        given = 0
        for k in open_:
            add = min(limits.max_ms - durs[k], int(extra * weights[k] // total))
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
    words = break_units(cue["text"])
    if not words:
        return []
    _check_words(cue["line"], words, limits)
    s, e = round(cue["start"] * 1000), round(cue["end"] * 1000)
    # a voice longer than one event may stay up is shown in as many events as it takes
    at_least = max(1, math.ceil((min(e, hi) - s + limits.gap_ms) / (limits.max_ms + limits.gap_ms)))
    parts = split_text(cue["text"], limits, at_least)
    needs = [_need_ms(_event_chars(p, limits), limits) for p in parts]
    need = sum(needs) + limits.gap_ms * (len(parts) - 1)
    earliest = max(lo, min(s, hi) - limits.lead_ms)
    if earliest + need > hi:
        chars = text_width(_row(words, 0, len(words)), limits.half_width)
        raise MediaError(
            f"line {cue['line']}: its subtitles ({chars:g} characters) need {need / 1000:.3f} s at the limits but "
            f"its window gives {max(hi - earliest, 0) / 1000:.3f} s ({earliest / 1000:.3f}-{hi / 1000:.3f} s); "
            "lengthen the shot, shorten the line, or raise subtitles.max_chars_per_second"
        )
    start = max(earliest, min(s, hi - need))  # on the voice; early (at most lead) only if needed
    most = len(parts) * limits.max_ms + limits.gap_ms * (len(parts) - 1)
    end = min(hi, max(e, start + need), start + most)
    if end < min(e, hi):
        raise MediaError(
            f"line {cue['line']}: its voice lasts {(e - s) / 1000:.3f} s but its {len(words)} word(s) make at most "
            f"{len(parts)} event(s) of {limits.max_ms / 1000:g} s; split the line or raise "
            "subtitles.max_duration_seconds"
        )
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
    blocks = [
        f"{n}\n{srt_time(start)} --> {srt_time(end)}\n{text}\n"
        for n, (start, end, text) in enumerate(events(placed, limits), 1)
    ]
    return "\n".join(blocks)


def build_srt_for(placed: Sequence[Mapping], settings: Mapping, fps: float) -> str:
    """build_srt with the `subtitles` config section (the delivery limits the QC checks)."""
    return build_srt(placed, subtitle_limits(settings, fps))


def track_srt(placed: Sequence[Mapping], texts: Mapping[str, str], settings: Mapping, fps: float) -> str:
    """One subtitle track: the placed lines that are on it (`texts`: line id -> its text in the
    track's language), each shown with that text, within the track language's limits
    (`settings`: the `subtitles` section resolved for the language, limits_for)."""
    lines = [{**cue, "text": texts[cue["line"]]} for cue in placed if cue["line"] in texts]
    return build_srt_for(lines, settings, fps)
