"""A whole stills backend in one module: a solid colour card with the shot id, for animatics
before any art exists (README: Writing a backend). Load it with
TOWER_PLUGINS=tower_card (and this folder on PYTHONPATH), then set backends.stills: card and,
optionally, its config section `card: {colour: "#rrggbb"}`."""

import zlib

from PIL import Image, ImageDraw, ImageFont

from tower_anime.backends import Backend, PlanContext, register
from tower_anime.fsutil import atomic_path

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def shape(spec: dict, where: PlanContext) -> dict:
    """The card's colour is part of the spec: a new colour re-plans exactly the cards it changes.
    Default: a colour of the scene's own, so cuts between scenes read at a glance."""
    colour = (where.config.get("card") or {}).get("colour")
    if colour is None:
        hue = zlib.crc32(spec["scene"].encode()) & 0xFFFFFF
        colour = f"#{hue:06x}"
    return {**spec, "card": {"colour": colour}}


def render(spec: dict, out_path, log=None, **runtime) -> None:
    """The card: its colour, the shot id in the middle, black or white (whichever reads)."""
    img = Image.new("RGB", (spec["width"], spec["height"]), spec["card"]["colour"])
    r, g, b = img.getpixel((0, 0))
    ink = "black" if 0.299 * r + 0.587 * g + 0.114 * b > 128 else "white"
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, max(12, spec["height"] // 8))
    draw.text((spec["width"] / 2, spec["height"] / 2), spec["shot"], fill=ink, font=font, anchor="mm")
    with atomic_path(out_path) as tmp:
        img.save(tmp, format="PNG")


register(Backend(stage="stills", name="card", render=render, shape=shape))
