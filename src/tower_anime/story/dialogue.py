"""Plan-time dialogue fitting: how long each shot must be to hold its own lines.

Shot lengths must be known when the workflow is planned, before any voice exists, so each
line's length is estimated from its text and the voice engine's measured speaking rate
(`voice.speaking_rate`). A line belongs to its shot: it starts inside the shot's own span
(after a crossfade into the shot, before a crossfade out of it) and must end there too.
What happens when the lines do not fit is `voice.fit_lines`:

- grow: the shot grows to hold them (the animatic convention: picture follows the voice);
- speed_up_then_grow: the lines are planned up to `voice.max_tempo` faster, and the shot
  grows only for what is still missing;
- stop: the story is refused before any job, naming the line and what each option would do.

After synthesis the measured lengths decide (episode/placement.py); the estimates are
deliberately on the long side so that a grown shot holds the real voice.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..audio.spoken import speech_text
from ..episode.placement import END_GUARD
from ..episode.subtitles import reading_seconds

if TYPE_CHECKING:
    from ..episode.subtitles import Limits

FIT_MODES = ("grow", "speed_up_then_grow", "stop")


def speaking_rate(engine: str, voice_cfg: dict, lang: str | None = None) -> dict:
    """{chars_per_second, line_overhead} of a voice engine in a language (its `languages`
    entry, else its own rate; a plugin engine without an entry is estimated like the http service)."""
    rates = voice_cfg["speaking_rate"]
    rate = rates.get(engine) or rates["http"]
    return (rate.get("languages") or {}).get(lang) or rate


_NUMBER = re.compile(r"[0-9]+")
_LONGEST_NUMBER = 15  # digits read as one number; a longer run is read digit by digit


def _number_words(digits: str, lang: str | None) -> str:
    from num2words import num2words

    if len(digits) > _LONGEST_NUMBER:
        return " ".join(_number_words(d, lang) for d in digits)
    for code in dict.fromkeys([lang, "en"]):
        if code:
            try:
                return num2words(int(digits), lang=code)
            except (NotImplementedError, OverflowError, ValueError):
                continue
    return digits


def spoken_form(text: str, lang: str | None = None) -> str:
    """The line as its voice says it, for measuring its length: without the marks a voice
    does not say (audio.spoken.speech_text) and with its numbers in words (num2words, in the line's
    language). Counted as written, "1984, 2001, 2049, 3000." was 23 characters, a 1.8 s
    estimate for 5.3 s of speech."""
    text = speech_text(text)
    return _NUMBER.sub(lambda m: _number_words(m.group(), lang), text) if _NUMBER.search(text) else text


def estimate_speech(text: str, speed: float, engine: str, voice_cfg: dict, lang: str | None = None) -> float:
    """A line's speaking time in seconds, guessed from its text before any voice exists."""
    rate = speaking_rate(engine, voice_cfg, lang)
    chars = len(" ".join(spoken_form(text, lang).split()))
    return rate["line_overhead"] + chars / (rate["chars_per_second"] * speed)


@dataclass
class ShotFit:
    """What the plan knows about one shot's dialogue before any voice exists."""

    scripted_frames: int
    frames: int  # after voice.fit_lines
    needed_seconds: float  # the shot length its lines need at normal speed
    needed_fast_seconds: float  # ... at voice.max_tempo
    earliest: list  # per line: earliest start, seconds from the shot's start (None: after the previous)
    fps: int
    read_slower: list = None  # (line index, speech s, reading s) where reading its subtitles takes longer
    # (line index, its `at`, where it starts): an `at` inside the crossfade into the shot
    # waits until the shot is on screen alone
    moved_at: list = None

    @property
    def overflows(self) -> bool:
        """The lines do not fit the scripted length at normal speed."""
        return self.needed_seconds > self.scripted_frames / self.fps + 1e-9


def _layout(lines, speeches, readings, earliest, own_start, tempo, gap):
    """End (seconds from the shot's start) of the last line's room when each line takes
    max(speech / tempo, reading time) and waits for the previous one plus `gap`."""
    end = None
    for line_earliest, speech, reading in zip(earliest, speeches, readings):
        start = line_earliest if line_earliest is not None else own_start
        if end is not None:
            start = max(start, end + gap)
        end = start + max(speech / tempo, reading)
    return end


def fit_shot(
    shot: dict,
    scripted_frames: int,
    fps: int,
    in_overlap: int,
    out_reserve: int,
    engines: list[str],
    speeds: list[float],
    voice_cfg: dict,
    subtitle_limits: Limits,
    langs: list | None = None,
    readings: list | None = None,
) -> ShotFit:
    """The frames a shot gets once its lines are fitted by voice.fit_lines.

    in_overlap: frames of a crossfade into the shot; out_reserve: frames a crossfade out of it
    may take (both belong to two shots, so no line is placed there); subtitle_limits: the
    writer's Limits (episode.subtitles.subtitle_limits), whose reading time a line also needs;
    langs: each line's language (for its engine's rate there); readings: each line's reading
    time over all its subtitle tracks, when the plan has worked it out (else from the limits)."""
    lines = shot.get("dialogue", [])
    own_start = in_overlap / fps
    earliest, moved_at = [], []
    for i, line in enumerate(lines):
        if "at" in line:
            earliest.append(max(float(line["at"]), own_start))
            if float(line["at"]) < own_start:
                moved_at.append((i, float(line["at"]), own_start))
        elif i == 0:
            earliest.append(own_start + voice_cfg["first_line_at"])
        else:
            earliest.append(None)
    if not lines:
        return ShotFit(scripted_frames, scripted_frames, 0.0, 0.0, earliest, fps)
    langs = langs or [None] * len(lines)
    speeches = [
        estimate_speech(line["text"], s, e, voice_cfg, g) for line, s, e, g in zip(lines, speeds, engines, langs)
    ]
    if readings is None:
        readings = [reading_seconds(line["text"], subtitle_limits) for line in lines]
    # at least the placement's guard: a plan that left less, with its lines at voice.max_tempo,
    # would be refused by the placement after every render
    tail = max(voice_cfg["shot_tail"], END_GUARD) + out_reserve / fps
    slow = _layout(lines, speeches, readings, earliest, own_start, 1.0, voice_cfg["gap"]) + tail
    fast = _layout(lines, speeches, readings, earliest, own_start, voice_cfg["max_tempo"], voice_cfg["gap"]) + tail
    mode = voice_cfg["fit_lines"]
    frames = scripted_frames
    if mode == "grow":
        frames = max(frames, math.ceil(slow * fps - 1e-6))
    elif mode == "speed_up_then_grow":
        frames = max(frames, math.ceil(fast * fps - 1e-6))
    # named only where the two differ as printed (0.83 s against 0.83 s read as a contradiction)
    slower = [(i, sp, rd) for i, (sp, rd) in enumerate(zip(speeches, readings)) if round(rd, 2) > round(sp, 2)]
    return ShotFit(scripted_frames, frames, slow, fast, earliest, fps, slower, moved_at)


def overflow_message(shot_id: str, fit: ShotFit, fps: int, mode: str) -> str:
    """One line naming a shot whose lines do not fit its scripted length, what was done and
    what each other option would do."""
    have = fit.scripted_frames / fps
    grow = math.ceil(fit.needed_seconds * fps - 1e-6) / fps
    fast = max(have, math.ceil(fit.needed_fast_seconds * fps - 1e-6) / fps)
    options = {
        "grow": f"grow it to {grow:.2f} s (voice.fit_lines: grow)",
        "speed_up_then_grow": f"speed its lines up and grow it to {fast:.2f} s (voice.fit_lines: speed_up_then_grow)",
        "stop": "refuse it (voice.fit_lines: stop)",
    }
    done = {
        "grow": f"grown to {grow:.2f} s",
        "speed_up_then_grow": f"lines sped up, shot grown to {fast:.2f} s",
        "stop": "refused",
    }[mode]
    others = [text for name, text in options.items() if name != mode]
    reading = "".join(
        f"; line {i + 1} is spoken in ~{sp:.2f} s but its subtitles need {rd:.2f} s to be read "
        "(speech faster than subtitles.max_chars_per_second: shorten the line or raise the limit)"
        for i, sp, rd in fit.read_slower or ()
    )
    return (
        f"shot {shot_id} needs ~{fit.needed_seconds:.2f} s for its dialogue in {have:.2f} s: {done} "
        f"(voice.fit_lines: {mode}); or {', '.join(others)}; or give it more frames, shorten the lines, "
        f"or split the shot{reading}"
    )
