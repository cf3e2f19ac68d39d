"""Temp music: one cue per scene, composed as MIDI from the scene's mood and rendered by FluidSynth.

compose_cue() is pure and deterministic for a spec (everything random comes from
random.Random(spec["seed"])): a 4/4 arrangement of a sustained pad, a bass line, a
lead (a melody or an arpeggio) and, for energetic moods, light drums, ending on a
held tonic chord. render_cue() renders it with FluidSynth, then FFmpeg levels it and
cuts it to exactly spec["duration"] seconds with a fade-in and a fade-out.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import mido
import numpy as np

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import chain, ffmpeg, fx, graph, output, run, source
from .moods import match_mood

# Searched after the caller's preferred paths: Debian's fluid-soundfont-gm, then timgm6mb-soundfont.
SOUNDFONT_PATHS = [
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
]

TICKS_PER_BEAT = 480
BEATS_PER_BAR = 4
PAD, BASS, LEAD, DRUMS = 0, 1, 2, 9  # MIDI channels; 9 is the General MIDI drum channel

PEAK_CEILING_DB = -1.5  # the rendered cue never peaks above this
MAX_GAIN_DB = 20.0  # never boost a quiet render by more than this

# Mood name -> arrangement parameters.
#   tempo: beats per minute (distinct per mood); mode: "major"/"minor"
#   pad, bass, lead: General MIDI programs (0-based)
#   lead_style: "melody" or "arpeggio"; density: lead notes per beat
#   bass_style: "whole", "half", "pulse" (quarters) or "eighths"
#   drums: None (off) or a pattern name in DRUM_PATTERNS
#   progressions: roman-numeral chord loops (one chord per bar), one picked per cue
#   level_db: target RMS level of the rendered cue in dBFS
MOODS = {
    "neutral": {
        "tempo": 96,
        "mode": "major",
        "pad": 89,
        "bass": 32,
        "lead": 0,
        "lead_style": "melody",
        "density": 1,
        "bass_style": "half",
        "drums": None,
        "progressions": ("I V vi IV", "I IV vi V", "I vi IV V"),
        "level_db": -24.0,
    },
    "calm": {
        "tempo": 72,
        "mode": "major",
        "pad": 89,
        "bass": 32,
        "lead": 46,
        "lead_style": "arpeggio",
        "density": 2,
        "bass_style": "whole",
        "drums": None,
        "progressions": ("I vi IV V", "I iii vi IV", "I IV I V"),
        "level_db": -26.0,
    },
    "melancholy": {
        "tempo": 66,
        "mode": "minor",
        "pad": 49,
        "bass": 42,
        "lead": 0,
        "lead_style": "melody",
        "density": 1,
        "bass_style": "whole",
        "drums": None,
        "progressions": ("i bVI bIII bVII", "i iv bVII bIII", "i iv bVI V"),
        "level_db": -26.0,
    },
    "triumphant": {
        "tempo": 116,
        "mode": "major",
        "pad": 49,
        "bass": 32,
        "lead": 56,
        "lead_style": "melody",
        "density": 1,
        "bass_style": "pulse",
        "drums": "backbeat",
        "progressions": ("I V vi IV", "I IV V I", "I bVII IV I"),
        "level_db": -21.0,
    },
    "mysterious": {
        "tempo": 84,
        "mode": "minor",
        "pad": 52,
        "bass": 33,
        "lead": 11,
        "lead_style": "arpeggio",
        "density": 2,
        "bass_style": "half",
        "drums": None,
        "progressions": ("i bVII bVI bVII", "i iv bVII bIII", "i bVI iv V"),
        "level_db": -26.0,
    },
    "action": {
        "tempo": 144,
        "mode": "minor",
        "pad": 61,
        "bass": 38,
        "lead": 40,
        "lead_style": "arpeggio",
        "density": 2,
        "bass_style": "eighths",
        "drums": "backbeat",
        "progressions": ("i bVI bVII i", "i bVII bVI V", "i bIII bVII iv"),
        "level_db": -21.0,
    },
    "romantic": {
        "tempo": 76,
        "mode": "major",
        "pad": 89,
        "bass": 32,
        "lead": 40,
        "lead_style": "melody",
        "density": 1,
        "bass_style": "half",
        "drums": None,
        "progressions": ("I vi ii V", "I iii IV V", "I vi IV V"),
        "level_db": -25.0,
    },
    "ominous": {
        "tempo": 60,
        "mode": "minor",
        "pad": 49,
        "bass": 43,
        "lead": 60,
        "lead_style": "melody",
        "density": 0.5,
        "bass_style": "whole",
        "drums": None,
        "progressions": ("i bII i V", "i bVI iv V", "i iv i bII"),
        "level_db": -25.0,
    },
    "hopeful": {
        "tempo": 100,
        "mode": "major",
        "pad": 49,
        "bass": 32,
        "lead": 73,
        "lead_style": "melody",
        "density": 1,
        "bass_style": "half",
        "drums": "light",
        "progressions": ("I V vi IV", "IV I V vi", "I IV vi V"),
        "level_db": -23.0,
    },
    "tense": {
        "tempo": 108,
        "mode": "minor",
        "pad": 49,
        "bass": 33,
        "lead": 45,
        "lead_style": "arpeggio",
        "density": 2,
        "bass_style": "eighths",
        "drums": "pulse",
        "progressions": ("i i bVI V", "i bII i V", "i iv i V"),
        "level_db": -23.0,
    },
}

MAJOR, MINOR, DIMINISHED = (0, 4, 7), (0, 3, 7), (0, 3, 6)
# Roman numeral -> (root in semitones above the tonic, triad intervals).
CHORDS = {
    "I": (0, MAJOR),
    "ii": (2, MINOR),
    "iii": (4, MINOR),
    "IV": (5, MAJOR),
    "V": (7, MAJOR),
    "vi": (9, MINOR),
    "i": (0, MINOR),
    "bII": (1, MAJOR),
    "bIII": (3, MAJOR),
    "iv": (5, MINOR),
    "v": (7, MINOR),
    "bVI": (8, MAJOR),
    "bVII": (10, MAJOR),
    "iidim": (2, DIMINISHED),
}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
KEY_NAMES = {
    "major": ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"),
    "minor": ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"),
}

# Melody rhythms (note lengths in beats, each bar sums to 4) by lead density.
RHYTHMS = {
    0.5: ((2, 2), (4,), (3, 1), (2, 1, 1)),
    1: ((1, 1, 1, 1), (2, 1, 1), (1, 1, 2), (1.5, 0.5, 2), (1, 0.5, 0.5, 2)),
    2: ((0.5,) * 8, (1, 0.5, 0.5, 1, 1), (0.5, 0.5, 1, 0.5, 0.5, 1), (0.5, 0.5, 0.5, 0.5, 2)),
}

KICK, RIM, SNARE, HAT, CRASH = 36, 37, 38, 42, 49  # General MIDI drum notes
_EIGHTHS = [i / 2 for i in range(8)]
# One bar of each drum pattern: (beat, note, velocity). Kept soft: this is a bed under dialogue.
DRUM_PATTERNS = {
    "backbeat": [(0, KICK, 92), (1, SNARE, 80), (2, KICK, 86), (2.5, KICK, 66), (3, SNARE, 82)]
    + [(b, HAT, 62 if b % 1 == 0 else 46) for b in _EIGHTHS],
    "pulse": [(b, KICK, 80) for b in range(4)] + [(b + 0.5, HAT, 54) for b in range(4)],
    "light": [(0, KICK, 76), (2.5, KICK, 62), (1, RIM, 64), (3, RIM, 68)]
    + [(b, HAT, 56 if b % 1 == 0 else 42) for b in _EIGHTHS],
}

# Per part: (MIDI volume CC7, pan CC10, reverb send CC91). The lead sits on top of the pad.
MIX = {PAD: (66, 64, 60), BASS: (90, 64, 25), LEAD: (96, 72, 45), DRUMS: (108, 60, 30)}
# Volume trims in dB for programs that are much softer or louder than the rest, measured
# with FluidR3_GM, so that each part keeps its place in the mix whatever the mood picks.
PROGRAM_TRIM_DB = {0: 5, 11: 6, 38: -3, 45: 2, 46: 5, 60: -3, 73: -2}


# ---------------------------------------------------------------- moods


def mood_profile(mood: str | None) -> dict[str, Any]:
    """The MOODS entry (a copy, plus "name") for free-text `mood`; unknown text gives "neutral"."""
    name = match_mood(mood) or "neutral"
    return dict(MOODS[name], name=name)


def profile_for(spec: dict) -> dict[str, Any]:
    """The spec's mood profile; when the mood text says nothing known, the cue text may decide."""
    name = match_mood(spec.get("mood")) or match_mood(spec.get("cue")) or "neutral"
    profile = dict(MOODS[name], name=name)
    if spec.get("tempo"):  # the scene's music_tempo wins over the mood's
        profile["tempo"] = spec["tempo"]
    return profile


# ---------------------------------------------------------------- form


def _duration(spec):
    """spec["duration"] in seconds, checked."""
    duration = float(spec["duration"])
    if not duration > 0:
        raise ValueError(f"music cue duration must be positive, got {spec['duration']!r}")
    return duration


def _fades(duration):
    """Fade-in and fade-out lengths in seconds, shortened for short cues."""
    return min(0.5, duration / 6), min(1.5, duration / 3)


def _form(duration, tempo):
    """(number of bars, end in beats): the last bar holds the tonic until just past `duration`.

    The last bar starts early enough that its chord sounds for about a second before
    the fade-out; it is then held until the end, which lies up to a beat past `duration`.
    """
    total = duration * tempo / 60
    room = (_fades(duration)[1] + 1.0) * tempo / 60
    last_start = max(0, math.floor((total - room) / BEATS_PER_BAR)) * BEATS_PER_BAR
    end = max(last_start + BEATS_PER_BAR, math.floor(total) + 1)
    return last_start // BEATS_PER_BAR + 1, end


def _chord_pcs(tonic, chord):
    """Pitch classes of a CHORDS entry in the key of `tonic`."""
    root, intervals = chord
    return [(tonic + root + i) % 12 for i in intervals]


def _in_range(pcs, low, high):
    """All pitches in [low, high] whose pitch class is in `pcs`, ascending."""
    return [p for p in range(low, high + 1) if p % 12 in pcs]


def _nearest(pitches, target):
    """The pitch closest to `target` (the lower one on a tie)."""
    return min(pitches, key=lambda p: (abs(p - target), p))


# ---------------------------------------------------------------- parts
# Each part is a list of notes (start beat, length in beats, pitch, velocity).


def _pad_part(chords, tonic, home, end):
    """Sustained close-position triads, each voiced nearest the previous one."""
    notes, prev = [], None
    for bar, chord in enumerate(chords):
        pcs = _chord_pcs(tonic, chord)
        voicings = _voicings(pcs, home + 7, home + 26)
        center = home + 16
        if prev is None:
            voicing = min(voicings, key=lambda v: abs(sum(v) / 3 - center))
        else:
            voicing = min(voicings, key=lambda v: sum(abs(a - b) for a, b in zip(v, prev)))
        start = bar * BEATS_PER_BAR
        length = (end if bar == len(chords) - 1 else start + BEATS_PER_BAR) - start
        notes += [(start, length, p, 58) for p in voicing]
        prev = voicing
    return notes


def _voicings(pcs, low, high):
    """Close-position voicings (all within an octave) of pitch classes `pcs` inside [low, high]."""
    out = []
    for bottom in _in_range(pcs, low, high):
        v = sorted(bottom + (pc - bottom) % 12 for pc in pcs)
        if v[-1] <= high:
            out.append(tuple(v))
    return out


def _bass_part(chords, tonic, end, style, rng):
    """Chord roots in the low register, in the mood's rhythm; the last bar holds the tonic."""
    fifth_or_root = rng.choice((7, 0))
    notes = []
    for bar, chord in enumerate(chords):
        root = 31 + (tonic + chord[0] - 31) % 12  # G1..F#2
        start = bar * BEATS_PER_BAR
        if bar == len(chords) - 1:
            notes.append((start, end - start, root, 88))
        elif style == "whole":
            notes.append((start, 4, root, 84))
        elif style == "half":
            notes += [(start, 2, root, 86), (start + 2, 2, root + fifth_or_root, 78)]
        elif style == "pulse":
            notes += [(start + b, 0.9, root, 86 if b == 0 else 76) for b in range(3)]
            notes.append((start + 3, 0.9, root + fifth_or_root, 76))
        else:  # eighths; an octave jump on the last off-beat drives into the next bar
            notes += [(start + b, 0.45, root, 88 if b % 1 == 0 else 70) for b in _EIGHTHS[:-1]]
            notes.append((start + 3.5, 0.45, root + 12, 74))
    return notes


def _lead_part(chords, tonic, home, end, profile, intro, rng):
    """The melody or arpeggio, silent for the first `intro` bars."""
    if profile["lead_style"] == "arpeggio":
        return _arpeggio_part(chords, tonic, home, end, profile["density"], intro, rng)
    return _melody_part(chords, tonic, home, end, profile, intro, rng)


def _melody_part(chords, tonic, home, end, profile, intro, rng):
    """A stepwise melody on chord tones (strong beats) and scale tones, repeating its first phrase.

    Bars are cached by their place in the 4-bar phrase and their chord, so the theme comes
    back over the same chords, with about one bar in four rewritten for variety.
    """
    low, high = home + 12, home + 31  # about an octave and a half around the upper tonic
    scale = [(tonic + s) % 12 for s in SCALES[profile["mode"]]]
    rhythms = RHYTHMS[profile["density"]]
    cache, notes = {}, []
    prev = home + 24
    for bar, chord in enumerate(chords[:-1]):
        if bar < intro:
            continue
        slot = (bar % 4, chord)
        if slot not in cache or rng.random() < 0.25:
            phrase_end = bar % 4 == 3
            cache[slot] = _melody_bar(_chord_pcs(tonic, chord), scale, prev, low, high, rhythms, phrase_end, rng)
        start = bar * BEATS_PER_BAR
        for beat, length, pitch, vel in cache[slot]:
            notes.append((start + beat, length, pitch, vel))
            prev = pitch
    last = (len(chords) - 1) * BEATS_PER_BAR
    notes.append((last, end - last, _nearest(_in_range([tonic], low, high), prev), 80))
    return notes


def _melody_bar(chord, scale, prev, low, high, rhythms, phrase_end, rng):
    """One bar of melody notes (beat in bar, length, pitch, velocity)."""
    if phrase_end:  # end phrases on a long note
        rhythms = [r for r in rhythms if r[-1] >= 2] or rhythms
    rhythm = rng.choice(rhythms)
    chord_tones = _in_range(chord, low, high)
    scale_tones = _in_range(_fit_scale(scale, chord), low, high)
    notes, beat = [], 0.0
    for i, length in enumerate(rhythm):
        strong = beat % 2 == 0
        if i > 0 and not strong and rng.random() < 0.12:
            beat += length  # a breath
            continue
        pool = chord_tones if strong else scale_tones
        near = [p for p in pool if 0 < abs(p - prev) <= (7 if strong else 4)] or pool
        # prefer small steps: weight 1/(1 + interval)
        pitch = rng.choices(near, weights=[1 / (1 + abs(p - prev)) for p in near])[0]
        accent = 10 if strong else 0
        notes.append((beat, length * 0.95, pitch, 72 + accent + rng.randint(-5, 5)))
        prev, beat = pitch, beat + length
    return notes


def _fit_scale(scale, chord):
    """The scale adjusted to a chord: chord tones outside it replace scale notes a semitone away.

    E.g. over V in a minor key the raised leading tone replaces the flat seventh.
    """
    pcs = set(scale)
    for pc in chord:
        if pc not in pcs:
            pcs -= {(pc + 1) % 12, (pc - 1) % 12}
            pcs.add(pc)
    return pcs


def _arpeggio_part(chords, tonic, home, end, density, intro, rng):
    """Chord tones broken into a steady figure; the last bar is a rolled chord held to the end."""
    step = 1 / density
    shape = rng.choice(("up", "updown", "broken"))
    notes = []
    for bar, chord in enumerate(chords):
        tones = _in_range(_chord_pcs(tonic, chord), home + 12, home + 31)
        start = bar * BEATS_PER_BAR
        if bar == len(chords) - 1:
            notes += [(start + i * step, end - start - i * step, p, 70) for i, p in enumerate(tones[:4])]
        elif bar >= intro:
            figure = _arpeggio_figure(tones, shape)
            for i in range(int(BEATS_PER_BAR * density)):
                beat = i * step
                vel = 74 if beat % 1 == 0 else 62
                pitch = figure[i % len(figure)]
                notes.append((start + beat, step * 0.9, pitch, vel + rng.randint(-4, 4)))
    return notes


def _arpeggio_figure(tones, shape):
    """The order in which an arpeggio walks the ascending chord tones."""
    if shape == "up":
        return tones
    if shape == "updown":
        return tones + tones[-2:0:-1]
    # "broken": 1 3 2 4 3 5 ...
    return [tones[i + d] for i in range(len(tones) - 2) for d in (0, 2)]


def _drum_part(bars, end, style, intro, rng):
    """The mood's drum pattern from the end of the intro, a crash every 4 bars, a final hit."""
    notes = []
    for bar in range(intro, bars - 1):
        start = bar * BEATS_PER_BAR
        if (bar - intro) % 4 == 0 and style == "backbeat":
            notes.append((start, 1, CRASH, 56))
        for beat, note, vel in DRUM_PATTERNS[style]:
            notes.append((start + beat, 0.25, note, vel + rng.randint(-4, 4)))
    last = (bars - 1) * BEATS_PER_BAR
    notes += [(last, min(2, end - last), CRASH, 60), (last, 0.25, KICK, 80)]
    return notes


# ---------------------------------------------------------------- MIDI


def _ticks(beats):
    """Beats to MIDI ticks."""
    return round(beats * TICKS_PER_BEAT)


def _ascii(text):
    """MIDI text events are Latin-1; keep names plain ASCII."""
    return str(text).encode("ascii", "replace").decode("ascii")


def _track(name, channel, program, notes, end):
    """A MIDI track for one part; note-offs sort before note-ons at the same tick."""
    volume, pan, reverb = MIX[channel]
    if channel != DRUMS:  # CC7 is ~40*log10(value/127) dB in FluidSynth
        volume = min(127, round(volume * 10 ** (PROGRAM_TRIM_DB.get(program, 0) / 40)))
    track = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name=name, time=0),
            mido.Message("program_change", channel=channel, program=program, time=0),
            mido.Message("control_change", channel=channel, control=7, value=volume, time=0),
            mido.Message("control_change", channel=channel, control=10, value=pan, time=0),
            mido.Message("control_change", channel=channel, control=91, value=reverb, time=0),
        ]
    )
    events = []
    for start, length, pitch, vel in notes:
        on, off = _ticks(start), _ticks(min(start + length, end))
        vel = max(1, min(127, vel))
        events.append((on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=vel)))
        events.append((off, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=_ticks(end) - now))
    return track


def compose_cue(spec: dict) -> mido.MidiFile:
    """The cue for `spec` as a type-1 MIDI file at least spec["duration"] seconds long (pure)."""
    duration = _duration(spec)
    profile = profile_for(spec)
    rng = random.Random(spec.get("seed") or 0)
    tonic = rng.randrange(12)
    home = 48 + tonic if tonic < 7 else 36 + tonic  # the key's register: F#2..F#3
    loop = [CHORDS[r] for r in rng.choice(profile["progressions"]).split()]
    bars, end = _form(duration, profile["tempo"])
    final = CHORDS["I" if profile["mode"] == "major" else "i"]
    chords = [loop[b % len(loop)] for b in range(bars - 1)] + [final]
    intro = 2 if bars >= 8 else 0  # long cues open with pad and bass alone

    conductor = mido.MidiTrack(
        [
            mido.MetaMessage(
                "track_name",
                name=_ascii(" ".join(str(spec[k]) for k in ("episode", "scene", "mood") if spec.get(k))),
                time=0,
            ),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(profile["tempo"]), time=0),
            mido.MetaMessage("time_signature", numerator=BEATS_PER_BAR, denominator=4, time=0),
            mido.MetaMessage("key_signature", key=KEY_NAMES[profile["mode"]][tonic], time=0),
            mido.MetaMessage("end_of_track", time=_ticks(end)),
        ]
    )
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(conductor)
    midi.tracks.append(_track("pad", PAD, profile["pad"], _pad_part(chords, tonic, home, end), end))
    midi.tracks.append(
        _track("bass", BASS, profile["bass"], _bass_part(chords, tonic, end, profile["bass_style"], rng), end)
    )
    midi.tracks.append(
        _track("lead", LEAD, profile["lead"], _lead_part(chords, tonic, home, end, profile, intro, rng), end)
    )
    if profile["drums"]:
        midi.tracks.append(_track("drums", DRUMS, 0, _drum_part(bars, end, profile["drums"], intro, rng), end))
    return midi


# ---------------------------------------------------------------- rendering


def find_soundfont(preferred: Iterable[Path | str] | None = None) -> str:
    """The first existing SoundFont of `preferred` then SOUNDFONT_PATHS; MediaError when none."""
    tried = [str(p) for p in (preferred or [])] + list(SOUNDFONT_PATHS)
    for path in tried:
        if Path(path).is_file():
            return path
    raise MediaError(f"no SoundFont found (tried: {', '.join(tried)}); run bash setup.sh (installs fluid-soundfont-gm)")


def _gain_db(raw, duration, rate, level_db):
    """Gain (dB) bringing a raw float render to `level_db` RMS, with its peak under the ceiling."""
    samples = np.fromfile(raw, dtype="<f4", count=2 * round(duration * rate))
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak == 0:
        raise MediaError(f"FluidSynth rendered silence ({raw}); is the SoundFont a valid GM bank?")
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    wanted = level_db - 20 * math.log10(rms)
    allowed = PEAK_CEILING_DB - 20 * math.log10(peak)
    return min(wanted, allowed, MAX_GAIN_DB)


def finish_args(
    raw: Path | str, out: Path | str, rate: int, gain_db: float, duration: float, fade_in: float, fade_out: float
) -> list[str]:
    """FFmpeg arguments from FluidSynth's raw float32 stereo to `out`: levelled, exactly
    `duration` long, faded, 16-bit. The render runs past `duration` (the form ends up to a
    beat later, plus the reverb tail); atrim/apad make the length exact to the sample."""
    samples = round(duration * rate)
    finished = chain(
        source(raw, f="f32le", ar=rate, ac=2).audio,
        [
            fx("volume", f"{gain_db:.2f}dB"),
            fx("atrim", end_sample=samples),
            fx("apad", whole_len=samples),
            fx("afade", t="in", st=0, d=f"{fade_in:.3f}"),
            fx("afade", t="out", st=f"{duration - fade_out:.3f}", d=f"{fade_out:.3f}"),
        ],
    )
    return graph(
        output(finished, out, ar=rate, ac=2, **{"c:a": "pcm_s16le", "fflags": "+bitexact", "flags:a": "+bitexact"})
    )


def render_cue(spec: dict, out_wav: Path | str, soundfont: Path | str, log: TextIO | None = None) -> None:
    """Render the spec's cue to `out_wav`: exactly spec["duration"] s of faded 16-bit stereo PCM.

    The file appears atomically; temporary files live in a TemporaryDirectory.
    """
    duration = _duration(spec)
    rate = int(spec.get("sample_rate", 48000))
    what = f"music cue {spec.get('episode', '?')}/{spec.get('scene', '?')}"
    if not Path(soundfont).is_file():
        raise MediaError(
            f"{what}: SoundFont {soundfont} does not exist; run bash setup.sh (installs fluid-soundfont-gm)"
        )
    samples = round(duration * rate)
    fade_in, fade_out = _fades(duration)
    with tempfile.TemporaryDirectory(prefix="tower-music-") as tmp_dir:
        mid, raw = Path(tmp_dir) / "cue.mid", Path(tmp_dir) / "cue.f32"
        compose_cue(spec).save(mid)
        # Headerless little-endian float32 stereo: unlike 16-bit it cannot clip before leveling.
        run(
            [
                "fluidsynth",
                "-ni",
                "-g",
                "0.6",
                "-r",
                rate,
                "-T",
                "raw",
                "-O",
                "float",
                "-E",
                "little",
                "-F",
                raw,
                soundfont,
                mid,
            ],
            f"FluidSynth render of {what}",
            log,
        )
        gain = _gain_db(raw, duration, rate, profile_for(spec)["level_db"])
        with atomic_path(out_wav, check=lambda p: verify_output.wav(p, samples, 2)) as tmp:
            ffmpeg(finish_args(raw, tmp, rate, gain, duration, fade_in, fade_out), f"FFmpeg finish of {what}", log)
