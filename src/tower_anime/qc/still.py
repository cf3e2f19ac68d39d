"""Still checks: decodes at the asked size, not blank, sharp, exposed, and each character of
the shot visibly present in the colours of their character sheet (and like their reference).

Every metric is a plain function of pixels, so tests and the retake loop need no Snakemake.
The storyboard backend's caption strip is left out: it is text, not picture.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..stills import caption_height
from .report import check, make_report

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601, as FFmpeg's gray


# Up to three characters share a medium or close frame at the size one would have; more are
# drawn smaller, each figure's area falling about as the cube of their count (storyboard,
# close: 6.5 % of the frame for the least of 3, 3.1 % of 4, 1.9 % of 5, 0.5 % of 8; medium
# likewise). A wide shot draws every figure at one small size, whatever the count. So the
# least share a character must cover scales by (3 / count) cubed past three, in medium and
# close shots: a five-person close shot passes its own gate with the margin one person has.
CROWD = 3


def crowd_factor(framing: str, count: int) -> float:
    """What the palette thresholds are multiplied by for `count` characters in the frame."""
    if framing == "wide" or count <= CROWD:
        return 1.0
    return (CROWD / count) ** 3


def luma(rgb: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 (float32) of an RGB uint8 array."""
    return rgb.astype(np.float32) @ LUMA


def laplacian_variance(grey: np.ndarray) -> np.ndarray:
    """Variance of the 4-neighbour Laplacian over the valid interior: the standard focus
    measure. Works on one frame (H, W) or a stack (N, H, W) -> one value per frame."""
    g = grey.astype(np.float32, copy=False)
    lap = g[..., :-2, 1:-1] + g[..., 2:, 1:-1] + g[..., 1:-1, :-2] + g[..., 1:-1, 2:] - 4.0 * g[..., 1:-1, 1:-1]
    return lap.var(axis=(-2, -1))


def hex_rgb(value: str) -> np.ndarray:
    return np.array([int(value[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


def colour_shares(rgb: np.ndarray, colours: Iterable[np.ndarray], radius: float) -> tuple[list[float], float]:
    """Share of the pixels of an 8-bit RGB picture within RGB distance `radius` of each colour
    (three whole numbers 0..255, as a sheet's hex colours give), and of any of them.

    Every squared distance is then a whole number under 2^24, which float32 holds exactly
    whatever the order of the sum: the squares are looked up per channel from a 256-entry
    table, and are the numbers that ((pixels - colour) ** 2).sum(axis=1) gives in float32,
    without three float copies of the picture per colour (~3x faster)."""
    if rgb.dtype != np.uint8:
        raise ValueError(f"colour shares are measured on 8-bit pixels, not {rgb.dtype}")
    colours = [np.asarray(c, dtype=np.float32) for c in colours]
    for c in colours:
        if not ((c == np.round(c)) & (c >= 0) & (c <= 255)).all():
            raise ValueError(f"colour {c.tolist()}: expected three whole numbers 0..255")
    planes = [rgb[..., k].ravel().astype(np.intp) for k in range(3)]
    levels = np.arange(256, dtype=np.float32)
    near_any = np.zeros(rgb.shape[:-1], dtype=bool).ravel()
    shares = []
    for c in colours:
        squared = ((levels - c[0]) ** 2)[planes[0]]
        squared += ((levels - c[1]) ** 2)[planes[1]]
        squared += ((levels - c[2]) ** 2)[planes[2]]
        near = squared <= radius * radius
        shares.append(float(near.mean()))
        near_any |= near
    return shares, float(near_any.mean())


def _line_art(colour):
    """Near-black, near-neutral: outlines and eyes, common to every drawn character."""
    return float(colour @ LUMA) < 40 and float(colour.max() - colour.min()) < 16


def reference_colours(
    path: Path | str, max_colours: int = 12, mass: float = 0.9
) -> tuple[list[np.ndarray], list[float]]:
    """The main colours of a reference picture of a character, with their weights.

    The figure is what is opaque in a picture with transparency; otherwise what differs
    from the most common border colour (a flat backdrop). Colours are grouped in bins of
    8 levels a channel; the commonest bins holding `mass` of the figure are kept, less the
    line art (it says nothing about who the character is).
    """
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"))
    rgb = rgba[..., :3]
    if (rgba[..., 3] < 255).any():
        figure = rgba[..., 3] >= 128
    else:
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        values, counts = np.unique(border, axis=0, return_counts=True)
        backdrop = values[counts.argmax()].astype(np.float32)
        figure = ((rgb.astype(np.float32) - backdrop) ** 2).sum(axis=-1) > 30.0**2
    px = rgb[figure]  # may be empty: then no colours, and no weights to divide
    binned = (px // 8).astype(np.int32)
    keys = (binned[:, 0] << 10) | (binned[:, 1] << 5) | binned[:, 2]
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    colours, weights, total = [], [], 0.0
    for i in np.argsort(-counts, kind="stable")[:max_colours]:
        colour = px[inverse == i].astype(np.float32).mean(axis=0)
        total += counts[i] / len(px)
        if not _line_art(colour):
            colours.append(colour)
            weights.append(int(counts[i]))  # pixels: made shares of the kept colours below
        if total >= mass:
            break
    s = sum(weights)
    return colours, [w / s for w in weights]


def reference_similarity(
    rgb: np.ndarray,
    ref_path: Path | str,
    radius: float,
    scales: Sequence[float] = (0.3, 0.6, 1.0),
    min_fill: float = 0.05,
) -> float:
    """How well some patch of the still shows the reference's main colours in the
    reference's proportions, 0..1 (colour histogram back-projection, Swain & Ballard).

    For windows of 30, 60 and 100 % of the picture height, the share of each main colour
    inside the window is compared with its weight in the reference (histogram
    intersection), discounted when the matching pixels fill under 5 % of the window; the
    best window wins. Half resolution: it is about where colours sit, not detail.
    """
    from scipy.ndimage import uniform_filter

    colours, weights = reference_colours(ref_path)
    if not colours:
        return 0.0
    px = rgb[::2, ::2].astype(np.float32)
    masks = [(((px - c) ** 2).sum(axis=-1) <= radius * radius).astype(np.float32) for c in colours]
    w = np.asarray(weights, dtype=np.float32)[:, None, None]
    best = 0.0
    for scale in scales:
        size = max(3, int(px.shape[0] * scale))
        local = np.stack([uniform_filter(m, size=size, mode="constant") for m in masks])
        fill = local.sum(axis=0)
        score = np.minimum(local / np.maximum(fill, 1e-9), w).sum(axis=0) * np.minimum(1.0, fill / min_fill)
        best = max(best, float(score.max()))
    return best


def _decode(path):
    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGB")), None
    except (OSError, UnidentifiedImageError, ValueError) as e:
        return None, str(e)


def still_report(
    path: Path | str, spec: dict, cfg: dict, waivers: Iterable[dict] = (), root: Path | str = "."
) -> dict[str, Any]:
    """Measure a still against its spec; cfg is config['qc']['still']."""
    item = f"{spec['episode']}/{spec['shot']}"
    rgb, error = _decode(path)
    if rgb is None:
        return make_report(
            "still", item, [check("decodes", False, "==", True)], {"file": str(path), "error": error}, waivers
        )
    height, width = rgb.shape[:2]
    checks = [
        check("decodes", True, "==", True),
        check("width", width, "==", spec["width"], "px"),
        check("height", height, "==", spec["height"], "px"),
    ]
    picture = rgb[caption_height(spec["backend"], height) :]  # under the caption strip
    grey = luma(picture)
    checks += [
        check("luma_std", round(float(grey.std()), 3), ">=", cfg["min_luma_std"]),
        check("sharpness", round(float(laplacian_variance(grey)), 2), ">=", cfg["min_sharpness"]),
        check(
            "clipped_highlights",
            round(float((grey >= cfg["highlight_level"]).mean()), 5),
            "<=",
            cfg["max_clipped_highlights"],
        ),
        check(
            "crushed_shadows", round(float((grey <= cfg["shadow_level"]).mean()), 5), "<=", cfg["max_crushed_shadows"]
        ),
    ]
    framing = spec["camera"]["framing"]
    crowd = crowd_factor(framing, len(spec["characters"]))
    floor = cfg["min_colour_share"][framing] * crowd
    measured = {}
    for char in spec["characters"]:
        cid = char["id"]
        keys = sorted(char["palette"])
        shares, coverage = colour_shares(picture, [hex_rgb(char["palette"][k]) for k in keys], cfg["palette_radius"])
        present = sum(s >= floor for s in shares)
        measured[cid] = {k: round(s, 5) for k, s in zip(keys, shares)}
        checks += [
            check(f"palette[{cid}]", round(coverage, 5), ">=", round(cfg["min_palette_coverage"][framing] * crowd, 6)),
            check(f"palette_colours[{cid}]", present, ">=", cfg["min_palette_colours"]),
        ]
        if char.get("reference_image"):
            ref = Path(root) / char["reference_image"]
            if not ref.is_file():
                checks.append(
                    check(
                        f"reference[{cid}]",
                        None,
                        ">=",
                        cfg["min_reference_similarity"],
                        error=f"reference image {ref} not found",
                    )
                )
                continue
            sim = reference_similarity(picture, ref, cfg["reference_radius"])
            checks.append(check(f"reference[{cid}]", round(sim, 4), ">=", cfg["min_reference_similarity"]))
    return make_report(
        "still",
        item,
        checks,
        {"file": str(path), "framing": framing, "seed": spec.get("seed"), "palette_shares": measured},
        waivers,
    )


def thumbnail(path: Path | str, out: Path | str, width: int = 256) -> None:
    """A small JPEG of a still for the contact sheet (grey when the still does not decode:
    its failed report must still be written)."""
    from .. import verify_output
    from ..fsutil import atomic_path

    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            im.thumbnail((width, width))
    except (OSError, UnidentifiedImageError, ValueError):
        im = Image.new("RGB", (width, width * 2 // 3), (128, 128, 128))
    with atomic_path(out, check=verify_output.image) as tmp:
        im.save(tmp, format="JPEG", quality=85)
