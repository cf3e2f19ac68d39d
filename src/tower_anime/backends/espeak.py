"""espeak-ng: the fast formant voice, in a character's `voice.espeak_voice` (such as en-us+f3).
The synthesis is audio/voice.py (synth_espeak); the voice stage pitches and trims it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from ..audio.spoken import speech_text
from ..audio.voice import shape_embedded, synth_espeak
from . import Backend, register

# The primary language subtags of `espeak-ng --voices` (eSpeak NG 1.51) that read their own
# script. Left out: ja and hak, which say "Chinese letter" for every kanji (ja reads kana
# only), and cmn, whose dictionary as Debian ships it reads 你好 as "ni three hao three"
# (measured with `espeak-ng -q -x`); Japanese has OpenJTalk, Chinese a voice service (http).
LANGUAGES = tuple(
    """
af am an ar as az ba be bg bn bpy bs ca chr cs cv cy da de el en eo es et eu fa fi fr ga gd gn
grc gu haw he hi hr ht hu hy hyw ia id io is it jbo ka kk kl kn ko kok ku ky la lb lfn lt ltg lv
mi mk ml mr ms mt my nb nci ne nl nog om or pa pap piqd pl pt py qdb qu quc qya ro ru sd shn si
sjn sk sl smj sq sr sv sw ta te th tk tn tr tt ug uk ur uz vi yue
""".split()
)


def render(spec: dict, raw_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    voice = spec["voice"]
    synth_espeak(speech_text(spec["text"]), raw_path, voice.get("speed", 1.0), voice.get("espeak_voice", "en-us"), log)


register(
    Backend(
        stage="voice",
        name="espeak",
        render=render,
        shape=shape_embedded,
        code=("backends/espeak.py", "audio/voice.py", "audio/spoken.py"),
        seeded=False,
        own_script_only=True,
        languages=LANGUAGES,
    )
)
