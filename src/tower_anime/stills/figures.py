"""Figures of the storyboard panels: layout across the frame, the standing character drawn
in its palette colours, and its name label."""

import math
import random
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..backends.storyboard import CAPTION_FRACTION  # the caption strip along the top
from ..clips.camera import safe_area
from .colours import INK, PALETTE_KEYS, PAPER, _mix
from .text import _fit, _font, draw_text


@dataclass
class _Figure:
    """Placement of one character: centre x, top of head, head-height unit and pose."""

    cx: float
    top: float
    u: float
    arm_out: tuple
    arm_bend: tuple
    stance: float


def _char_style(char):
    """Stable per-character look (hair style, build) derived from the character id."""
    key = zlib.crc32(str(char.get("id", "")).encode("utf-8"))
    r = random.Random(key)
    return {"hair": r.choice(["short", "long", "spiky", "bun"]), "build": r.uniform(0.9, 1.12)}


def _layout_figures(framing, n, w, h, rng):
    """Place n figures across the frame at the scale the framing asks for, standing under
    the caption strip and across the width that every camera move keeps in frame."""
    if n == 0:
        return []
    # faces stay below the held caption strip in every frame of every move (hair reaches
    # 0.25 head units above `top`)
    left, safe_top, right, _ = safe_area(w, h, h * CAPTION_FRACTION)
    sw = right - left
    figures = []
    for i in range(n):
        slot = sw / n
        if n == 1:
            cx = w * rng.uniform(0.35, 0.65)
        else:
            cx = left + slot * (i + 0.5) + rng.uniform(-0.1, 0.1) * slot
        if framing == "wide":
            u = h * 0.4 / 7.6
            feet = h * rng.uniform(0.74, 0.8)
            top = feet - 7.6 * u
        elif framing == "close":
            u = min(h * 0.95 / 2.6, sw / (n * 2.1), (h - safe_top) / 2.6)
            top = max(safe_top + 0.3 * u, h - 2.8 * u) + rng.uniform(0, h * 0.02)
        else:  # medium: head to waist fills about 60% of the height
            u = min(h * 0.6 / 3.4, sw / (n * 2.4))
            top = max(safe_top + 0.3 * u, h - 4.0 * u + rng.uniform(-h * 0.02, h * 0.02))
        arm_out = (rng.uniform(6, 22), rng.uniform(6, 22))
        arm_bend = tuple(rng.choice([0, 0, rng.uniform(15, 45)]) for _ in range(2))
        figures.append(_Figure(cx, top, u, arm_out, arm_bend, rng.uniform(0.05, 0.25)))
    return figures


def _limb(draw, pts, colour, width, ow):
    """Thick polyline with an ink outline (stroke drawn wider underneath)."""
    draw.line(pts, fill=INK, width=int(width + 2 * ow), joint="curve")
    draw.line(pts, fill=colour, width=int(width), joint="curve")


def _ellipse(draw, cx, cy, rx, ry, fill, ow):
    """Outlined ellipse given its centre and radii."""
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=fill, outline=INK, width=ow)


def _draw_figure(draw, fig, pal, style):
    """Standing figure: hair, face, torso in outfit colour, accent sleeves and trim, legs."""
    cx, u, b = fig.cx, fig.u, style["build"]
    y = lambda k: fig.top + k * u  # noqa: E731 - vertical position in head units
    ow = max(1, round(u / 40))
    legs = _mix(pal["outfit"], INK, 0.55)

    if style["hair"] == "long":  # back hair falls behind the shoulders
        draw.polygon(
            [(cx - 0.5 * u, y(0.4)), (cx + 0.5 * u, y(0.4)), (cx + 0.62 * u, y(2.3)), (cx - 0.62 * u, y(2.3))],
            fill=pal["hair"],
            outline=INK,
            width=ow,
        )
    for side in (-1, 1):
        hip, foot = (cx + side * 0.32 * u, y(3.7)), (cx + side * (0.32 + fig.stance) * u, y(7.3))
        _limb(draw, [hip, foot], legs, 0.48 * u, ow)
        _ellipse(draw, foot[0] + side * 0.08 * u, y(7.4), 0.28 * u, 0.14 * u, INK, ow)

    torso = [
        (cx - 0.82 * b * u, y(1.25)),
        (cx + 0.82 * b * u, y(1.25)),
        (cx + 0.62 * u, y(3.1)),
        (cx + 0.7 * u, y(3.95)),
        (cx - 0.7 * u, y(3.95)),
        (cx - 0.62 * u, y(3.1)),
    ]
    draw.polygon(torso, fill=pal["outfit"], outline=INK, width=ow)
    draw.rectangle((cx - 0.63 * u, y(3.0), cx + 0.63 * u, y(3.2)), fill=pal["accent"], outline=INK, width=ow)
    draw.line((cx, y(1.6), cx, y(3.9)), fill=INK, width=ow)
    collar = [(cx - 0.28 * u, y(1.25)), (cx + 0.28 * u, y(1.25)), (cx, y(1.7))]
    draw.polygon(collar, fill=pal["accent"], outline=INK, width=ow)

    for side, out, bend in ((-1, fig.arm_out[0], fig.arm_bend[0]), (1, fig.arm_out[1], fig.arm_bend[1])):
        shoulder = (cx + side * 0.78 * b * u, y(1.45))
        a1 = math.radians(out)
        elbow = (shoulder[0] + side * math.sin(a1) * 1.25 * u, shoulder[1] + math.cos(a1) * 1.25 * u)
        a2 = math.radians(out - bend * 1.6)  # a bent forearm swings in towards the body
        hand = (elbow[0] + side * math.sin(a2) * 1.1 * u, elbow[1] + math.cos(a2) * 1.1 * u)
        _limb(draw, [shoulder, elbow, hand], pal["accent"], 0.3 * u, ow)
        _ellipse(draw, shoulder[0], shoulder[1], 0.16 * u, 0.16 * u, pal["accent"], ow)
        _ellipse(draw, hand[0], hand[1], 0.17 * u, 0.19 * u, pal["skin"], ow)

    draw.rectangle((cx - 0.13 * u, y(0.9), cx + 0.13 * u, y(1.3)), fill=pal["skin"], outline=INK, width=ow)
    _draw_head(draw, cx, y, u, pal, style, ow)


def _draw_head(draw, cx, y, u, pal, style, ow):
    """Head with hair cap, bangs, optional spikes or bun, and simple anime eyes."""
    hair = pal["hair"]
    if style["hair"] == "bun":
        _ellipse(draw, cx, y(-0.05), 0.24 * u, 0.2 * u, hair, ow)
    if style["hair"] == "spiky":
        spikes = [(cx + k * 0.16 * u, y(-0.25 + 0.1 * (k % 2))) for k in range(-3, 4)]
        draw.polygon([(cx - 0.5 * u, y(0.4))] + spikes + [(cx + 0.5 * u, y(0.4))], fill=hair, outline=INK, width=ow)
    _ellipse(draw, cx, y(0.42), 0.5 * u, 0.45 * u, hair, ow)  # back of the hair
    _ellipse(draw, cx, y(0.58), 0.41 * u, 0.46 * u, pal["skin"], ow)
    draw.chord((cx - 0.5 * u, y(-0.03), cx + 0.5 * u, y(0.87)), 180, 360, fill=hair)
    teeth = [(cx - 0.47 * u, y(0.42))]
    for k in range(5):  # zig-zag fringe across the forehead
        x0 = cx - 0.47 * u + 0.94 * u * k / 5
        teeth += [(x0 + 0.094 * u, y(0.6 if k % 2 else 0.55)), (x0 + 0.188 * u, y(0.42))]
    draw.polygon(teeth, fill=hair)
    ew, eh = 0.07 * u, 0.1 * u
    for side in (-1, 1):
        ex, ey = cx + side * 0.17 * u, y(0.7)
        draw.ellipse((ex - ew, ey - eh, ex + ew, ey + eh), fill=INK)
        hl = max(1, ew * 0.45)
        draw.ellipse(
            (ex - ew * 0.2 - hl / 2, ey - eh * 0.5 - hl / 2, ex - ew * 0.2 + hl / 2, ey - eh * 0.5 + hl / 2),
            fill=(255, 255, 255),
        )
    draw.line((cx - 0.08 * u, y(0.9), cx + 0.08 * u, y(0.9)), fill=INK, width=ow)


def _draw_name_label(draw, fig, name, framing, w, h):
    """Name tag under the feet (wide) or along the bottom edge (medium/close), no wider
    than the part of the frame around the figure that camera moves keep in view."""
    box, text, font, pad = _name_label(fig, name, framing, w, h)
    draw.rounded_rectangle(box, radius=pad, fill=PAPER, outline=INK, width=1)
    draw_text(draw, (fig.cx, (box[1] + box[3]) / 2), text, font, INK, anchor="mm")


def _name_label(fig, name, framing, w, h):
    """The name tag's box, fitted text, font (text._font: a mixed name measures and draws
    run by run) and padding (see _draw_name_label)."""
    font = _font(h * 0.028, bold=True, text=name)
    pad = max(3, h // 120)
    left, _, right, _ = safe_area(w, h)
    room = 2 * (min(fig.cx - left, right - fig.cx) - pad)
    text = _fit(name, font, max(min(max(fig.u * 3, h * 0.3), room), h * 0.1))
    tw = font.getlength(text)
    if framing == "wide":
        y0 = fig.top + 7.6 * fig.u + pad
    else:
        y0 = h - h * 0.028 - 3 * pad
    box = (fig.cx - tw / 2 - pad, y0, fig.cx + tw / 2 + pad, y0 + h * 0.028 + 2 * pad)
    return box, text, font, pad


def _figure_mask(cast, w, h):
    """Boolean mask of the pixels the figures cover (drawn again, in white, on black)."""
    canvas = Image.new("RGB", (w, h))
    white = {k: (255, 255, 255) for k in PALETTE_KEYS}
    draw = ImageDraw.Draw(canvas)
    for (char, _), fig in cast:
        _draw_figure(draw, fig, white, _char_style(char))
    return np.asarray(canvas).any(axis=-1)


def face_box(char: dict, pal: dict, fig: _Figure, framing: str, w: int, h: int) -> dict:
    """Where one drawn character's face features sit (pixels): {id, u, skin, mouth: (cx, cy,
    half width), eyes: [(cx, cy, rx, ry)] * 2, head and label: (left, top, right, bottom)}, as
    _draw_head and _draw_name_label draw them; the camera clip redraws mouths and eyes there
    (clips/faces.py), and camera moves keep the head and label in frame."""
    u, top = fig.u, fig.top  # head units, as in _draw_figure and _draw_head
    label = _name_label(fig, char.get("name") or char.get("id", "?"), framing, w, h)[0]
    return {
        "head": [round(v, 3) for v in (fig.cx - 0.5 * u, top - 0.25 * u, fig.cx + 0.5 * u, top + 1.3 * u)],
        "label": [round(v, 3) for v in label],
        "id": char.get("id", "?"),
        "u": round(u, 3),
        "skin": list(pal["skin"]),
        "mouth": [round(v, 3) for v in (fig.cx, top + 0.9 * u, 0.08 * u)],
        "eyes": [
            [round(v, 3) for v in (fig.cx + side * 0.17 * u, top + 0.7 * u, 0.07 * u, 0.1 * u)] for side in (-1, 1)
        ],
    }
