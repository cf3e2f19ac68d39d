"""Embedded storyboard/animatic renderer: one flat-colour Pillow panel per shot, no GPU.

The panel shows a time-of-day sky, a location-derived set, the shot's characters as
simple standing figures filled with their palette colours, a camera-move cue and a
caption strip. The same spec always gives byte-identical PNG output.
"""
import math
import random
import re
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tower_anime.errors import TowerError
from tower_anime import verify_output
from tower_anime.fsutil import atomic_path

from .fonts import REGULAR, face_for
from ..lang import is_wide

FONT_PATH, BOLD_FONT_PATH = REGULAR[0].path, "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

from ..clips.camera import safe_area
from ..backends.storyboard import CAPTION_FRACTION  # the caption strip along the top

# Background pixels closer than this (RGB distance) to any palette colour of the shot's
# characters are pushed away, so palette-presence checks only count the figures.
CLEAR_RADIUS = 40.0

INK = (28, 28, 36)
PAPER = (250, 248, 240)
PALETTE_KEYS = ("hair", "skin", "outfit", "accent")
DEFAULT_PALETTE = {"hair": "#2b2b2b", "skin": "#f1c27d", "outfit": "#7a7a7a", "accent": "#c0c0c0"}

SKY_STOPS = {
    "dawn": [(70, 70, 130), (235, 140, 160), (255, 190, 130)],
    "day": [(60, 125, 205), (120, 175, 230), (200, 225, 245)],
    "dusk": [(40, 25, 80), (150, 60, 120), (250, 140, 70)],
    "night": [(5, 7, 22), (12, 18, 45), (30, 38, 80)],
}
# Per time of day: channel multipliers and offsets applied to set colours.
LIGHT = {
    "dawn": ((0.9, 0.78, 0.8), (20, 8, 14)),
    "day": ((1.0, 1.0, 1.0), (0, 0, 0)),
    "dusk": ((0.62, 0.5, 0.62), (28, 8, 22)),
    "night": ((0.25, 0.28, 0.42), (2, 3, 10)),
}
NEON = [(255, 70, 170), (70, 230, 255), (190, 90, 255), (255, 200, 60)]

# Checked in order against word prefixes of the location; several may apply.
THEME_WORDS = {
    "interior": ("lab", "office", "room", "apartment", "classroom", "hospital", "server", "control",
                 "hangar", "cafe", "kitchen", "bedroom", "corridor", "interior", "studio", "workshop"),
    "road": ("road", "highway", "garage", "freeway", "bridge", "tunnel", "expressway", "parking", "motorway"),
    "market": ("market", "bazaar", "stall", "festival", "fair", "vendor"),
    "city": ("street", "city", "tower", "corporate", "downtown", "skyline", "rooftop", "alley", "district",
             "plaza", "building", "tokyo", "metro", "avenue", "urban", "neon", "skyscraper"),
    "water": ("sea", "ocean", "beach", "harbor", "harbour", "river", "lake", "port", "dock", "shore", "bay"),
    "nature": ("forest", "park", "garden", "tree", "wood", "field", "mountain", "meadow", "shrine", "temple"),
}

MOVE_LABELS = {"static": "STATIC", "push_in": "PUSH IN", "pull_out": "PULL OUT",
               "pan_left": "PAN LEFT", "pan_right": "PAN RIGHT"}
HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


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


@dataclass
class _Figure:
    """Placement of one character: centre x, top of head, head-height unit and pose."""

    cx: float
    top: float
    u: float
    arm_out: tuple
    arm_bend: tuple
    stance: float


# ---------------------------------------------------------------- public API


def render_storyboard(spec: dict, out_path) -> None:
    """Render the storyboard panel for `spec` and write it atomically as PNG to `out_path`."""
    img = draw_storyboard(spec)
    with atomic_path(out_path, check=verify_output.image) as tmp:
        img.save(tmp, format="PNG")


def draw_storyboard(spec: dict, figures: bool = True) -> Image.Image:
    """Draw and return the storyboard panel (RGB) for one resolved shot spec.

    figures=False draws the set and chrome without the cast (the layout still consumes the
    same random numbers): a plate of the shot as a generator that lost its characters would.
    """
    w, h = int(spec.get("width", 768)), int(spec.get("height", 512))
    tod = spec.get("time_of_day", "day")
    tod = tod if tod in SKY_STOPS else "day"
    camera = spec.get("camera") or {}
    framing = camera.get("framing", "medium")
    move = camera.get("move", "static")
    characters = [(c, _palette(c)) for c in spec.get("characters") or []]
    rng = random.Random(spec.get("seed", 0))

    img = _draw_background(spec.get("location", ""), tod, w, h, rng)
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
    return img


def _figure_mask(cast, w, h):
    """Boolean mask of the pixels the figures cover (drawn again, in white, on black)."""
    canvas = Image.new("RGB", (w, h))
    white = {k: (255, 255, 255) for k in PALETTE_KEYS}
    draw = ImageDraw.Draw(canvas)
    for (char, _), fig in cast:
        _draw_figure(draw, fig, white, _char_style(char))
    return np.asarray(canvas).any(axis=-1)


# ---------------------------------------------------------------- colours and fonts


def _parse_hex(value, char_id, key):
    """Return the (r, g, b) of a '#rgb' or '#rrggbb' string, or raise TowerError."""
    if not isinstance(value, str) or not HEX_RE.match(value):
        raise TowerError(f"character {char_id!r}: palette.{key} = {value!r} is not a hex colour "
                         f"like '#1a2b3c'; fix it in the character sheet")
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))


def _palette(char):
    """Validated palette of one character as RGB tuples; missing keys take neutral defaults."""
    pal = char.get("palette") or {}
    cid = char.get("id", "?")
    return {k: _parse_hex(pal.get(k, DEFAULT_PALETTE[k]), cid, k) for k in PALETTE_KEYS}


def _mix(a, b, t):
    """Linear blend of two RGB colours (t=0 gives a, t=1 gives b)."""
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(3))


def _lit(color, tod):
    """Tint a set colour for the time of day."""
    mul, add = LIGHT[tod]
    return tuple(int(min(255, color[i] * mul[i] + add[i])) for i in range(3))


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


# ---------------------------------------------------------------- background


def _themes(location):
    """Set of theme names matched by word prefixes in the location text."""
    tokens = re.findall(r"[a-z]+", location.lower())
    return {name for name, words in THEME_WORDS.items()
            if any(t.startswith(wd) for t in tokens for wd in words)}


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


def _draw_background(location, tod, w, h, rng):
    """Sky, celestial bodies and the location set, tinted for the time of day."""
    themes = _themes(location)
    horizon = int(h * rng.uniform(0.5, 0.6))
    img = _sky(w, h, horizon, tod)
    s = _Set(img, ImageDraw.Draw(img), rng, w, h, horizon, tod, int(w * rng.uniform(0.3, 0.7)))
    _draw_celestial(s)
    outdoor_themes = themes - {"interior"}
    if "nature" in themes or not outdoor_themes:
        _draw_hills(s)
    if "city" in themes or "market" in themes:
        _draw_skyline(s, tall="city" in themes)
    _draw_ground(s, paved=bool(themes & {"city", "market", "road"}))
    if "nature" in themes:
        _draw_trees(s, on_shore="water" in themes)
    if "water" in themes:
        _draw_water(s)
    if "road" in themes:
        _draw_road(s)
    if "market" in themes:
        _draw_market(s)
    if "interior" in themes:
        _draw_interior(s)
    return s.img


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
        pts = [(x, s.horizon - amp * (0.6 + 0.4 * math.sin(phase + x * freq * 6.28))
                - amp * 0.3 * math.sin(x * freq * 17 + layer)) for x in range(0, s.w + 16, 16)]
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
            d.ellipse((gx - gr, base_y - sh * 0.45 - gr * 2, gx + gr, base_y - sh * 0.45),
                      fill=_lit(rng.choice([(230, 120, 40), (200, 40, 60), (240, 220, 80), (120, 180, 70)]), s.tod))
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


def _keep_clear(img, colours, radius, protect=None):
    """Push pixels within `radius` of any listed colour out to that distance (best effort).

    protect: optional boolean mask of pixels to leave exactly as they are (the figures).
    """
    if not colours:
        return img
    arr = np.asarray(img, dtype=np.uint32)
    packed = (arr[..., 0] << 16) | (arr[..., 1] << 8) | arr[..., 2]
    free = np.ones(packed.shape, dtype=bool) if protect is None else ~protect
    # work on the distinct colours only: a flat-shaded background has few of them
    uniq, inverse = np.unique(packed[free], return_inverse=True)
    a = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], axis=-1).astype(np.float32)
    guards = [np.array(c, dtype=np.float32) for c in sorted({tuple(c) for c in colours})]
    for _ in range(4):  # best effort: repeat while a push landed a colour near another guard
        for cv in guards:
            a = _push_away(a, cv, radius)
        if all(((a - cv) ** 2).sum(axis=-1).min() >= (radius - 0.5) ** 2 for cv in guards):
            break
    out = np.array(img)
    out[free] = np.rint(a).astype(np.uint8)[inverse.ravel()]
    return Image.fromarray(out)


def _push_away(a, cv, radius):
    """Move the rows of `a` (N x 3 colours) within `radius` of `cv` out to that distance.

    Radial pushes keep gradients continuous; when clipping to 0..255 blocks one, the colour
    slides along the grey axis instead (lighter for a dark guard, darker for a light one).
    """
    diff = a - cv
    dist = np.sqrt((diff * diff).sum(axis=-1))
    mask = dist < radius
    if not mask.any():
        return a
    d, r = diff[mask], dist[mask][:, None]
    grey = np.full(3, (1.0 if cv.mean() < 128 else -1.0) / np.sqrt(3), dtype=np.float32)
    # near-exact hits have no meaningful direction of their own
    direction = np.where(r >= 4.0, d / np.maximum(r, 1e-6), grey)
    radial = np.clip(cv + direction * radius, 0, 255)
    p = d @ grey
    t = -p + np.sqrt(p * p - r[:, 0] ** 2 + radius * radius)  # solves |d + t*grey| = radius, t > 0
    along_grey = np.clip(cv + d + t[:, None] * grey, 0, 255)
    to_mid = (128.0 - cv) / max(float(np.linalg.norm(128.0 - cv)), 1e-6)
    last_resort = np.clip(cv + to_mid * radius, 0, 255)

    def outside(moved):
        return (((moved - cv) ** 2).sum(axis=-1) >= (radius - 0.5) ** 2)[:, None]

    a = a.copy()
    a[mask] = np.where(outside(radial), radial, np.where(outside(along_grey), along_grey, last_resort))
    return a


# ---------------------------------------------------------------- characters


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
    cap = h * CAPTION_FRACTION
    left, _, right, _ = safe_area(w, h)
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
            u = min(h * 0.95 / 2.6, sw / (n * 2.1))
            top = max(cap + h * 0.05, h - 2.8 * u) + rng.uniform(0, h * 0.02)
        else:  # medium: head to waist fills about 60% of the height
            u = min(h * 0.6 / 3.4, sw / (n * 2.4))
            top = max(cap + h * 0.05, h - 4.0 * u) + rng.uniform(-h * 0.02, h * 0.02)
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
        draw.polygon([(cx - 0.5 * u, y(0.4)), (cx + 0.5 * u, y(0.4)), (cx + 0.62 * u, y(2.3)), (cx - 0.62 * u, y(2.3))],
                     fill=pal["hair"], outline=INK, width=ow)
    for side in (-1, 1):
        hip, foot = (cx + side * 0.32 * u, y(3.7)), (cx + side * (0.32 + fig.stance) * u, y(7.3))
        _limb(draw, [hip, foot], legs, 0.48 * u, ow)
        _ellipse(draw, foot[0] + side * 0.08 * u, y(7.4), 0.28 * u, 0.14 * u, INK, ow)

    torso = [(cx - 0.82 * b * u, y(1.25)), (cx + 0.82 * b * u, y(1.25)), (cx + 0.62 * u, y(3.1)),
             (cx + 0.7 * u, y(3.95)), (cx - 0.7 * u, y(3.95)), (cx - 0.62 * u, y(3.1))]
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
        draw.ellipse((ex - ew * 0.2 - hl / 2, ey - eh * 0.5 - hl / 2, ex - ew * 0.2 + hl / 2, ey - eh * 0.5 + hl / 2),
                     fill=(255, 255, 255))
    draw.line((cx - 0.08 * u, y(0.9), cx + 0.08 * u, y(0.9)), fill=INK, width=ow)


def _draw_name_label(draw, fig, name, framing, w, h):
    """Name tag under the feet (wide) or along the bottom edge (medium/close), no wider
    than the part of the frame around the figure that camera moves keep in view."""
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
    draw.rounded_rectangle(box, radius=pad, fill=PAPER, outline=INK, width=1)
    draw.text((fig.cx, (box[1] + box[3]) / 2), text, font=font, fill=INK, anchor="mm")


# ---------------------------------------------------------------- overlays


def _arrow(draw, p0, p1, colour, width):
    """Straight arrow from p0 to p1 with a filled head."""
    draw.line((p0, p1), fill=colour, width=width)
    ang = math.atan2(p1[1] - p0[1], p1[0] - p0[0])
    size = width * 3.5
    left = (p1[0] - size * math.cos(ang - 0.45), p1[1] - size * math.sin(ang - 0.45))
    right = (p1[0] - size * math.cos(ang + 0.45), p1[1] - size * math.sin(ang + 0.45))
    draw.polygon([p1, left, right], fill=colour)


def _dashed_rect(draw, box, colour, width, dash):
    """Rectangle outline drawn as dashes."""
    x0, y0, x1, y1 = box
    for a, b in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
        length = math.dist(a, b)
        for k in range(0, int(length), dash * 2):
            t0, t1 = k / length, min(1.0, (k + dash) / length)
            draw.line(((a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                       (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1)), fill=colour, width=width)


def _move_glyph(draw, move, cx, cy, r, colour):
    """Small icon for the camera move: tripod, target plus/minus, or arrow."""
    lw = max(2, int(r / 5))
    if move in ("pan_left", "pan_right"):
        sign = 1 if move == "pan_right" else -1
        _arrow(draw, (cx - sign * r, cy), (cx + sign * r, cy), colour, lw)
    elif move in ("push_in", "pull_out"):
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=lw)
        draw.line((cx - r * 0.55, cy, cx + r * 0.55, cy), fill=colour, width=lw)
        if move == "push_in":
            draw.line((cx, cy - r * 0.55, cx, cy + r * 0.55), fill=colour, width=lw)
    else:
        draw.rectangle((cx - r * 0.6, cy - r, cx + r * 0.6, cy - r * 0.2), fill=colour)
        for dx in (-0.7, 0, 0.7):
            draw.line((cx, cy - r * 0.2, cx + dx * r, cy + r), fill=colour, width=lw)


def _draw_camera_cue(img, move):
    """Camera-move marker in the top-right corner plus a translucent frame cue."""
    w, h = img.size
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cue = (255, 255, 255, 170)
    lw = max(2, h // 170)
    cap = h * CAPTION_FRACTION  # the cues sit in the picture, under the caption strip
    if move in ("push_in", "pull_out"):
        inset = (w * 0.14, (h - cap) * 0.14)
        inner = (inset[0], cap + inset[1], w - inset[0], h - inset[1])
        _dashed_rect(d, inner, cue, lw, max(6, w // 70))
        outer = (w * 0.03, cap + h * 0.04, w * 0.97, h - h * 0.03)
        for ox, oy, ix, iy in ((outer[0], outer[1], inner[0], inner[1]), (outer[2], outer[1], inner[2], inner[1]),
                               (outer[0], outer[3], inner[0], inner[3]), (outer[2], outer[3], inner[2], inner[3])):
            a, b = ((ox, oy), (ix, iy)) if move == "push_in" else ((ix, iy), (ox, oy))
            _arrow(d, a, b, cue, lw)
    elif move in ("pan_left", "pan_right"):
        y = cap + h * 0.14
        a, b = (w * 0.3, y), (w * 0.7, y)
        _arrow(d, *((a, b) if move == "pan_right" else (b, a)), cue, lw * 2)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")


def _draw_move_tag(d, spec, framing, tod, move, right, top, pad, h):
    """The camera-move label (glyph and name) with the episode/scene/framing/time tag
    under it, right-aligned at `right`; returns the left edge of what it drew."""
    font = _font(h * 0.03, bold=True)
    label = MOVE_LABELS.get(move, str(move).upper())
    r = h * 0.022
    bw = font.getlength(label) + 2 * r + 3 * pad
    box = (right - bw, top, right, top + 2 * pad + 2 * r)
    d.rounded_rectangle(box, radius=pad, fill=(20, 20, 28, 255), outline=(255, 255, 255, 220), width=1)
    _move_glyph(d, move, box[0] + pad + r, (box[1] + box[3]) / 2, r, (255, 255, 255, 255))
    d.text((box[0] + 2 * pad + 2 * r, (box[1] + box[3]) / 2), label, font=font, fill=(255, 255, 255, 255), anchor="lm")
    parts = [spec.get("episode", ""), spec.get("scene", ""), framing, tod]
    header = "  ·  ".join(str(p).upper() for p in parts if p)
    small = _font(h * 0.024, text=header)
    header = _fit(header, small, max(bw, h * 0.55))
    d.text((right, box[3] + pad * 0.5), header, font=small, fill=(200, 200, 210, 255), anchor="ra")
    return min(box[0], right - small.getlength(header))


def _draw_caption(img, spec, framing, tod, move):
    """Dark translucent strip along the top (players draw subtitles over the bottom): bold
    shot id and location, wrapped action text, and on the right the camera move and the
    episode/scene/framing/time tag. Camera moves hold the strip still, so all the text stays
    readable and in frame."""
    w, h = img.size
    cap_h = round(h * CAPTION_FRACTION)
    top = 0
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.rectangle((0, top, w, top + cap_h), fill=(12, 12, 18, 190))
    pad = max(4, round(h * 0.018))
    shot, location, action = (str(spec.get(k, "")) for k in ("shot", "location", "action"))
    bold, small, body = _font(h * 0.04, bold=True, text=shot), _font(h * 0.024, text=location), \
        _font(h * 0.032, text=action)
    col_w = min(max(bold.getlength(shot), w * 0.2), w * 0.3)
    white, grey = (255, 255, 255, 255), (200, 200, 210, 255)
    d.text((pad, top + pad), _fit(shot, bold, col_w), font=bold, fill=white)
    d.text((pad, top + pad + h * 0.05), _fit(location, small, col_w), font=small, fill=grey)
    x = pad * 2 + col_w
    d.line((x, top + pad, x, top + cap_h - pad), fill=(255, 255, 255, 90), width=1)
    tag_left = _draw_move_tag(d, spec, framing, tod, move, w - pad, top + pad, round(h * 0.014), h)
    line_h = h * 0.032 * 1.25
    max_lines = max(1, int((cap_h - 2 * pad) // line_h))
    lines = _wrap(action, body, tag_left - x - 3 * pad, max_lines) or [""]
    for i, line in enumerate(lines):
        d.text((x + pad, top + pad + i * line_h), line, font=body, fill=white)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
