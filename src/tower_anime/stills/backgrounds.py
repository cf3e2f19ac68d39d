"""Backgrounds of the storyboard panels: the time-of-day sky and the set the location text
names: the pieces (hills, skyline, road, water, market, trees, interior) that
stills/places.py composes into a setting."""

import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .colours import INK, _lit, _mix

SKY_STOPS = {
    "dawn": [(70, 70, 130), (235, 140, 160), (255, 190, 130)],
    "day": [(60, 125, 205), (120, 175, 230), (200, 225, 245)],
    "dusk": [(40, 25, 80), (150, 60, 120), (250, 140, 70)],
    "night": [(5, 7, 22), (12, 18, 45), (30, 38, 80)],
}
NEON = [(255, 70, 170), (70, 230, 255), (190, 90, 255), (255, 200, 60)]


@dataclass
class _Set:
    """Shared geometry and state for drawing the background of one panel."""

    img: Image.Image
    draw: ImageDraw.ImageDraw
    rng: random.Random
    w: int
    h: int
    horizon: int
    tod: str
    vp_x: int


def _sky_colour(tod, t):
    """Sky colour at fraction t (0 = top, 1 = horizon)."""
    stops = np.array(SKY_STOPS[tod], dtype=float)
    pos = np.linspace(0, 1, len(stops))
    return tuple(int(round(np.interp(t, pos, stops[:, k]))) for k in range(3))


def _sky(w, h, horizon, tod):
    """Vertical three-stop sky gradient covering the whole panel."""
    stops = np.array(SKY_STOPS[tod], dtype=float)
    t = np.clip(np.arange(h) / max(horizon, 1), 0, 1)
    pos = np.linspace(0, 1, len(stops))
    rows = np.stack([np.interp(t, pos, stops[:, k]) for k in range(3)], axis=-1)
    arr = np.broadcast_to(rows[:, None, :], (h, w, 3)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(arr))


def _draw_celestial(s):
    """Stars and moon at night, a sun and clouds otherwise."""
    d, rng, w, hz = s.draw, s.rng, s.w, s.horizon
    if s.tod == "night":
        for _ in range(rng.randint(90, 150)):
            x, y = rng.randrange(w), rng.randrange(max(1, int(hz * 0.9)))
            v = rng.randint(150, 255)
            r = 1 if rng.random() < 0.85 else 2
            d.rectangle((x, y, x + r - 1, y + r - 1), fill=(v, v, min(255, v + 20)))
        r = s.h * 0.05
        mx, my = w * rng.uniform(0.15, 0.85), hz * rng.uniform(0.15, 0.4)
        crescent = Image.new("L", s.img.size, 0)
        md = ImageDraw.Draw(crescent)
        md.ellipse((mx - r, my - r, mx + r, my + r), fill=255)
        md.ellipse((mx - r * 0.6, my - r * 1.1, mx + r * 1.4, my + r * 0.9), fill=0)
        s.img.paste((235, 235, 210), (0, 0), crescent)
        return
    if s.tod == "day":
        r, sy, col = s.h * 0.045, hz * rng.uniform(0.15, 0.35), (255, 246, 205)
    else:
        r, sy, col = s.h * 0.09, hz * rng.uniform(0.85, 0.97), (255, 220, 170) if s.tod == "dawn" else (255, 150, 80)
    sx = w * rng.uniform(0.15, 0.85)
    d.ellipse((sx - r, sy - r, sx + r, sy + r), fill=col)
    cloud = {"day": (245, 246, 250), "dawn": (255, 205, 205), "dusk": (200, 110, 140)}[s.tod]
    for _ in range(rng.randint(2, 4)):
        cx, cy = w * rng.uniform(0, 1), hz * rng.uniform(0.1, 0.6)
        for _ in range(rng.randint(3, 6)):
            rx, ry = s.h * rng.uniform(0.03, 0.07), s.h * rng.uniform(0.015, 0.03)
            ox, oy = rng.uniform(-2.5, 2.5) * rx, rng.uniform(-0.5, 0.3) * ry
            d.ellipse((cx + ox - rx, cy + oy - ry, cx + ox + rx, cy + oy + ry), fill=cloud)


def _draw_hills(s):
    """Two layers of rolling hills on the horizon."""
    for layer, (base, lift) in enumerate((((120, 150, 140), 0.12), ((95, 135, 85), 0.05))):
        col = _lit(base, s.tod)
        phase, freq = s.rng.uniform(0, 6.3), s.rng.uniform(1.5, 3.5) / s.w
        amp = s.h * lift
        pts = [
            (
                x,
                s.horizon
                - amp * (0.6 + 0.4 * math.sin(phase + x * freq * 6.28))
                - amp * 0.3 * math.sin(x * freq * 17 + layer),
            )
            for x in range(0, s.w + 16, 16)
        ]
        s.draw.polygon(pts + [(s.w, s.horizon + 2), (0, s.horizon + 2)], fill=col)


def _draw_skyline(s, tall):
    """Far and near rows of building silhouettes with lit windows (neon signs at night)."""
    d, rng = s.draw, s.rng
    far = _mix(_lit((120, 125, 145), s.tod), _sky_colour(s.tod, 0.9), 0.45)
    near = _lit((78, 82, 100), s.tod)
    lit_p = {"night": 0.4, "dusk": 0.3, "dawn": 0.12, "day": 0.0}[s.tod]
    win_on = {"night": (255, 214, 130), "dusk": (255, 190, 100), "dawn": (255, 210, 170), "day": (175, 200, 225)}[s.tod]
    scale = 1.0 if tall else 0.55
    for col, hmin, hmax, windows in ((far, 0.12, 0.3, False), (near, 0.18, 0.45, True)):
        x = -rng.randint(0, 40)
        while x < s.w:
            bw = int(s.w * rng.uniform(0.06, 0.13))
            top = s.horizon - int(s.h * rng.uniform(hmin, hmax) * scale)
            d.rectangle((x, top, x + bw, s.horizon), fill=col)
            if windows:
                _draw_windows(s, (x, top, x + bw, s.horizon), win_on, lit_p)
                if s.tod == "night" and rng.random() < 0.35:
                    _draw_neon_sign(s, x, top, bw)
            x += bw + rng.randint(0, int(s.w * 0.02))


def _draw_windows(s, box, colour, lit_p):
    """Grid of windows in a building box: all glinting by day, each lit with probability lit_p otherwise."""
    x0, y0, x1, y1 = box
    step_x, step_y = max(6, s.w // 80), max(8, s.h // 45)
    ww, wh = max(2, step_x // 2), max(3, step_y // 2)
    for y in range(y0 + step_y // 2, y1 - step_y, step_y):
        for x in range(x0 + step_x // 2, x1 - ww - 2, step_x):
            if s.rng.random() < lit_p or s.tod == "day":
                s.draw.rectangle((x, y, x + ww, y + wh), fill=colour)


def _draw_neon_sign(s, x, top, bw):
    """A vertical neon sign hanging on a building face."""
    col = s.rng.choice(NEON)
    sw = max(6, bw // 5)
    sx = x + s.rng.randint(2, max(3, bw - sw - 2))
    sy = top + s.rng.randint(4, max(5, (s.horizon - top) // 3))
    sh = int(s.h * s.rng.uniform(0.06, 0.12))
    s.draw.rectangle((sx - 2, sy - 2, sx + sw + 2, sy + sh + 2), fill=_mix(col, (20, 20, 40), 0.6))
    s.draw.rectangle((sx, sy, sx + sw, sy + sh), fill=col, outline=(255, 255, 255))


def _draw_ground(s, paved):
    """Ground plane below the horizon with faint perspective guide lines."""
    base = _lit((112, 112, 118) if paved else (104, 146, 78), s.tod)
    s.draw.rectangle((0, s.horizon, s.w, s.h), fill=base)
    guide = _mix(base, (0, 0, 0), 0.15)
    for i in range(-6, 7):
        s.draw.line((s.vp_x, s.horizon, s.vp_x + i * s.w * 0.22, s.h), fill=guide, width=1)
    for k in range(1, 6):  # depth lines get closer together towards the horizon
        y = s.horizon + (s.h - s.horizon) * (k / 6) ** 1.8
        s.draw.line((0, y, s.w, y), fill=guide, width=1)


def _draw_water(s):
    """A band of water at the horizon with shimmering reflection strokes."""
    col = _lit((70, 120, 170), s.tod)
    bottom = s.horizon + int(s.h * s.rng.uniform(0.08, 0.16))
    s.draw.rectangle((0, s.horizon, s.w, bottom), fill=col)
    hi = _mix(col, _sky_colour(s.tod, 1.0), 0.6)
    for _ in range(40):
        x, y = s.rng.uniform(0, s.w), s.rng.uniform(s.horizon + 2, bottom - 2)
        s.draw.line((x, y, x + s.rng.uniform(8, 30), y), fill=hi, width=1)


def _draw_road(s):
    """A road running to the vanishing point with edge lines and dashed centre markings."""
    d, vx, hz, h = s.draw, s.vp_x, s.horizon, s.h
    asphalt = _lit((70, 70, 76), s.tod)
    half = s.w * s.rng.uniform(0.45, 0.7)
    d.polygon([(vx - 4, hz), (vx + 4, hz), (vx + half, h), (vx - half, h)], fill=asphalt)
    line = _lit((235, 235, 225), s.tod)
    edge = max(2, h // 170)
    for side in (-1, 1):
        d.line((vx + side * 3, hz, vx + side * half * 0.92, h), fill=line, width=edge)
    for k in range(10):  # dashes shrink with distance along the centre line
        t0, t1 = (k / 10) ** 1.6, ((k + 0.5) / 10) ** 1.6
        d.line((vx, hz + (h - hz) * t0, vx, hz + (h - hz) * t1), fill=(230, 200, 60), width=max(1, int(edge * 2 * t1)))
    if s.tod in ("night", "dusk"):
        for side in (-1, 1):
            for k in range(2, 6):
                t = (k / 6) ** 1.3
                px, py = vx + side * half * 1.05 * t, hz + (h - hz) * t
                ph = h * 0.35 * t
                d.line((px, py, px, py - ph), fill=(40, 40, 50), width=max(1, int(3 * t)))
                r = max(2, 6 * t)
                d.ellipse((px - r, py - ph - r, px + r, py - ph + r), fill=(255, 225, 150))


def _draw_market(s):
    """A row of market stalls with striped awnings, and lantern strings at dusk/night."""
    d, rng = s.draw, s.rng
    x = -rng.randint(0, 50)
    base_y = s.horizon + int(s.h * 0.06)
    while x < s.w:
        sw = int(s.w * rng.uniform(0.12, 0.2))
        sh = int(s.h * rng.uniform(0.14, 0.2))
        stripe_a = _lit(rng.choice([(200, 60, 60), (60, 110, 190), (220, 170, 50), (70, 150, 90)]), s.tod)
        stripe_b = _lit((235, 230, 215), s.tod)
        counter = _lit((130, 95, 65), s.tod)
        d.rectangle((x + 4, base_y - sh * 0.45, x + sw - 4, base_y), fill=counter, outline=INK)
        for px in (x + 6, x + sw - 8):
            d.line((px, base_y - sh, px, base_y), fill=INK, width=2)
        n = 6
        for i in range(n):
            x0, x1 = x + sw * i / n, x + sw * (i + 1) / n
            awning = [(x0 + 4, base_y - sh), (x1 + 4, base_y - sh), (x1, base_y - sh * 0.72), (x0, base_y - sh * 0.72)]
            d.polygon(awning, fill=stripe_a if i % 2 else stripe_b)
        for _ in range(rng.randint(2, 5)):  # goods on the counter
            gx = x + rng.uniform(0.15, 0.8) * sw
            gr = s.h * rng.uniform(0.008, 0.016)
            d.ellipse(
                (gx - gr, base_y - sh * 0.45 - gr * 2, gx + gr, base_y - sh * 0.45),
                fill=_lit(rng.choice([(230, 120, 40), (200, 40, 60), (240, 220, 80), (120, 180, 70)]), s.tod),
            )
        x += sw + rng.randint(4, int(s.w * 0.04))
    if s.tod in ("night", "dusk"):
        y0 = s.horizon - s.h * rng.uniform(0.2, 0.3)
        pts = [(x, y0 + s.h * 0.05 * math.sin(math.pi * x / s.w * 3) ** 2) for x in range(0, s.w + 8, 8)]
        d.line(pts, fill=(30, 30, 35), width=1)
        for px, py in pts[::5]:
            r = s.h * 0.012
            d.ellipse((px - r, py, px + r, py + r * 2.4), fill=(255, 110, 60), outline=INK)


def _draw_trees(s, on_shore):
    """A few simple trees (trunk plus layered canopy) along the horizon, or the far shore."""
    for _ in range(s.rng.randint(3, 7)):
        x = s.rng.uniform(0, s.w)
        scale = s.rng.uniform(0.6, 1.2)
        base = s.horizon + s.h * s.rng.uniform(0.0, 0.005 if on_shore else 0.05)
        th = s.h * 0.22 * scale
        s.draw.rectangle((x - 3 * scale, base - th * 0.4, x + 3 * scale, base), fill=_lit((95, 70, 50), s.tod))
        leaf = _lit((60, 115, 60), s.tod)
        for k in range(3):
            r, cy = th * (0.28 - k * 0.05), base - th * (0.45 + k * 0.2)
            s.draw.polygon([(x - r, cy + r * 0.4), (x + r, cy + r * 0.4), (x, cy - r)], fill=leaf, outline=INK)


def _draw_interior(s):
    """Room set: back wall with windows onto the outdoor view, ceiling lights, benches and screens."""
    d, rng, w, h = s.draw, s.rng, s.w, s.h
    view = s.img.copy()
    lights_on = s.tod in ("night", "dusk")
    wall = _mix(_lit((205, 205, 198), s.tod), (200, 205, 215), 0.5 if lights_on else 0.0)
    floor = _mix(_lit((150, 142, 132), s.tod), (120, 120, 130), 0.4 if lights_on else 0.0)
    floor_y = s.horizon + int(h * 0.05)
    d.rectangle((0, 0, w, floor_y), fill=wall)
    d.rectangle((0, floor_y, w, h), fill=floor)
    d.line((0, floor_y, w, floor_y), fill=INK, width=2)
    for i in range(-5, 6):
        d.line((s.vp_x, floor_y, s.vp_x + i * w * 0.25, h), fill=_mix(floor, (0, 0, 0), 0.12), width=1)
    for _ in range(rng.randint(1, 2)):  # windows show the outdoor view drawn underneath
        ww, wh = int(w * rng.uniform(0.18, 0.3)), int(h * rng.uniform(0.2, 0.3))
        wx, wy = rng.randint(0, w - ww), int(h * rng.uniform(0.08, 0.15))
        s.img.paste(view.crop((wx, wy, wx + ww, wy + wh)), (wx, wy))
        d.rectangle((wx, wy, wx + ww, wy + wh), outline=INK, width=3)
        d.line((wx + ww // 2, wy, wx + ww // 2, wy + wh), fill=INK, width=2)
    lamp = (250, 250, 235) if lights_on else _lit((235, 235, 230), s.tod)
    for k in range(3):
        lx = w * (k + 0.5) / 3
        d.rectangle((lx - w * 0.08, 0, lx + w * 0.08, h * 0.025), fill=lamp, outline=INK)
    for _ in range(rng.randint(2, 3)):
        _draw_bench(s, rng.uniform(0.05, 0.75) * w, floor_y + h * rng.uniform(0.02, 0.12), lights_on)


def _draw_bench(s, x, y, lights_on):
    """A bench/desk at floor level y with one or two glowing screens on it."""
    d, rng, h = s.draw, s.rng, s.h
    bw, top = s.w * s.rng.uniform(0.18, 0.26), y - h * 0.1
    d.rectangle((x, top, x + bw, top + h * 0.025), fill=_lit((170, 170, 175), s.tod), outline=INK)
    for lx in (x + 4, x + bw - 8):
        d.rectangle((lx, top + h * 0.025, lx + 4, y), fill=INK)
    for _ in range(rng.randint(1, 2)):
        sw, sh = bw * rng.uniform(0.25, 0.4), h * rng.uniform(0.07, 0.1)
        sx = x + rng.uniform(0.05, 0.95 - sw / bw) * bw
        glow = rng.choice([(120, 220, 210), (150, 190, 255), (190, 240, 160)])
        glow = glow if lights_on or s.tod == "day" else _lit(glow, s.tod)
        d.rectangle((sx, top - sh - 4, sx + sw, top - 4), fill=glow, outline=INK, width=2)
        for k in range(1, 4):
            ly = top - sh - 4 + sh * k / 4
            d.line((sx + 4, ly, sx + 4 + (sw - 8) * rng.uniform(0.3, 0.9), ly), fill=_mix(glow, INK, 0.5))
        d.line((sx + sw / 2, top - 4, sx + sw / 2, top), fill=INK, width=2)
