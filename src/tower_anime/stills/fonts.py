"""The fonts the storyboard draws text with, and which one draws a given text.

DejaVu Sans first (Latin, Greek, Cyrillic: every panel drawn before CJK support looks the
same), then Noto Sans CJK JP (Debian's fonts-noto-cjk: kana, kanji, hangul, and Latin too).
A text one font covers is drawn whole in the first font that has a glyph for each of its
characters (face_for: a Japanese line with English words in it is all Noto). A text no single
font covers ("Gergő 健": Noto has no ő, DejaVu no kanji) is cut into runs (runs()), each in
the first font that has its characters, and stills/text.py measures and draws the runs side
by side on one baseline, so no text is drawn as empty boxes. check_text() finds the
characters no font has, which validation refuses before any job (backends/storyboard.py)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@dataclass(frozen=True)
class Face:
    name: str
    path: str
    index: int = 0  # the face inside a font collection (.ttc)


REGULAR = (
    Face("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Face("Noto Sans CJK JP", "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
)
BOLD = (
    Face("DejaVu Sans Bold", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    Face("Noto Sans CJK JP Bold", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 0),
)


@cache
def _cmap(face: Face) -> frozenset:
    """The code points the face has glyphs for (empty when the file is missing)."""
    if not Path(face.path).is_file():
        return frozenset()
    from fontTools.ttLib import TTFont

    with TTFont(face.path, fontNumber=face.index, lazy=True) as font:
        return frozenset(font.getBestCmap() or ())


def _needed(text: str) -> set[int]:
    # white space is laid out, not drawn
    return {ord(c) for c in text if not c.isspace()}


def face_for(text: str, bold: bool = False) -> Face | None:
    """The first face of the chain that has every character of `text`, or None."""
    needed = _needed(text)
    for face in BOLD if bold else REGULAR:
        if needed <= _cmap(face):
            return face
    return None


def _first_face(ch: str, chain: tuple[Face, ...]) -> Face | None:
    return next((face for face in chain if ord(ch) in _cmap(face)), None)


def runs(text: str, bold: bool = False) -> list[tuple[str, Face | None]]:
    """`text` cut into runs, each with the first face of the chain that has its characters, in
    order ("".join of the runs is `text`). White space stays in the run it is in, and so does a
    combining mark its face has or a character no face has (validation refuses those); a text
    with no drawable character is one run with face None."""
    chain = BOLD if bold else REGULAR
    out: list[tuple[str, Face | None]] = []
    cur, face = "", None
    for ch in text:
        if not ch.isspace():
            stays = face is not None and unicodedata.category(ch).startswith("M") and ord(ch) in _cmap(face)
            first = None if stays else _first_face(ch, chain)
            if first is not None and first != face:
                if cur and face is not None:
                    out.append((cur, face))
                    cur = ""
                face = first
        cur += ch
    if cur:
        out.append((cur, face))
    return out


def check_text(text: str, bold: bool = False) -> list[str]:
    """The characters of `text` that no face of the chain has ([] when it can be drawn)."""
    if face_for(text, bold) is not None:
        return []
    have = frozenset().union(*(_cmap(f) for f in (BOLD if bold else REGULAR)))
    return sorted({c for c in text if not c.isspace() and ord(c) not in have}, key=text.index)


def names(bold: bool = False) -> list[str]:
    return [f.name for f in (BOLD if bold else REGULAR)]
