"""Colours of the storyboard panels: character palettes, time-of-day tints, and keeping the
background clear of the palette colours (so palette-presence checks only count the figures)."""

import re

import numpy as np
from PIL import Image

from ..errors import TowerError

# Background pixels closer than this (RGB distance) to any palette colour of the shot's
# characters are pushed away, so palette-presence checks only count the figures.
CLEAR_RADIUS = 40.0

INK = (28, 28, 36)
PAPER = (250, 248, 240)
PALETTE_KEYS = ("hair", "skin", "outfit", "accent")
DEFAULT_PALETTE = {"hair": "#2b2b2b", "skin": "#f1c27d", "outfit": "#7a7a7a", "accent": "#c0c0c0"}

LIGHT = {
    "dawn": ((0.9, 0.78, 0.8), (20, 8, 14)),
    "day": ((1.0, 1.0, 1.0), (0, 0, 0)),
    "dusk": ((0.62, 0.5, 0.62), (28, 8, 22)),
    "night": ((0.25, 0.28, 0.42), (2, 3, 10)),
}
HEX_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


def _parse_hex(value, char_id, key):
    """Return the (r, g, b) of a '#rgb' or '#rrggbb' string, or raise TowerError."""
    if not isinstance(value, str) or not HEX_RE.match(value):
        raise TowerError(
            f"character {char_id!r}: palette.{key} = {value!r} is not a hex colour "
            f"like '#1a2b3c'; fix it in the character sheet"
        )
    digits = value[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    return tuple(int(digits[i : i + 2], 16) for i in (0, 2, 4))


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
