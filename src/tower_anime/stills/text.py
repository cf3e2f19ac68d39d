"""Fonts and text fitting for the storyboard panels: a face with every glyph, ellipsis and
greedy word wrap (Japanese wraps between any two characters)."""

import re
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from ..lang import is_wide
from .fonts import REGULAR, face_for

FONT_PATH, BOLD_FONT_PATH = REGULAR[0].path, "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


@lru_cache(maxsize=64)
def _load_font(path, size, index=0):
    """TrueType font at `path`, or Pillow's built-in font when the file is missing or unreadable."""
    if Path(path).is_file():
        try:
            return ImageFont.truetype(path, size, index=index)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def _font(size, bold=False, text=""):
    """Regular or bold UI font at `size` pixels that has a glyph for every character of `text`
    (DejaVu Sans, else Noto Sans CJK: stills/fonts.py; validation refused any text neither has)."""
    face = face_for(text, bold) if text else None
    if face is None or face.path in (FONT_PATH, BOLD_FONT_PATH):
        return _load_font(BOLD_FONT_PATH if bold else FONT_PATH, max(8, int(size)))
    return _load_font(face.path, max(8, int(size)), face.index)


def _fit(text, font, max_w, ellipsis="…"):
    """Cut `text` to fit `max_w` pixels, ending it with an ellipsis when cut."""
    if font.getlength(text) <= max_w:
        return text
    while text and font.getlength(text.rstrip() + ellipsis) > max_w:
        text = text[:-1]
    return text.rstrip() + ellipsis


def _join(a, b):
    """Two pieces of a text side by side: a space between words, none in full-width text."""
    return a + b if a and b and (is_wide(a[-1]) or is_wide(b[0])) else f"{a} {b}".strip()


def _wrap(text, font, max_w, max_lines):
    """Greedy word wrap into at most `max_lines` lines (Japanese wraps between any two
    characters); the last line is ellipsised if cut."""
    words, lines, line = [w for w in re.split(r"\s+|(?=[^\x00-\u2fff])|(?<=[^\x00-\u2fff])", text) if w], [], ""
    for i, word in enumerate(words):
        trial = _join(line, word)
        if not line or font.getlength(trial) <= max_w:
            line = trial
            continue
        lines.append(line)
        line = word
        if len(lines) == max_lines:  # out of room: the last line shows the cut
            rest = lines[-1]
            for w in words[i:]:
                rest = _join(rest, w)
            lines[-1] = _fit(rest, font, max_w)
            return lines
    if line:
        lines.append(line)
    return [_fit(ln, font, max_w) for ln in lines]
