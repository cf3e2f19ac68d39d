"""Embedded storyboard/animatic renderer: one flat-colour Pillow panel per shot, no GPU.

The panel shows a time-of-day sky, the setting and weather the location text names
(stills/places.py), the shot's characters as
simple standing figures filled with their palette colours, a camera-move cue and a
caption strip. The same spec always gives byte-identical PNG output.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont  # noqa: F401 - ImageFont: tests patch sb.ImageFont
from PIL.PngImagePlugin import PngInfo

from tower_anime import verify_output
from tower_anime.fsutil import atomic_path

from ..clips.faces import FACES_KEY
from .backgrounds import SKY_STOPS
from .captions import _draw_camera_cue, _draw_caption
from .colours import CLEAR_RADIUS, INK, _keep_clear, _palette
from .figures import _char_style, _draw_figure, _draw_name_label, _Figure, _figure_mask, _layout_figures, face_box  # noqa: F401 - _Figure, _char_style, _layout_figures: tests
from .places import draw_place
from .text import _font, _wrap  # noqa: F401 - tests use them through this module

# ---------------------------------------------------------------- public API


def render_storyboard(spec: dict, out_path: str | Path) -> None:
    """Render the storyboard panel for `spec` and write it atomically as PNG to `out_path`."""
    img, faces = _draw(spec)
    info = PngInfo()
    info.add_text(FACES_KEY, json.dumps(faces, sort_keys=True, separators=(",", ":")))
    with atomic_path(out_path, check=verify_output.image) as tmp:
        img.save(tmp, format="PNG", pnginfo=info)


def draw_storyboard(spec: dict, figures: bool = True) -> Image.Image:
    """Draw and return the storyboard panel (RGB) for one resolved shot spec.

    figures=False draws the set and chrome without the cast (the layout still consumes the
    same random numbers): a plate of the shot as a generator that lost its characters would.
    """
    return _draw(spec, figures)[0]


def _draw(spec: dict, figures: bool = True) -> tuple[Image.Image, list[dict]]:
    """The panel and where its characters' faces are (figures.face_box, in cast order)."""
    w, h = int(spec.get("width", 768)), int(spec.get("height", 512))
    tod = spec.get("time_of_day", "day")
    tod = tod if tod in SKY_STOPS else "day"
    camera = spec.get("camera") or {}
    framing = camera.get("framing", "medium")
    move = camera.get("move", "static")
    characters = [(c, _palette(c)) for c in spec.get("characters") or []]
    rng = random.Random(spec.get("seed", 0))

    img = draw_place(spec.get("location", ""), tod, w, h, rng)
    guard = [rgb for _, pal in characters for rgb in pal.values()]
    img = _keep_clear(img, guard, CLEAR_RADIUS)

    draw = ImageDraw.Draw(img)
    layout = _layout_figures(framing, len(characters), w, h, rng)
    cast = list(zip(characters, layout)) if figures else []
    for (char, pal), fig in cast:
        _draw_figure(draw, fig, pal, _char_style(char))
    with_figures = np.asarray(img).copy()

    img = _draw_camera_cue(img, move)
    draw = ImageDraw.Draw(img)
    for (char, _), fig in cast:
        _draw_name_label(draw, fig, char.get("name") or char.get("id", "?"), framing, w, h)
    img = _draw_caption(img, spec, framing, tod, move)
    ImageDraw.Draw(img).rectangle((0, 0, w - 1, h - 1), outline=INK, width=max(2, h // 200))
    if guard:
        # the chrome (labels, header, caption, cue) must not count as a character either:
        # keep everything clear except the figure pixels that no overlay touched
        untouched = (np.asarray(img) == with_figures).all(axis=-1)
        img = _keep_clear(img, guard, CLEAR_RADIUS, protect=_figure_mask(cast, w, h) & untouched)
    return img, [face_box(char, pal, fig, framing, w, h) for (char, pal), fig in cast]
