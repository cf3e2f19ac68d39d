"""Overlays of the storyboard panels: the caption strip along the top (shot, location, action,
camera move and tag) and the translucent camera-move cue."""

import math

from PIL import Image, ImageDraw

from ..backends.storyboard import CAPTION_FRACTION  # the caption strip along the top
from .text import _fit, _font, _wrap, draw_text

MOVE_LABELS = {
    "static": "STATIC",
    "push_in": "PUSH IN",
    "pull_out": "PULL OUT",
    "pan_left": "PAN LEFT",
    "pan_right": "PAN RIGHT",
}


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
            draw.line(
                (
                    (a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                    (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1),
                ),
                fill=colour,
                width=width,
            )


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
        for ox, oy, ix, iy in (
            (outer[0], outer[1], inner[0], inner[1]),
            (outer[2], outer[1], inner[2], inner[1]),
            (outer[0], outer[3], inner[0], inner[3]),
            (outer[2], outer[3], inner[2], inner[3]),
        ):
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
    draw_text(d, (box[0] + 2 * pad + 2 * r, (box[1] + box[3]) / 2), label, font, (255, 255, 255, 255), anchor="lm")
    parts = [spec.get("episode", ""), spec.get("scene", ""), framing, tod]
    header = "  ·  ".join(str(p).upper() for p in parts if p)
    small = _font(h * 0.024, text=header)
    header = _fit(header, small, max(bw, h * 0.55))
    draw_text(d, (right, box[3] + pad * 0.5), header, small, (200, 200, 210, 255), anchor="ra")
    return min(box[0], right - small.getlength(header))


def _draw_caption(img, spec, framing, tod, move):
    """Dark translucent strip along the top (players draw subtitles over the bottom): bold
    shot id and location, wrapped action text, and on the right the camera move and the
    episode/scene/framing/time tag. Camera moves hold the strip still, so all the text stays
    readable and in frame. A text no one font covers is drawn run by run (text.draw_text)."""
    w, h = img.size
    cap_h = round(h * CAPTION_FRACTION)
    top = 0
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    d.rectangle((0, top, w, top + cap_h), fill=(12, 12, 18, 190))
    pad = max(4, round(h * 0.018))
    shot, location, action = (str(spec.get(k, "")) for k in ("shot", "location", "action"))
    bold, small, body = (
        _font(h * 0.04, bold=True, text=shot),
        _font(h * 0.024, text=location),
        _font(h * 0.032, text=action),
    )
    col_w = min(max(bold.getlength(shot), w * 0.2), w * 0.3)
    white, grey = (255, 255, 255, 255), (200, 200, 210, 255)
    draw_text(d, (pad, top + pad), _fit(shot, bold, col_w), bold, white)
    draw_text(d, (pad, top + pad + h * 0.05), _fit(location, small, col_w), small, grey)
    x = pad * 2 + col_w
    d.line((x, top + pad, x, top + cap_h - pad), fill=(255, 255, 255, 90), width=1)
    tag_left = _draw_move_tag(d, spec, framing, tod, move, w - pad, top + pad, round(h * 0.014), h)
    line_h = h * 0.032 * 1.25
    max_lines = max(1, int((cap_h - 2 * pad) // line_h))
    lines = _wrap(action, body, tag_left - x - 3 * pad, max_lines) or [""]
    for i, line in enumerate(lines):
        draw_text(d, (x + pad, top + pad + i * line_h), line, body, white)
    return Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB")
