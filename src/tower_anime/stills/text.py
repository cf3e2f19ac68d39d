"""Fonts and text fitting for the storyboard panels: the font that draws a text (one face with
every glyph, else a run per face: stills/fonts.py), drawing it (draw_text), ellipsis and greedy
wrap at the breaks lang.break_units allows (between words, and in full-width text between
characters, with the kinsoku rules: the same breaks as the subtitle rows)."""

from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from ..lang import break_units
from .fonts import BOLD, REGULAR, face_for, runs

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


def _face_font(face, size, bold):
    """The Pillow font of one face of the chain (the chain's first face from FONT_PATH or
    BOLD_FONT_PATH), at `size` pixels."""
    if face is None or face == (BOLD if bold else REGULAR)[0]:
        return _load_font(BOLD_FONT_PATH if bold else FONT_PATH, size)
    return _load_font(face.path, size, face.index)


def _metrics(font):
    """(ascent, descent) in pixels, descent positive (Pillow's getmetrics)."""
    if hasattr(font, "getmetrics"):
        return font.getmetrics()
    left, top, right, bottom = font.getbbox("Ag")  # the bitmap built-in font has no metrics
    return -top, bottom


class RunFont:
    """A text no single face covers, drawn a run per face (fonts.runs): measures like a Pillow
    font (getlength, getmetrics) and is drawn with draw_text. Every run stands on one baseline,
    under an ascender line (and over a descender line) that is the furthest of the faces the
    text needs, so every line of a wrapped text keeps the same baseline whatever its runs."""

    def __init__(self, size, bold, text):
        self.size, self.bold = size, bold
        used = [self._font(face) for _, face in runs(text, bold)]
        metrics = [_metrics(font) for font in used]
        self._ascent = max(a for a, _ in metrics)
        self._descent = max(d for _, d in metrics)

    def _font(self, face):
        return _face_font(face, self.size, self.bold)

    def runs(self, text):
        """[(run, Pillow font)] for `text`, in order."""
        return [(run, self._font(face)) for run, face in runs(text, self.bold)]

    def getlength(self, text):
        return sum(font.getlength(run) for run, font in self.runs(text))

    def getmetrics(self):
        return self._ascent, self._descent

    def draw(self, draw, xy, text, fill, anchor="la"):
        """Draw `text` run by run at `xy`; anchor: horizontal l, m or r and vertical a, m, s or d,
        as Pillow's (the middle is halfway between the ascender and the descender line)."""
        horizontal, vertical = anchor
        if horizontal not in "lmr" or vertical not in "amsd":
            raise ValueError(f"anchor {anchor!r}: runs of several fonts are drawn at l, m or r and a, m, s or d")
        pieces = self.runs(text)
        width = sum(font.getlength(run) for run, font in pieces)
        x = xy[0] - {"l": 0, "m": width / 2, "r": width}[horizontal]
        ascent, descent = self._ascent, self._descent
        baseline = xy[1] + {"a": ascent, "m": (ascent - descent) / 2, "s": 0, "d": -descent}[vertical]
        for run, font in pieces:
            draw.text((x, baseline), run, font=font, fill=fill, anchor="ls")
            x += font.getlength(run)


def _font(size, bold=False, text=""):
    """Regular or bold UI font at `size` pixels that has a glyph for every character of `text`
    (DejaVu Sans, else Noto Sans CJK: stills/fonts.py; validation refused any text neither has):
    a Pillow font when one face has them all, else a RunFont that draws each run in a face that
    has it. Draw what it measures with draw_text."""
    size = max(8, int(size))
    face = face_for(text, bold) if text else None
    if face is None and len({f for _, f in runs(text, bold) if f is not None}) > 1:
        return RunFont(size, bold, text)
    return _face_font(face, size, bold)


def draw_text(draw, xy, text, font, fill, anchor="la"):
    """Draw `text` with a font from _font at `xy` (Pillow's anchors; a RunFont takes l, m, r
    with a, m, s, d): one Pillow call when one face draws it all."""
    if isinstance(font, RunFont):
        font.draw(draw, xy, text, fill, anchor)
    else:
        draw.text(xy, text, font=font, fill=fill, anchor=anchor)


def _fit(text, font, max_w, ellipsis="…"):
    """Cut `text` to fit `max_w` pixels, ending it with an ellipsis when cut."""
    if font.getlength(text) <= max_w:
        return text
    while text and font.getlength(text.rstrip() + ellipsis) > max_w:
        text = text[:-1]
    return text.rstrip() + ellipsis


def _wrap(text, font, max_w, max_lines):
    """Greedy wrap into at most `max_lines` lines, breaking only where lang.break_units allows
    (spaces kept as written, no line starting with 、。ー or a small kana); the last line is
    ellipsised if cut."""
    units, lines, line = break_units(text), [], ""
    for i, unit in enumerate(units):
        if not line or font.getlength((line + unit).rstrip()) <= max_w:
            line += unit
            continue
        lines.append(line)
        line = unit
        if len(lines) == max_lines:  # out of room: the last line shows the cut
            lines[-1] += "".join(units[i:])
            break
    else:
        if line:
            lines.append(line)
    return [_fit(ln.rstrip(), font, max_w) for ln in lines]
