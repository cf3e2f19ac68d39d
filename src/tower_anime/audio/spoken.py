"""What an embedded voice is given to say of a line: its words, without the marks a voice
would read out by name. Its own module so that it is in the embedded voices' code stamps
(backends/piper.py, espeak.py, openjtalk.py) and in no other: an edit here re-renders the
offline voices, never a voice service's lines."""

from __future__ import annotations

import unicodedata

# Marks a script writes that an embedded voice would read out by name ("asterisk sigh
# asterisk", "tilde", "slightly smiling face", "right arrow", or a code point's number for ♪):
# other symbols (emoji, music notes, stars), modifier and format characters, arrows, and
# these ASCII marks. Symbols that are words are left for the voice to say: %, &, +, =, $, and
# the other symbols that name a unit or a word (°, ℃, №, ™, ㎞).
_UNSPOKEN_ASCII = set("*~_|^`\\")
_ARROWS = ((0x2190, 0x21FF), (0x27F0, 0x27FF), (0x2900, 0x297F), (0x2B00, 0x2BFF))
_WORDS = ((0x00B0, 0x00B0), (0x2100, 0x214F), (0x3300, 0x33FF))  # degree, letterlike, CJK units


def _unspoken(ch: str) -> bool:
    if ch in _UNSPOKEN_ASCII:
        return True
    point, category = ord(ch), unicodedata.category(ch)
    if any(lo <= point <= hi for lo, hi in _WORDS):
        return False
    if category in ("So", "Sk", "Cf", "Co", "Cs", "Cn"):
        return True
    return category == "Sm" and any(lo <= point <= hi for lo, hi in _ARROWS)


def speech_text(text: str) -> str:
    """The words of a line as an embedded voice is given them: the script's text without the
    marks it would read out by name (its subtitles keep them: "♪ La la la ♪")."""
    # a format character (soft hyphen, zero-width joiner) sits inside a word: dropped, not a space
    kept = (
        "" if unicodedata.category(c) == "Cf" else " " if _unspoken(c) else c
        for c in unicodedata.normalize("NFC", text)
    )
    return " ".join("".join(kept).split())
