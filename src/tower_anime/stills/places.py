"""Places of the storyboard panels: the location text picks one setting from a vocabulary
(harbor, garage, highway, lab, ...; hills under the sky when no word matches) and its
weather and light (rain, snow, mist, fog, neon), and the set is drawn to match."""

from __future__ import annotations

import math
import random
import re

import numpy as np
from PIL import Image, ImageDraw

from .backgrounds import (
    NEON,
    _draw_bench,
    _draw_celestial,
    _draw_ground,
    _draw_hills,
    _draw_interior,
    _draw_market,
    _draw_road,
    _draw_skyline,
    _draw_trees,
    _draw_water,
    _draw_windows,
    _Set,
    _sky,
)
from .colours import INK, _lit, _mix

# The first setting whose word the location holds wins, so the most specific come first
# ("container harbor street" is a harbor, "penthouse office high above the city" an office).
# A word of five letters or more matches as a prefix ("laboratory", "parking"); a shorter
# one only whole or with a plural "s" ("sea" is not "season", "port" not "portrait").
SETTINGS = (
    ("garage", ("garage", "parking", "carpark")),
    ("harbor", ("harbor", "harbour", "port", "dock", "pier", "wharf", "container", "shipyard", "quay")),
    ("highway", ("highway", "freeway", "expressway", "motorway", "road", "bridge", "tunnel", "interstate")),
    ("station", ("station", "platform", "subway", "railway", "train")),
    ("lab", ("lab", "laborator", "server", "control", "hangar", "workshop", "hospital", "reactor")),
    ("office", ("office", "penthouse", "boardroom", "studio", "classroom", "headquarters")),
    ("corridor", ("corridor", "hallway", "hall", "passage")),
    ("room", ("room", "apartment", "bedroom", "kitchen", "cafe", "interior", "house", "home", "flat")),
    ("rooftop", ("rooftop", "roof")),
    ("alley", ("alley", "alleyway", "backstreet", "lane")),
    ("market", ("market", "bazaar", "stall", "festival", "fair", "vendor")),
    (
        "street",
        (
            "street",
            "city",
            "downtown",
            "avenue",
            "plaza",
            "district",
            "tokyo",
            "metro",
            "urban",
            "skyline",
            "tower",
            "building",
            "crossing",
        ),
    ),
    ("beach", ("beach", "shore", "coast", "sand", "sea", "ocean", "bay", "seaside")),
    ("forest", ("forest", "wood", "jungle", "tree", "park", "garden", "grove", "shrine", "temple")),
)
FALLBACK = "plain"  # rolling hills under the sky
WEATHER = (
    ("rain", ("rain", "rainy", "raining", "storm", "stormy", "downpour", "drizzle", "drizzling")),
    ("snow", ("snow", "snowy", "snowing", "blizzard", "snowfall")),
    ("mist", ("mist", "misty", "haze", "hazy")),
    ("fog", ("fog", "foggy", "smog")),
    ("neon", ("neon", "cyberpunk")),
)
# Settings under a roof: no sky, sun or precipitation inside (rain and snow show through the
# windows only as the tint; mist, fog and neon still apply).
INDOOR = {"garage", "lab", "office", "corridor", "room"}


def _tokens(text: str) -> list:
    return re.findall(r"[a-z]+", text.lower())


def _matches(token: str, word: str) -> bool:
    return token.startswith(word) if len(word) >= 5 else token in (word, word + "s")


def setting(location: str) -> str:
    """Name of the setting the location text draws (FALLBACK when no word matches)."""
    tokens = _tokens(location)
    for name, words in SETTINGS:
        if any(_matches(t, wd) for t in tokens for wd in words):
            return name
    return FALLBACK


def weather(location: str) -> set:
    """Weather and light named by the location text (rain, snow, mist, fog, neon)."""
    tokens = _tokens(location)
    return {name for name, words in WEATHER if any(_matches(t, wd) for t in tokens for wd in words)}


def settings() -> list:
    """Every setting name, the fallback last."""
    return [name for name, _ in SETTINGS] + [FALLBACK]


def draw_place(location: str, tod: str, w: int, h: int, rng: random.Random) -> Image.Image:
    """Sky, celestial bodies, the setting's set and its weather, tinted for the time of day."""
    name, sky = setting(location), weather(location)
    horizon = int(h * rng.uniform(0.5, 0.6))
    img = _sky(w, h, horizon, tod)
    s = _Set(img, ImageDraw.Draw(img), rng, w, h, horizon, tod, int(w * rng.uniform(0.3, 0.7)))
    if name not in INDOOR:
        if sky & {"rain", "snow", "fog"}:
            _overcast(s)
        else:
            _draw_celestial(s)
    DRAW[name](s)
    if "neon" in sky:
        _neon(s, name)
    if name not in INDOOR:
        if "rain" in sky:
            _rain(s)
        if "snow" in sky:
            _snow(s)
    if sky & {"mist", "fog"}:
        _haze(s, strength=0.5 if "fog" in sky else 0.32)
    return s.img


# ---------------------------------------------------------------- settings


def _plain(s):
    _draw_hills(s)
    _draw_ground(s, paved=False)


def _forest(s):
    _draw_hills(s)
    _draw_ground(s, paved=False)
    _draw_trees(s, on_shore=False)
    for _ in range(s.rng.randint(2, 3)):  # a nearer row, larger, along the sides
        x = s.w * s.rng.choice([s.rng.uniform(-0.05, 0.2), s.rng.uniform(0.8, 1.05)])
        _tree(s, x, s.horizon + s.h * s.rng.uniform(0.12, 0.2), s.rng.uniform(1.4, 1.9))


def _tree(s, x, base, scale):
    th = s.h * 0.22 * scale
    s.draw.rectangle((x - 3 * scale, base - th * 0.4, x + 3 * scale, base), fill=_lit((95, 70, 50), s.tod))
    leaf = _lit((50, 105, 55), s.tod)
    for k in range(3):
        r, cy = th * (0.28 - k * 0.05), base - th * (0.45 + k * 0.2)
        s.draw.polygon([(x - r, cy + r * 0.4), (x + r, cy + r * 0.4), (x, cy - r)], fill=leaf, outline=INK)


def _beach(s):
    _draw_water(s)
    sea_bottom = s.horizon + int(s.h * 0.12)
    s.draw.rectangle((0, sea_bottom, s.w, s.h), fill=_lit((225, 200, 150), s.tod))
    foam = _lit((240, 245, 245), s.tod)
    for k in range(3):  # foam lines where the waves run up the sand
        y = sea_bottom + k * s.h * 0.025
        pts = [(x, y + 3 * math.sin(x / 23 + k * 2)) for x in range(0, s.w + 10, 10)]
        s.draw.line(pts, fill=foam, width=2)
    x = s.w * s.rng.uniform(0.08, 0.25)  # a beach umbrella
    top = s.horizon + s.h * 0.04
    s.draw.line((x, top, x, top + s.h * 0.2), fill=INK, width=3)
    s.draw.chord(
        (x - s.h * 0.1, top - s.h * 0.05, x + s.h * 0.1, top + s.h * 0.05),
        180,
        360,
        fill=_lit((220, 70, 60), s.tod),
        outline=INK,
    )


def _harbor(s):
    _draw_water(s)
    quay = s.horizon + int(s.h * 0.1)
    _ground_from(s, quay, (105, 105, 110))
    s.draw.line((0, quay, s.w, quay), fill=INK, width=2)
    colours = [(190, 60, 45), (40, 95, 160), (220, 150, 40), (60, 130, 80), (150, 150, 155)]
    x = -s.rng.randint(0, 30)
    cw, ch = s.w * 0.085, s.h * 0.045
    while x < s.w:  # container stacks on the quay
        for level in range(s.rng.randint(1, 4)):
            col = _lit(s.rng.choice(colours), s.tod)
            y1 = quay - level * ch
            s.draw.rectangle((x, y1 - ch, x + cw, y1), fill=col, outline=INK)
            for k in range(1, 6):  # corrugation
                s.draw.line((x + cw * k / 6, y1 - ch + 2, x + cw * k / 6, y1 - 2), fill=_mix(col, INK, 0.35))
        x += cw + s.rng.randint(2, int(s.w * 0.03))
    for cx in (s.w * s.rng.uniform(0.15, 0.35), s.w * s.rng.uniform(0.65, 0.85)):  # gantry cranes
        crane = _lit((225, 180, 40), s.tod)
        top = s.horizon - s.h * 0.3
        for leg in (-1, 1):
            s.draw.line((cx + leg * s.w * 0.04, quay, cx + leg * s.w * 0.03, top), fill=crane, width=max(3, s.h // 90))
        s.draw.rectangle((cx - s.w * 0.12, top - s.h * 0.02, cx + s.w * 0.07, top), fill=crane, outline=INK)
        s.draw.line((cx - s.w * 0.1, top, cx - s.w * 0.1, top + s.h * 0.12), fill=INK, width=1)


def _ground_from(s, y, colour):
    base = _lit(colour, s.tod)
    s.draw.rectangle((0, y, s.w, s.h), fill=base)
    guide = _mix(base, (0, 0, 0), 0.15)
    for i in range(-6, 7):
        s.draw.line((s.vp_x, y, s.vp_x + i * s.w * 0.22, s.h), fill=guide, width=1)


def _highway(s):
    _draw_hills(s)
    _draw_ground(s, paved=True)
    _draw_road(s)
    rail = _lit((185, 185, 190), s.tod)
    for side in (-1, 1):  # guard rails along both edges
        for off in (0.0, 0.04):
            s.draw.line(
                (s.vp_x + side * 8, s.horizon - 2, s.vp_x + side * s.w * 0.75, s.h * (0.78 - off)),
                fill=rail,
                width=max(2, s.h // 150),
            )
    gy = s.horizon - s.h * 0.16  # an overhead sign gantry
    s.draw.rectangle((s.w * 0.15, gy, s.w * 0.85, gy + s.h * 0.012), fill=_lit((120, 120, 125), s.tod), outline=INK)
    for px in (s.w * 0.15, s.w * 0.85):
        s.draw.line((px, gy, px, s.horizon + s.h * 0.03), fill=INK, width=3)
    for k in range(2):
        x0 = s.w * (0.32 + 0.2 * k)
        s.draw.rectangle(
            (x0, gy + s.h * 0.012, x0 + s.w * 0.15, gy + s.h * 0.07), fill=(30, 110, 60), outline=(235, 235, 235)
        )
        s.draw.line((x0 + s.w * 0.02, gy + s.h * 0.04, x0 + s.w * 0.12, gy + s.h * 0.04), fill=(235, 235, 235), width=2)


def _station(s):
    _draw_skyline(s, tall=False)
    _draw_ground(s, paved=True)
    d, vx, hz, h = s.draw, s.vp_x, s.horizon, s.h
    bed = _lit((95, 85, 75), s.tod)
    d.polygon([(vx - 6, hz), (vx + 6, hz), (vx + s.w * 0.5, h), (vx - s.w * 0.1, h)], fill=bed)
    for k in range(12):  # sleepers, closer together towards the horizon
        t = (k / 12) ** 1.6
        y = hz + (h - hz) * t
        d.line(
            (vx - 6 + (-s.w * 0.1 + 6) * t, y, vx + 6 + (s.w * 0.5 - 6) * t, y),
            fill=_mix(bed, INK, 0.5),
            width=max(1, int(4 * t)),
        )
    for off in (0.05, 0.35):  # two rails
        d.line((vx, hz, vx + s.w * off, h), fill=_lit((200, 200, 205), s.tod), width=max(2, h // 160))
    d.line((vx - 6, hz, vx - s.w * 0.12, h), fill=(235, 200, 40), width=max(3, h // 100))  # platform edge
    roof = _lit((80, 85, 95), s.tod)
    d.polygon([(0, 0), (s.w, 0), (s.w, h * 0.32), (vx, hz - h * 0.12), (0, h * 0.3)], fill=roof, outline=INK)
    for k in range(3):  # canopy pillars
        px = s.w * (0.08 + 0.13 * k)
        d.rectangle((px, h * 0.3 - k * 4, px + s.w * 0.015, h), fill=_lit((150, 150, 160), s.tod), outline=INK)
    d.rectangle((s.w * 0.6, h * 0.2, s.w * 0.85, h * 0.27), fill=(20, 60, 140), outline=(235, 235, 235), width=2)


def _lab(s):
    _draw_hills(s)
    _draw_ground(s, paved=False)
    _draw_interior(s)


def _office(s):
    _draw_skyline(s, tall=True)
    _draw_ground(s, paved=True)
    view = s.img.copy()
    d, w, h = s.draw, s.w, s.h
    lights_on = s.tod in ("night", "dusk")
    wall = _mix(_lit((190, 185, 175), s.tod), (185, 185, 195), 0.5 if lights_on else 0.0)
    floor_y = s.horizon + int(h * 0.08)
    d.rectangle((0, 0, w, h), fill=wall)
    s.img.paste(view.crop((0, int(h * 0.18), w, floor_y - int(h * 0.04))), (0, int(h * 0.18)))  # glass wall
    for k in range(7):  # mullions
        x = w * k / 6
        d.line((x, h * 0.18, x, floor_y - h * 0.04), fill=INK, width=3)
    d.line((0, floor_y - h * 0.04, w, floor_y - h * 0.04), fill=INK, width=3)
    floor = _mix(_lit((110, 95, 85), s.tod), (100, 90, 85), 0.4 if lights_on else 0.0)
    d.rectangle((0, floor_y, w, h), fill=floor)
    for i in range(-5, 6):
        d.line((s.vp_x, floor_y, s.vp_x + i * w * 0.25, h), fill=_mix(floor, (0, 0, 0), 0.12), width=1)
    for _ in range(2):
        _draw_bench(s, s.rng.uniform(0.05, 0.7) * w, floor_y + h * s.rng.uniform(0.03, 0.1), lights_on)
    px, py = w * s.rng.choice([0.05, 0.9]), floor_y + h * 0.02  # a potted plant
    d.rectangle((px - 8, py - 16, px + 8, py), fill=_lit((150, 90, 60), s.tod), outline=INK)
    for k in range(5):
        a = math.radians(-60 + 30 * k)
        d.line(
            (px, py - 16, px + math.sin(a) * 22, py - 16 - math.cos(a) * 26), fill=_lit((60, 130, 60), s.tod), width=4
        )


def _room(s):
    _draw_hills(s)
    _draw_ground(s, paved=False)
    view = s.img.copy()
    d, w, h = s.draw, s.w, s.h
    lights_on = s.tod in ("night", "dusk")
    wall = _mix(_lit((215, 195, 170), s.tod), (210, 190, 165), 0.5 if lights_on else 0.0)
    floor_y = s.horizon + int(h * 0.05)
    d.rectangle((0, 0, w, floor_y), fill=wall)
    floor = _lit((140, 100, 70), s.tod)
    d.rectangle((0, floor_y, w, h), fill=floor)
    for k in range(1, 8):  # floorboards
        y = floor_y + (h - floor_y) * (k / 8) ** 1.5
        d.line((0, y, w, y), fill=_mix(floor, INK, 0.3))
    d.line((0, floor_y, w, floor_y), fill=INK, width=2)
    ww, wh = int(w * 0.22), int(h * 0.24)
    wx, wy = int(w * s.rng.uniform(0.1, 0.6)), int(h * 0.2)
    s.img.paste(view.crop((wx, wy, wx + ww, wy + wh)), (wx, wy))
    d.rectangle((wx, wy, wx + ww, wy + wh), outline=INK, width=3)
    d.line((wx + ww // 2, wy, wx + ww // 2, wy + wh), fill=INK, width=2)
    d.rectangle((wx - 8, wy - 6, wx + 6, wy + wh + 10), fill=_lit((170, 60, 70), s.tod))  # curtains
    d.rectangle((wx + ww - 6, wy - 6, wx + ww + 8, wy + wh + 10), fill=_lit((170, 60, 70), s.tod))
    sx = w * s.rng.choice([0.05, 0.62])  # sofa
    sofa = _lit((70, 100, 150), s.tod)
    d.rounded_rectangle((sx, floor_y - h * 0.08, sx + w * 0.3, floor_y + h * 0.06), radius=8, fill=sofa, outline=INK)
    d.rectangle(
        (sx + 8, floor_y - h * 0.02, sx + w * 0.3 - 8, floor_y + h * 0.02),
        fill=_mix(sofa, (255, 255, 255), 0.2),
        outline=INK,
    )
    fx = w * s.rng.uniform(0.7, 0.85)  # a framed picture
    d.rectangle((fx, h * 0.22, fx + w * 0.08, h * 0.32), fill=_lit((90, 140, 120), s.tod), outline=INK, width=3)


def _corridor(s):
    d, w, h, vx = s.draw, s.w, s.h, s.vp_x
    vy = s.horizon - h * 0.08
    ew, eh = w * 0.16, h * 0.22  # the far end wall around the vanishing point
    end = (vx - ew / 2, vy - eh / 2, vx + ew / 2, vy + eh / 2)
    wall = _lit((200, 200, 190), s.tod) if s.tod == "day" else (175, 178, 175)
    side = _mix(wall, INK, 0.18)
    ceiling, floor = _mix(wall, (255, 255, 255), 0.15), _mix(wall, (90, 80, 70), 0.5)
    d.polygon([(0, 0), (w, 0), (end[2], end[1]), (end[0], end[1])], fill=ceiling, outline=INK)
    d.polygon([(0, h), (w, h), (end[2], end[3]), (end[0], end[3])], fill=floor, outline=INK)
    d.polygon([(0, 0), (end[0], end[1]), (end[0], end[3]), (0, h)], fill=side, outline=INK)
    d.polygon([(w, 0), (end[2], end[1]), (end[2], end[3]), (w, h)], fill=side, outline=INK)
    d.rectangle(end, fill=_mix(wall, INK, 0.3), outline=INK, width=2)
    for k in range(1, 4):  # doors along both walls, and lights along the ceiling
        t = 1 - (k / 4) ** 0.8
        for x_edge, ex in ((0, end[0]), (w, end[2])):
            xa = x_edge + (ex - x_edge) * t
            xb = x_edge + (ex - x_edge) * min(1.0, t + 0.08)
            ya_top, ya_bot = h * 0.32 * (1 - t) + end[1] * t + h * 0.1 * (1 - t), h + (end[3] - h) * t
            yb_top, yb_bot = h * 0.32 * (1 - t - 0.08) + end[1] * (t + 0.08) + h * 0.1, h + (end[3] - h) * (t + 0.08)
            d.polygon(
                [(xa, ya_top), (xb, yb_top), (xb, yb_bot), (xa, ya_bot)], fill=_lit((120, 90, 70), s.tod), outline=INK
            )
        ly = end[1] * t
        d.rectangle((vx - ew * (1.6 - t), ly, vx + ew * (1.6 - t), ly + 4 + 6 * (1 - t)), fill=(250, 250, 235))


def _rooftop(s):
    d, w, h = s.draw, s.w, s.h
    _draw_skyline(s, tall=False)
    roof_y = s.horizon + int(h * 0.03)
    _ground_from(s, roof_y, (125, 120, 115))
    for k in range(9):  # the railing along the roof's edge
        x = w * k / 8
        d.line((x, roof_y, x, roof_y - h * 0.07), fill=INK, width=3)
    d.line((0, roof_y - h * 0.07, w, roof_y - h * 0.07), fill=INK, width=4)
    d.line((0, roof_y - h * 0.035, w, roof_y - h * 0.035), fill=INK, width=2)
    tx = w * s.rng.choice([0.04, 0.78])  # a water tank on legs
    tank = _lit((140, 100, 70), s.tod)
    d.rectangle((tx, roof_y - h * 0.3, tx + w * 0.14, roof_y - h * 0.14), fill=tank, outline=INK, width=2)
    d.polygon(
        [(tx - 4, roof_y - h * 0.3), (tx + w * 0.07, roof_y - h * 0.37), (tx + w * 0.14 + 4, roof_y - h * 0.3)],
        fill=_mix(tank, INK, 0.3),
        outline=INK,
    )
    for lx in (tx + 6, tx + w * 0.14 - 10):
        d.rectangle((lx, roof_y - h * 0.14, lx + 4, roof_y + h * 0.02), fill=INK)


def _alley(s):
    _draw_skyline(s, tall=True)
    _draw_ground(s, paved=True)
    d, w, h, vx, hz = s.draw, s.w, s.h, s.vp_x, s.horizon
    gap = w * 0.09
    brick = _lit((130, 80, 65), s.tod)
    for sign, edge in ((-1, 0), (1, w)):
        inner = vx + sign * gap
        d.polygon(
            [(edge, 0), (inner, hz - h * 0.35), (inner, hz + 4), (edge, h)],
            fill=_mix(brick, INK, 0.1 if sign < 0 else 0.25),
            outline=INK,
        )
        for k in range(1, 6):  # brick courses converging to the vanishing point
            y = h * k / 6
            d.line((edge, y, inner, hz - h * 0.35 + (h * 0.35 + 4) * k / 6), fill=_mix(brick, INK, 0.45))
        px = edge + (inner - edge) * 0.3  # a drain pipe
        d.line((px, 0, px, h), fill=_lit((90, 95, 100), s.tod), width=max(3, h // 100))
    bx = w * s.rng.choice([0.08, 0.74])  # a dumpster
    d.rectangle((bx, h * 0.72, bx + w * 0.16, h * 0.86), fill=_lit((40, 100, 70), s.tod), outline=INK, width=2)
    d.polygon(
        [(bx - 4, h * 0.72), (bx + w * 0.16 + 4, h * 0.72), (bx + w * 0.16, h * 0.68), (bx, h * 0.68)],
        fill=_lit((30, 80, 55), s.tod),
        outline=INK,
    )
    for _ in range(3):  # puddles
        px, py = vx + s.rng.uniform(-0.25, 0.25) * w, hz + (h - hz) * s.rng.uniform(0.4, 0.9)
        d.ellipse((px - w * 0.05, py - 4, px + w * 0.05, py + 4), fill=_mix(_sky_tone(s), (80, 80, 90), 0.5))


def _sky_tone(s):
    return s.img.getpixel((s.w // 2, max(0, s.horizon - 4)))


def _market(s):
    _draw_skyline(s, tall=False)
    _draw_ground(s, paved=True)
    _draw_market(s)


def _street(s):
    _draw_skyline(s, tall=True)
    _draw_ground(s, paved=True)
    d, w, h, hz = s.draw, s.w, s.h, s.horizon
    curb = _lit((160, 160, 165), s.tod)
    for sign in (-1, 1):  # kerbs of the sidewalks
        d.line((s.vp_x + sign * 20, hz, s.vp_x + sign * w * 0.6, h), fill=curb, width=max(2, h // 130))
    for k in range(6):  # a zebra crossing in front
        x0 = w * (0.2 + k * 0.11)
        d.polygon(
            [(x0, h * 0.88), (x0 + w * 0.06, h * 0.88), (x0 + w * 0.07, h * 0.96), (x0 + w * 0.01, h * 0.96)],
            fill=_lit((235, 235, 230), s.tod),
        )
    lamp_on = s.tod in ("night", "dusk", "dawn")
    for x in (w * 0.06, w * 0.94):  # street lamps
        d.line((x, h * 0.95, x, hz - h * 0.25), fill=INK, width=4)
        d.line((x, hz - h * 0.25, x + (w * 0.05 if x < w / 2 else -w * 0.05), hz - h * 0.25), fill=INK, width=4)
        lx = x + (w * 0.05 if x < w / 2 else -w * 0.05)
        d.ellipse(
            (lx - 7, hz - h * 0.25, lx + 7, hz - h * 0.25 + 10),
            fill=(255, 225, 150) if lamp_on else (200, 200, 190),
            outline=INK,
        )


def _garage(s):
    """Underground: low concrete ceiling, pillars, painted bays and strip lights; no sky."""
    d, w, h, vx = s.draw, s.w, s.h, s.vp_x
    ceil_y, hz = int(h * 0.34), s.horizon
    concrete = (150, 150, 145)
    d.rectangle((0, 0, w, ceil_y), fill=_mix(concrete, INK, 0.35))
    d.rectangle((0, ceil_y, w, hz), fill=concrete)
    d.rectangle((0, hz, w, h), fill=(92, 94, 98))
    for i in range(-6, 7):  # ceiling beams and bay lines converging to the vanishing point
        d.line((vx, ceil_y, vx + i * w * 0.22, 0), fill=_mix(concrete, INK, 0.55), width=2)
    for i in range(-5, 6):
        d.line((vx + i * 8, hz, vx + i * w * 0.2, h), fill=(230, 230, 220), width=max(2, h // 170))
    for k in range(4):  # strip lights
        y = ceil_y * (1 - (k + 1) / 5)
        half = w * (0.06 + 0.05 * (3 - k))
        d.rectangle((vx - half, y, vx + half, y + 3 + k), fill=(245, 250, 240))
    for k, x in enumerate((0.04, 0.3, 0.62, 0.88)):  # pillars with hazard stripes at the foot
        px, pw = w * x, w * 0.05
        d.rectangle((px, ceil_y - 4, px + pw, hz + h * 0.06), fill=(175, 175, 170), outline=INK, width=2)
        for j in range(4):
            y0 = hz + h * 0.06 - (j + 1) * h * 0.015
            d.rectangle((px, y0, px + pw, y0 + h * 0.015), fill=(235, 190, 40) if j % 2 else INK)
        d.text((px + pw * 0.25, ceil_y + 6), "B" + str(k + 1), fill=INK)
    cx, cy = w * s.rng.uniform(0.35, 0.55), hz + h * 0.02  # a parked car, seen from behind
    body = s.rng.choice([(170, 40, 45), (40, 70, 140), (220, 220, 215), (60, 60, 66)])
    d.rounded_rectangle((cx, cy - h * 0.09, cx + w * 0.16, cy), radius=6, fill=body, outline=INK, width=2)
    d.polygon(
        [
            (cx + w * 0.02, cy - h * 0.09),
            (cx + w * 0.14, cy - h * 0.09),
            (cx + w * 0.12, cy - h * 0.14),
            (cx + w * 0.04, cy - h * 0.14),
        ],
        fill=_mix(body, INK, 0.4),
        outline=INK,
    )
    for lx in (cx + 6, cx + w * 0.16 - 18):
        d.rectangle((lx, cy - h * 0.06, lx + 12, cy - h * 0.045), fill=(220, 40, 40))


DRAW = {
    "garage": _garage,
    "harbor": _harbor,
    "highway": _highway,
    "station": _station,
    "lab": _lab,
    "office": _office,
    "corridor": _corridor,
    "room": _room,
    "rooftop": _rooftop,
    "alley": _alley,
    "market": _market,
    "street": _street,
    "beach": _beach,
    "forest": _forest,
    FALLBACK: _plain,
}


# ---------------------------------------------------------------- weather and light


def _overcast(s):
    """A grey cloud deck instead of sun or stars."""
    deck = _lit((150, 155, 165), s.tod)
    arr = np.asarray(s.img).astype(np.float32)
    rows = np.clip(1 - np.arange(s.h) / max(s.horizon, 1), 0, 1)[:, None, None] * 0.55
    arr = arr * (1 - rows) + np.array(deck, dtype=np.float32) * rows
    s.img.paste(Image.fromarray(np.rint(arr).astype(np.uint8)))
    for _ in range(s.rng.randint(4, 7)):
        cx, cy = s.w * s.rng.uniform(0, 1), s.horizon * s.rng.uniform(0.15, 0.6)
        rx, ry = s.w * s.rng.uniform(0.08, 0.16), s.h * s.rng.uniform(0.025, 0.045)
        s.draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=_mix(deck, INK, 0.15))


def _rain(s):
    """Darker, cooler light and slanted streaks."""
    arr = np.asarray(s.img).astype(np.float32)
    arr = arr * 0.78 + np.array((30, 36, 48), dtype=np.float32) * 0.22
    s.img.paste(Image.fromarray(np.rint(arr).astype(np.uint8)))
    streak = (175, 190, 210)
    for _ in range(int(s.w * s.h / 1400)):
        x, y = s.rng.uniform(-20, s.w), s.rng.uniform(0, s.h)
        length = s.h * s.rng.uniform(0.03, 0.06)
        s.draw.line((x, y, x + length * 0.25, y + length), fill=streak, width=1)


def _snow(s):
    """Whitened ground and falling flakes."""
    arr = np.asarray(s.img).astype(np.float32)
    ground = arr[s.horizon :]
    arr[s.horizon :] = ground * 0.45 + np.array((232, 236, 242), dtype=np.float32) * 0.55
    s.img.paste(Image.fromarray(np.rint(arr).astype(np.uint8)))
    for _ in range(int(s.w * s.h / 1300)):
        x, y = s.rng.uniform(0, s.w), s.rng.uniform(0, s.h)
        r = s.rng.choice((1, 1, 1.5, 2))
        s.draw.ellipse((x - r, y - r, x + r, y + r), fill=(238, 240, 246))


def _haze(s, strength):
    """Mist or fog: the set fades towards a pale grey, most at the horizon."""
    haze = np.array(_lit((205, 210, 215), s.tod), dtype=np.float32)
    arr = np.asarray(s.img).astype(np.float32)
    dist = np.abs(np.arange(s.h) - s.horizon) / s.h
    alpha = (strength * np.clip(1 - dist * 1.6, 0.35, 1))[:, None, None]
    arr = arr * (1 - alpha) + haze * alpha
    s.img.paste(Image.fromarray(np.rint(arr).astype(np.uint8)))


def _neon(s, name):
    """Neon signs on the set (on walls indoors, on the skyline outside) and their glow."""
    d = s.draw
    for _ in range(s.rng.randint(3, 5)):
        col = s.rng.choice(NEON)
        x = s.w * s.rng.uniform(0.05, 0.85)
        y = s.h * s.rng.uniform(0.2, 0.45) if name in INDOOR else s.horizon - s.h * s.rng.uniform(0.08, 0.3)
        sw, sh = s.w * s.rng.uniform(0.05, 0.1), s.h * s.rng.uniform(0.03, 0.05)
        d.rounded_rectangle((x - 3, y - 3, x + sw + 3, y + sh + 3), radius=4, fill=_mix(col, (20, 20, 40), 0.55))
        d.rounded_rectangle((x, y, x + sw, y + sh), radius=4, outline=col, width=3)
        _draw_windows(s, (int(x) + 2, int(y) + 2, int(x + sw), int(y + sh)), col, 0.5)
    glow = np.array(s.rng.choice(NEON), dtype=np.float32)
    arr = np.asarray(s.img).astype(np.float32)
    arr[s.horizon :] = arr[s.horizon :] * 0.85 + glow * 0.15  # coloured light on the ground
    s.img.paste(Image.fromarray(np.rint(arr).astype(np.uint8)))
