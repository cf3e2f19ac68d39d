"""The still gate's metrics on crafted pixels (tower_anime.qc.still): each value computed
here by another route, each threshold tried on both sides of its edge."""

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image
from scipy import ndimage

from tower_anime.config import load_config
from tower_anime.qc.still import (
    _line_art,
    colour_shares,
    hex_rgb,
    laplacian_variance,
    luma,
    reference_colours,
    reference_similarity,
    still_report,
    thumbnail,
)


def test_luma_is_rec601():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    want = [0.299 * 255, 0.587 * 255, 0.114 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30]
    assert luma(rgb)[0] == pytest.approx(want, abs=1e-3)


def _laplace_var(frame):
    """scipy's Laplacian ([1, -2, 1] along each axis), its border row and column left out."""
    return float(ndimage.laplace(frame.astype(np.float64))[1:-1, 1:-1].var())


def test_laplacian_variance_of_one_frame_and_of_a_stack():
    rng = np.random.default_rng(7)
    frames = rng.integers(0, 256, size=(3, 9, 13)).astype(np.uint8)
    frames[1] = 50  # flat: no edges at all
    assert laplacian_variance(frames[0]) == pytest.approx(_laplace_var(frames[0]), rel=1e-5)
    stacked = laplacian_variance(frames)
    assert stacked.shape == (3,)
    assert stacked.tolist() == pytest.approx([_laplace_var(f) for f in frames], rel=1e-5)
    assert stacked[1] == 0


def test_hex_rgb():
    assert hex_rgb("#1a2b3c").tolist() == [0x1A, 0x2B, 0x3C]


def test_colour_shares_counts_a_pixel_exactly_at_the_radius():
    """Distances: (0,0,0)-(3,4,0) = 5, (3,4,0)-(6,8,0) = 5, (0,0,0)-(6,8,0) = 10."""
    rgb = np.array([[[0, 0, 0], [3, 4, 0]], [[6, 8, 0], [100, 100, 100]]], dtype=np.uint8)
    colours = [np.array(c, dtype=np.float32) for c in ((0, 0, 0), (3, 4, 0), (100, 100, 100))]
    shares, near_any = colour_shares(rgb, colours, 5.0)
    assert shares == [0.5, 0.75, 0.25] and near_any == 1.0
    shares, near_any = colour_shares(rgb, colours, 4.99)
    assert shares == [0.25, 0.25, 0.25] and near_any == 0.75


@pytest.mark.parametrize("radius", [0, 1, 4.99, 5.0, 40.5, 41.23, 441.7])
def test_colour_shares_by_table_are_the_float32_sums(radius):
    """8-bit pixels and whole-number colours take the squares from a table: the shares are
    the float32 sums' own (noise, so every distance occurs; a colour at each end of the range)."""
    rng = np.random.default_rng(int(radius * 100))
    rgb = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    colours = [np.array(c, dtype=np.float32) for c in ((0, 0, 0), (255, 255, 255), (23, 140, 201), (128, 0, 255))]
    px = rgb.reshape(-1, 3).astype(np.float32)
    near = [((px - c) ** 2).sum(axis=1) <= radius * radius for c in colours]
    want = [float(n.mean()) for n in near], float(np.logical_or.reduce(near).mean())
    assert colour_shares(rgb, colours, radius) == want
    assert colour_shares(rgb[5:], colours, radius) == colour_shares(rgb[5:].copy(), colours, radius)


@pytest.mark.parametrize("colour", [(0, 0, 0.5), (-1, 0, 0), (0, 256, 0), (0, 0, 255.5)])
def test_colour_shares_take_whole_colours_0_to_255_only(colour):
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    ok = [np.array((0, 255, 0), dtype=np.float32)]
    with pytest.raises(ValueError, match="three whole numbers 0..255"):
        colour_shares(rgb, ok + [np.array(colour, dtype=np.float32)], 5.0)


def test_colour_shares_take_8_bit_pixels_only():
    with pytest.raises(ValueError, match="8-bit pixels"):
        colour_shares(np.zeros((2, 2, 3), dtype=np.uint16), [np.zeros(3, dtype=np.float32)], 5.0)


@pytest.mark.parametrize(
    "colour,line",
    [
        ((39, 39, 39), True),  # luma 39: dark enough
        ((40, 40, 40), False),  # luma exactly 40: not
        ((10, 10, 25), True),  # channels 15 apart: neutral enough
        ((10, 10, 26), False),  # 16 apart: a colour
        ((0, 0, 60), False),  # dark (luma 6.8) but saturated
        ((100, 100, 100), False),  # neutral but light
    ],
)
def test_line_art_is_dark_and_neutral(colour, line):
    assert _line_art(np.array(colour, dtype=np.float32)) is line


def save_rgba(tmp_path, pixels, name="ref.png"):
    path = tmp_path / name
    Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGBA").save(path)
    return path


def blocks(width, fill, runs):
    """An RGBA picture `width` wide: runs of (count, rgba) in reading order, then `fill` (a
    row of it at least: with a clear fill, the picture has transparency)."""
    px = [c for n, c in runs for _ in range(n)]
    total = (-(-len(px) // width) + 1) * width  # a row of fill at least
    px += [fill] * (total - len(px))
    return np.array(px, dtype=np.uint8).reshape(-1, width, 4)


def as_table(colours, weights):
    return sorted((tuple(round(float(v), 3) for v in c), round(float(w), 6)) for c, w in zip(colours, weights))


CLEAR = (0, 0, 0, 0)


def test_the_figure_is_what_is_at_least_half_opaque(tmp_path):
    """40 red opaque pixels, 20 green at alpha 128 (in), 20 blue at alpha 127 (out)."""
    red, green, blue = (200, 40, 40), (40, 200, 40), (40, 40, 200)
    ref = save_rgba(tmp_path, blocks(10, CLEAR, [(40, (*red, 255)), (20, (*green, 128)), (20, (*blue, 127))]))
    assert as_table(*reference_colours(ref)) == as_table([red, green], [40 / 60, 20 / 60])


def test_an_opaque_reference_leaves_out_its_backdrop_and_what_is_30_levels_near_it(tmp_path):
    """Grey backdrop; 4 pixels 30 levels from it (backdrop), 4 pixels 31 away and 8 red (figure)."""
    grey, near, far, red = (128, 128, 128, 255), (128, 128, 158, 255), (128, 128, 159, 255), (200, 40, 40, 255)
    pixels = blocks(10, grey, [(10, grey), (4, near), (4, far), (8, red)])
    pixels = np.concatenate([pixels, np.full((2, 10, 4), grey, dtype=np.uint8)])  # backdrop all round
    ref = save_rgba(tmp_path, pixels)
    assert as_table(*reference_colours(ref)) == as_table([far[:3], red[:3]], [4 / 12, 8 / 12])


def test_colours_in_other_bins_stay_apart(tmp_path):
    """Four colours two of which differ in red alone, two in green alone, and two whose
    bins (1, 0, 31) and (0, 16, 31) would collide if green were shifted into red's bits."""
    a, b, c, d = (12, 4, 250), (4, 132, 250), (200, 4, 250), (4, 200, 250)
    runs = [(10, (*a, 255)), (9, (*b, 255)), (8, (*c, 255)), (7, (*d, 255))]
    ref = save_rgba(tmp_path, blocks(10, CLEAR, runs))
    assert as_table(*reference_colours(ref)) == as_table([a, b, c, d], [10 / 34, 9 / 34, 8 / 34, 7 / 34])


def test_colours_a_level_apart_across_a_bin_edge_stay_apart_and_within_a_bin_merge(tmp_path):
    """Bins are 8 levels: 199 and 200 fall in two (24, 25), 200 and 207 in one."""
    runs = [(6, (199, 60, 60, 255)), (4, (200, 60, 60, 255)), (4, (207, 60, 60, 255))]
    ref = save_rgba(tmp_path, blocks(10, CLEAR, runs))
    assert as_table(*reference_colours(ref)) == as_table([(199, 60, 60), (203.5, 60, 60)], [6 / 14, 8 / 14])


def test_at_most_twelve_colours_are_kept(tmp_path):
    """16 colours of equal share: the commonest 12 hold 75 % of the figure, under the 90 % mass."""
    runs = [(4, (16 * i + 4, 100, 200, 255)) for i in range(16)]
    colours, weights = reference_colours(save_rgba(tmp_path, blocks(8, CLEAR, runs)))
    assert len(colours) == 12 and weights == pytest.approx([1 / 12] * 12)


def test_colours_stop_once_they_hold_90_percent_of_the_figure(tmp_path):
    """Shares 50 / 45 / 5 %: the first two hold 95 %, the third is left out."""
    red, green, blue = (200, 40, 40), (40, 200, 40), (40, 40, 200)
    runs = [(50, (*red, 255)), (45, (*green, 255)), (5, (*blue, 255))]
    ref = save_rgba(tmp_path, blocks(10, CLEAR, runs))
    assert as_table(*reference_colours(ref)) == as_table([red, green], [50 / 95, 45 / 95])


def test_the_mass_is_reached_when_equalled(tmp_path):
    """Shares 8, 4, 3 and 1 of 16 with mass 3/4: two colours (binary fractions: exact sums)."""
    red, green, blue = (200, 40, 40), (40, 200, 40), (40, 40, 200)
    runs = [(8, (*red, 255)), (4, (*green, 255)), (3, (*blue, 255)), (1, (200, 200, 40, 255))]
    ref = save_rgba(tmp_path, blocks(8, CLEAR, runs))
    assert as_table(*reference_colours(ref, mass=0.75)) == as_table([red, green], [2 / 3, 1 / 3])


def test_line_art_counts_toward_the_mass_but_is_not_kept(tmp_path):
    """Black outline 50 %, red 45 %, green 5 %: outline and red hold 95 %: red alone is kept."""
    runs = [(50, (0, 0, 0, 255)), (45, (200, 40, 40, 255)), (5, (40, 200, 40, 255))]
    ref = save_rgba(tmp_path, blocks(10, CLEAR, runs))
    assert as_table(*reference_colours(ref)) == as_table([(200, 40, 40)], [1.0])


@pytest.mark.parametrize("figure", [0, 1])
def test_a_reference_with_no_figure_or_one_pixel(tmp_path, figure):
    runs = [(figure, (200, 40, 40, 255))]
    colours, weights = reference_colours(save_rgba(tmp_path, blocks(4, CLEAR, runs)))
    assert as_table(colours, weights) == ([((200.0, 40.0, 40.0), 1.0)] if figure else [])


# --- reference_similarity: a 200x200 grey picture (100x100 at the half size measured) with
# blocks of the reference's two colours, red and blue, half and half of its figure. Within a
# window the score is 1 when the matching pixels are half red, half blue, times
# min(1, fill / 5 %) (fill: their share of the window); windows are 30, 60 and 100 px tall.

RED, BLUE, GREY = (200, 40, 40), (40, 40, 200), (128, 128, 128)


@pytest.fixture
def two_colour_ref(tmp_path):
    return save_rgba(tmp_path, blocks(10, CLEAR, [(20, (*RED, 255)), (20, (*BLUE, 255))]))


def picture(*rects, width=100, height=100):
    """rects: (colour, top, left, rows, cols) in half-size pixels, drawn 2x2 at full size;
    width, height: of the half-size picture."""
    rgb = np.full((2 * height, 2 * width, 3), GREY, dtype=np.uint8)
    for colour, top, left, rows, cols in rects:
        rgb[2 * top : 2 * (top + rows), 2 * left : 2 * (left + cols)] = colour
    return rgb


def test_similarity_of_a_small_patch_is_found_by_the_30_percent_window(two_colour_ref):
    """A 6x6 patch, half red half blue: in a 30 px window (30 % of the height, not of the
    width, 150) it fills 36/900 = 4 % -> 0.8; the 60 and 100 px windows see 1 % and 0.36 %."""
    rgb = picture((RED, 47, 47, 6, 3), (BLUE, 47, 50, 6, 3), width=150)
    assert reference_similarity(rgb, two_colour_ref, 20.0) == pytest.approx((36 / 900) / 0.05, abs=1e-4)


def test_similarity_of_a_pair_30_px_apart_is_found_by_the_60_percent_window(two_colour_ref):
    """Two 12x12 blocks, red and blue, 30 px apart: no 30 px window holds both (red alone
    scores its weight, 0.5); a 60 px window holds both, 288/3600 = 8 % full -> 1; the whole
    picture holds both at 2.88 % -> 0.576."""
    rgb = picture((RED, 20, 20, 12, 12), (BLUE, 20, 62, 12, 12))
    assert reference_similarity(rgb, two_colour_ref, 20.0) == pytest.approx(1.0, abs=1e-4)


def test_similarity_of_blocks_in_opposite_corners_is_found_by_the_whole_picture(two_colour_ref):
    """Red top left, blue bottom right: only the 100 px window holds both, 288/10000 full
    -> 0.576; a window of one colour scores 0.5 at most."""
    rgb = picture((RED, 0, 0, 12, 12), (BLUE, 88, 88, 12, 12))
    assert reference_similarity(rgb, two_colour_ref, 20.0) == pytest.approx((288 / 10000) / 0.05, abs=1e-4)


def test_similarity_samples_every_second_pixel(two_colour_ref):
    """The colours on odd rows and columns alone: at half size the picture is all grey."""
    rgb = np.full((200, 200, 3), GREY, dtype=np.uint8)
    rgb[1::2, 1:100:2] = RED
    rgb[1::2, 101::2] = BLUE
    assert reference_similarity(rgb, two_colour_ref, 20.0) == 0.0
    rgb[::2, ::2] = rgb[1::2, 1::2]  # and on even ones too: the picture is half red, half blue
    assert reference_similarity(rgb, two_colour_ref, 20.0) == pytest.approx(1.0, abs=1e-4)


def test_similarity_to_a_reference_of_line_art_alone_is_zero(tmp_path):
    ref = save_rgba(tmp_path, blocks(10, CLEAR, [(20, (0, 0, 0, 255))]))
    assert reference_similarity(picture((RED, 0, 0, 50, 50)), ref, 20.0) == 0.0


# --- still_report on crafted 100x40 pictures (a backend with no caption strip) ----------------

QC = load_config(ROOT / "config" / "config.yaml")["qc"]["still"]


def report_of(tmp_path, rgb, framing="medium", characters=()):
    path = tmp_path / "still.png"
    Image.fromarray(rgb).save(path)
    spec = {
        "episode": "ep",
        "shot": "sh",
        "width": rgb.shape[1],
        "height": rgb.shape[0],
        "backend": "comfyui",
        "camera": {"framing": framing},
        "characters": list(characters),
    }
    return {c["metric"]: c for c in still_report(path, spec, QC)["checks"]}


def test_exposure_counts_pixels_on_the_highlight_and_shadow_levels(tmp_path):
    """Rows of grey 250 (the highlight level: clipped), 249, 6 and 5 (the shadow level:
    crushed) and 100; grey is its own luma, so the values follow from the row counts."""
    assert (QC["highlight_level"], QC["shadow_level"]) == (250, 5)
    levels = [250] * 10 + [5] * 8 + [249, 6] + [100] * 20
    rgb = np.repeat(np.array(levels, dtype=np.uint8)[:, None, None], 100, axis=1).repeat(3, axis=2)
    checks = report_of(tmp_path, rgb)
    assert checks["clipped_highlights"]["value"] == 10 / 40
    assert checks["crushed_shadows"]["value"] == 8 / 40
    grey = np.repeat(np.array(levels, dtype=np.float64)[:, None], 100, axis=1)
    assert checks["luma_std"]["value"] == pytest.approx(grey.std(), abs=1e-3)
    assert checks["sharpness"]["value"] == pytest.approx(_laplace_var(grey), abs=0.01)


PALETTE = {"a": "#c83232", "b": "#32c832", "c": "#3232c8", "d": "#c8c832"}


@pytest.mark.parametrize("framing,present", [("wide", 3), ("medium", 2), ("close", 1)])
def test_a_colour_is_present_from_its_framings_share_up(tmp_path, framing, present):
    """Of 4000 pixels: 8 of colour a (0.2 %: the medium floor exactly), 7 of b (0.175 %),
    16 of c (0.4 %: the close floor), none of d. Floors: wide 0.04 %, medium 0.2 %, close 0.4 %."""
    assert QC["min_colour_share"] == {"wide": 0.0004, "medium": 0.002, "close": 0.004}
    rgb = np.full((40, 100, 3), 100, dtype=np.uint8)
    flat = rgb.reshape(-1, 3)
    flat[0:8], flat[100:107], flat[200:216] = (200, 50, 50), (50, 200, 50), (50, 50, 200)
    checks = report_of(tmp_path, rgb, framing, [{"id": "x", "palette": PALETTE}])
    assert checks["palette_colours[x]"]["value"] == present
    assert checks["palette_colours[x]"]["pass"] is (present >= QC["min_palette_colours"])
    assert checks["palette[x]"]["value"] == 31 / 4000
    assert checks["palette[x]"]["threshold"] == QC["min_palette_coverage"][framing]


def _edges(b, f):
    """10x10, opaque: the top row backdrop `b`, the bottom row figure `f`; the left column b
    in rows 0-5, the right column b in rows 0-4, f under them; inside all f but for the ends
    of row 1 (b, the left and right columns). Edges: 21 pixels of b, 19 of f: the backdrop
    is b. Read row 1 for the top edge instead and f has 27: the backdrop would turn."""
    px = np.empty((10, 10, 3), dtype=np.uint8)
    px[:] = f
    px[0] = b
    px[:6, 0] = b
    px[:5, 9] = b
    return px


@pytest.mark.parametrize("turn", ["top", "bottom", "left", "right"])
def test_the_backdrop_is_the_commonest_colour_of_all_four_edges(tmp_path, turn):
    """The same picture turned so that the edge whose inner neighbour would change the
    verdict is each edge in turn; the backdrop is a colour whose channels all differ."""
    b, f = (40, 90, 160), (200, 40, 40)
    px = _edges(b, f)
    px = {"top": px, "bottom": px[::-1], "left": px.transpose(1, 0, 2), "right": px.transpose(1, 0, 2)[:, ::-1]}[turn]
    rgba = np.concatenate([px, np.full((10, 10, 1), 255, dtype=np.uint8)], axis=2)
    ref = save_rgba(tmp_path, rgba)
    assert as_table(*reference_colours(ref)) == as_table([f], [1.0])


def test_similarity_counts_colours_up_to_the_radius(two_colour_ref):
    """The pair of blocks in colours 5 levels from the reference's ((3, 4, 0) away)."""
    off = np.array([3, 4, 0])
    rgb = picture((tuple(np.add(RED, off)), 20, 20, 12, 12), (tuple(np.add(BLUE, off)), 20, 62, 12, 12))
    assert reference_similarity(rgb, two_colour_ref, 5.0) == pytest.approx(1.0, abs=1e-4)
    assert reference_similarity(rgb, two_colour_ref, 4.99) == 0.0


def test_a_window_is_3_px_at_least(tmp_path):
    """A picture 6 px tall (half size): 30 % and 60 % of it is under 3 px, so both windows
    are 3 px. The reference is 2/3 red, 1/3 blue. One row holds, from column 9: blue, red,
    grey, blue, red, blue. A 3 px window holds one red and one blue at best (score 1/2 +
    1/3); only a 4 px one could hold red, blue, red (2 to 1: score 1); a 6 px window (the
    whole height) holds two of each at best, or two blue to one red."""
    ref = save_rgba(tmp_path, blocks(10, CLEAR, [(20, (*RED, 255)), (10, (*BLUE, 255))]))
    row = [(BLUE, 9), (RED, 10), (BLUE, 12), (RED, 13), (BLUE, 14)]
    rgb = picture(*[(c, 2, col, 1, 1) for c, col in row], width=40, height=6)
    assert reference_similarity(rgb, ref, 20.0) == pytest.approx(1 / 2 + 1 / 3, abs=1e-4)


def test_a_missing_reference_fails_its_check_and_says_which_file(tmp_path):
    characters = [{"id": "x", "palette": PALETTE, "reference_image": "sheets/x.png"}]
    path = tmp_path / "still.png"
    Image.fromarray(np.full((40, 100, 3), 100, dtype=np.uint8)).save(path)
    spec = {"episode": "ep", "shot": "sh", "width": 100, "height": 40, "backend": "comfyui"}
    spec |= {"camera": {"framing": "wide"}, "characters": characters}
    report = still_report(path, spec, QC, root=tmp_path)
    check = next(c for c in report["checks"] if c["metric"] == "reference[x]")
    assert check == {
        "metric": "reference[x]",
        "value": None,
        "op": ">=",
        "threshold": QC["min_reference_similarity"],
        "unit": "",
        "pass": False,
        "error": f"reference image {tmp_path / 'sheets/x.png'} not found",
    }


def _jpeg_dc_step(quality):
    """The DC step of libjpeg's luminance table at `quality` (IJG scaling of the base 16)."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return max(1, (16 * scale + 50) // 100)


def test_thumbnails_are_256_wide_jpegs_of_quality_85_and_mid_grey_for_a_bad_still(tmp_path):
    Image.fromarray(np.full((512, 768, 3), (200, 40, 40), dtype=np.uint8)).save(tmp_path / "s.png")
    thumbnail(tmp_path / "s.png", tmp_path / "s.jpg")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    thumbnail(tmp_path / "junk.png", tmp_path / "junk.jpg")
    with Image.open(tmp_path / "s.jpg") as good, Image.open(tmp_path / "junk.jpg") as bad:
        assert good.format == bad.format == "JPEG"
        assert good.size == (256, round(512 * 256 / 768))
        assert good.quantization[0][0] == bad.quantization[0][0] == _jpeg_dc_step(85)
        assert bad.size == (256, 256 * 2 // 3)
        assert np.asarray(bad).min() == np.asarray(bad).max() == 128  # flat: the JPEG keeps it exactly
