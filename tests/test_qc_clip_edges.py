"""The clip gate's per-frame measures on crafted frames (tower_anime.qc.clip.FrameStats):
black levels and ratio in each range, the hold's edge, which frames are measured for
sharpness, and the mapping to 0..255 grey; each expected value computed here."""

import numpy as np
import pytest
from conftest import ROOT
from PIL import Image
from scipy import ndimage

from tower_anime.config import load_config
from tower_anime.errors import MediaError
from tower_anime.media import ffmpeg
from tower_anime.qc.clip import FrameStats, clip_report, exempt_reason, measure, thumb_frames


def frames(*values, size=10):
    """One size x size uint8 frame per value: an int (flat) or an array."""
    return np.stack([np.full((size, size), v, dtype=np.uint8) if np.isscalar(v) else v for v in values])


def part(value, count, rest=255, size=10):
    """A frame with `count` pixels of `value` and the others `rest`."""
    flat = np.full(size * size, rest, dtype=np.uint8)
    flat[:count] = value
    return flat.reshape(size, size)


def test_black_is_judged_against_each_ranges_level():
    """black_threshold 0.5: the level is 16 + 0.5 x 219 = 125.5 in limited range and
    0.5 x 255 = 127.5 in full range."""
    stats = FrameStats(0.5, 0.98, 0.001)
    stats.add(frames(125, 126, 127, 128))
    assert stats.full((16, 235))["black"] == [True, False, False, False]
    assert stats.full((0, 255))["black"] == [True, True, True, False]


def test_a_pixel_on_the_black_level_is_black():
    """black_threshold 0.2: the full-range level is 0.2 x 255 = 51 exactly."""
    stats = FrameStats(0.2, 0.98, 0.001)
    stats.add(frames(51, 52))
    assert stats.full((0, 255))["black"] == [True, False]


def test_a_picture_is_black_from_98_percent_of_black_pixels():
    stats = FrameStats(0.08, 0.98, 0.001)
    stats.add(frames(part(0, 98), part(0, 97), part(0, 100)))
    assert stats.full((0, 255))["black"] == [True, False, True]
    assert stats.full((16, 235))["black"] == [True, False, True]


def test_a_hold_ends_on_a_difference_of_freeze_noise_of_the_range():
    """freeze_noise 1/255: a mean absolute difference under 1 level holds in full range, under
    219/255 = 0.859 in limited range. Frame 1 differs from frame 0 by 0.9 a pixel: held in
    full range only; frame 2 differs from frame 0 by exactly 1 (not held in full range) and
    from frame 1 by 0.1; frame 3 repeats frame 2."""
    f0 = np.full((10, 10), 100, dtype=np.uint8)
    f1 = part(101, 90, rest=100)
    f2 = np.full((10, 10), 101, dtype=np.uint8)
    stats = FrameStats(0.08, 0.98, 1 / 255)
    stats.add(frames(f0, f1, f2, f2))
    assert stats.held == {"pc": [0, 1, 0, 1], "tv": [0, 0, 1, 2]}
    assert stats.full((0, 255))["held"] == 1
    assert stats.full((16, 235))["held"] == 2


def test_no_frame_holds_nothing():
    assert FrameStats(0.08, 0.98, 0.001).full((0, 255))["held"] == 0


def _laplace_var(frame):
    return float(ndimage.laplace(frame.astype(np.float64))[1:-1, 1:-1].var())


def test_sharpness_is_measured_on_every_fourth_frame_across_chunks():
    """Ten frames of ever stronger checkerboards, given in chunks of 3, 5 and 2: frames 0, 4
    and 8 are measured."""
    board = np.indices((10, 10)).sum(axis=0) % 2
    clip = frames(*[(board * 10 * (k + 1)).astype(np.uint8) for k in range(10)])
    stats = FrameStats(0.08, 0.98, 0.001)
    for chunk in (clip[:3], clip[3:8], clip[8:]):
        stats.add(chunk)
    assert stats.count == 10
    want = [_laplace_var(clip[k]) for k in (0, 4, 8)]
    assert stats.full((0, 255))["sharp"].tolist() == pytest.approx(want, rel=1e-6)
    g = 255 / 219  # limited range: each level is 255/219 grey levels, the variance g^2 times
    assert stats.full((16, 235))["sharp"].tolist() == pytest.approx([v * g * g for v in want], rel=1e-6)


def test_means_and_first_frame_are_mapped_from_the_stream_levels_to_grey():
    first = np.repeat(np.repeat(np.array([[10, 16], [126, 240]], dtype=np.uint8), 2, 0), 2, 1)
    stats = FrameStats(0.08, 0.98, 0.001)  # first: under black, black, mid grey, over white
    stats.add(frames(first, 126, 235, size=4))
    g = 255 / 219
    means = [(first.mean() - 16) * g, (126 - 16) * g, (235 - 16) * g]
    np.testing.assert_allclose(stats.full((16, 235))["means"], means)
    want = np.repeat(np.repeat(np.array([[0, 0], [110 * g, 255]]), 2, 0), 2, 1)
    np.testing.assert_allclose(stats.full((16, 235))["first"], want, rtol=1e-6)
    np.testing.assert_allclose(stats.full((0, 255))["means"], [first.mean(), 126, 235])
    np.testing.assert_array_equal(stats.full((0, 255))["first"], first)


def test_the_first_frame_is_the_first_chunks_first():
    stats = FrameStats(0.08, 0.98, 0.001)
    stats.add(frames(40, 50))
    stats.add(frames(60))
    assert stats.full((0, 255))["first"].tolist() == np.full((10, 10), 40).tolist()


# --- clip_report on crafted clips: grey frames kept exactly (FFV1, gray), 2x2 blocks so the
# half-size decode averages nothing away; full-range grey, so a level is a grey value -----------

QC = load_config(ROOT / "config" / "config.yaml")["qc"]["clip"]


def clip(tmp_path, pictures, fps=24, name="clip.mkv"):
    """A lossless grey clip of the (H, W) uint8 `pictures`."""
    pictures = [np.asarray(p, dtype=np.uint8) for p in pictures]
    height, width = pictures[0].shape
    raw = tmp_path / (name + ".raw")
    raw.write_bytes(b"".join(p.tobytes() for p in pictures))
    out = tmp_path / name
    ffmpeg(
        ["-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{width}x{height}", "-r", str(fps), "-i", raw]
        + ["-c:v", "ffv1", "-pix_fmt", "gray", out],
        "a crafted grey clip",
    )
    return out


def spec_of(pictures, fps=24, move="push_in", backend="i2v", hold_top=0):
    height, width = np.shape(pictures[0])
    still = {"episode": "ep", "shot": "sh", "width": width, "height": height, "camera": {"move": move}}
    return {"still": still, "frames": len(pictures), "fps": fps, "backend": backend, "hold_top": hold_top}


def checks_of(tmp_path, pictures, fps=24, still=None, **spec):
    report = clip_report(clip(tmp_path, pictures, fps), spec_of(pictures, fps, **spec), QC, still)
    return {c["metric"]: c for c in report["checks"]}


def blocky(half):
    """A full-size picture from a half-size one: each pixel a 2x2 block."""
    return np.repeat(np.repeat(np.asarray(half, dtype=np.uint8), 2, axis=0), 2, axis=1)


def board(amplitude, shape=(12, 16)):
    """A checkerboard of 0 and `amplitude`, one half-size pixel a square."""
    return (np.indices(shape).sum(axis=0) % 2 * amplitude).astype(np.uint8)


def test_sharpness_is_measured_at_half_size(tmp_path):
    """A checkerboard of half-size pixels: at half size every interior Laplacian is +-4A, so
    its variance is 16 A^2 (at any other scale the squares blur into grey)."""
    pictures = [blocky(board(40)), blocky(board(30)), blocky(board(40)), blocky(board(30))]
    checks = checks_of(tmp_path, pictures)
    assert checks["min_sharpness"]["value"] == 16 * 40**2  # frame 0 alone is measured (every 4th)
    assert checks["sharpness_ratio"]["value"] == 1.0


def test_sharpness_over_time_and_its_ratio(tmp_path):
    amplitudes = [40, 0, 0, 0, 20, 0, 0, 0, 30]  # frames 0, 4 and 8 are measured
    checks = checks_of(tmp_path, [blocky(board(a)) for a in amplitudes])
    assert checks["min_sharpness"]["value"] == 16 * 20**2
    assert checks["sharpness_ratio"]["value"] == round(20**2 / 40**2, 4)


def test_a_clip_with_no_sharp_frame_has_a_ratio_of_zero(tmp_path):
    checks = checks_of(tmp_path, [blocky(np.full((12, 16), 90))] * 2)
    assert checks["min_sharpness"]["value"] == 0 and checks["sharpness_ratio"]["value"] == 0.0


def test_the_held_top_strip_is_left_out_rounded_up_to_half_size_rows(tmp_path):
    """hold_top 5 full-size rows is 2.5 half-size rows: 3 are left out. Half-size rows 0-2 are
    white, the rest black: every frame is black below the strip."""
    half = np.zeros((12, 16), dtype=np.uint8)
    half[:3] = 255
    pictures = [blocky(half)] * 4
    assert checks_of(tmp_path, pictures, hold_top=5)["black_fraction"]["value"] == 1.0
    half[2] = 0  # 2 white rows: hold_top 3 leaves out 2 rows (1.5 rounded up)
    assert checks_of(tmp_path, [blocky(half)] * 4, hold_top=3)["black_fraction"]["value"] == 1.0
    assert checks_of(tmp_path, [blocky(half)] * 4, hold_top=2)["black_fraction"]["value"] == 0.0


def test_counts_rate_size_duration_black_and_jumps(tmp_path):
    """8 frames at 25 fps, 32x24: frames 2, 3 and 5 black; means 0, 100 and 160 levels; the
    longest run of equal frames two long (frames 0-1, 2-3, 6-7)."""
    means = [100, 100, 0, 0, 100, 0, 160, 160]
    checks = checks_of(tmp_path, [blocky(np.full((12, 16), m)) for m in means], fps=25)
    values = {k: c["value"] for k, c in checks.items()}
    assert values["frames"] == 8 and values["fps"] == 25.0
    assert (values["width"], values["height"]) == (32, 24)
    assert values["duration"] == 8 / 25
    assert values["black_fraction"] == 3 / 8
    assert values["max_luma_jump"] == 160
    assert values["frozen_seconds"] == round(2 / 25, 3)


def test_a_two_frame_clip_measures_its_one_jump(tmp_path):
    checks = checks_of(tmp_path, [blocky(np.full((12, 16), 50)), blocky(np.full((12, 16), 80))])
    assert checks["max_luma_jump"]["value"] == 30


def test_a_one_frame_clip_has_no_jump(tmp_path):
    checks = checks_of(tmp_path, [blocky(np.full((12, 16), 80))])
    assert checks["max_luma_jump"]["value"] == 0 and checks["frames"]["value"] == 1
    assert checks["decodes"]["value"] is True  # one frame decoded is a clip that decodes


def test_frozen_seconds_count_the_held_frames_and_the_one_that_began_the_hold(tmp_path):
    """Frames 0-2 moving, then 9 identical frames at 24 fps: 8 held after the first of them."""
    moving = [blocky(board(a)) for a in (40, 80, 120)]
    checks = checks_of(tmp_path, moving + [blocky(board(200))] * 9)
    assert checks["frozen_seconds"]["value"] == round(9 / 24, 3)
    assert checks["frozen_seconds"]["pass"] is (9 / 24 <= QC["max_frozen_seconds"])


def test_the_first_frame_is_compared_with_the_still_under_the_held_strip(tmp_path):
    """The clip starts on the still but for its top strip (4 full-size rows, held): the
    picture under the strip is the same, SSIM 1; a still of other content scores lower."""
    half = board(120)
    pictures = [blocky(half), blocky(board(60))]
    still = np.array(pictures[0])
    still[:4] = 255 - still[:4]  # the strip differs: it is left out
    Image.fromarray(still).save(tmp_path / "still.png")
    checks = checks_of(tmp_path, pictures, still=tmp_path / "still.png", hold_top=4)
    assert checks["first_frame_ssim"]["value"] == 1.0 and "exempt" not in checks["first_frame_ssim"]
    Image.fromarray(blocky(np.roll(half, 1, axis=1) // 2)).save(tmp_path / "other.png")
    checks = checks_of(tmp_path, pictures, still=tmp_path / "other.png", hold_top=4)
    assert checks["first_frame_ssim"]["value"] < QC["min_first_frame_ssim"]
    assert checks["first_frame_ssim"]["pass"] is False


def test_the_first_frame_check_is_exempt_by_design_or_without_a_still(tmp_path):
    pictures = [blocky(board(120)), blocky(board(60))]
    Image.fromarray(blocky(board(10))).save(tmp_path / "other.png")
    assert QC["first_frame_exempt"]["camera"] == ["pull_out", "pan_left", "pan_right"]
    pull = checks_of(tmp_path, pictures, still=tmp_path / "other.png", move="pull_out", backend="camera")
    c = pull["first_frame_ssim"]
    assert c["value"] is None and c["pass"] is True
    assert c["exempt"] == "starts away from the still by design: 'pull_out' on the camera backend (qc.clip config)"
    c = checks_of(tmp_path, pictures)["first_frame_ssim"]
    assert (c["value"], c["pass"], c["exempt"]) == (None, True, "no still given to compare with")


def test_a_frozen_clip_is_exempt_only_for_its_backends_listed_moves(tmp_path):
    pictures = [blocky(board(120))] * 30  # 30 frames at 24 fps: frozen 1.25 s, over 1 s
    camera = checks_of(tmp_path, pictures, move="static", backend="camera")["frozen_seconds"]
    assert camera["value"] == round(30 / 24, 3) and camera["pass"] is True
    assert camera["exempt"] == "still by design: 'static' on the camera backend (qc.clip config)"
    i2v = checks_of(tmp_path, pictures, move="static", backend="i2v")["frozen_seconds"]
    assert i2v["pass"] is False and "exempt" not in i2v


def test_exempt_reason_with_no_table():
    assert exempt_reason(None, "camera", "static", "still") is None
    assert exempt_reason({"camera": ["static"]}, "camera", "push_in", "still") is None
    assert exempt_reason({"camera": ["static"]}, "i2v", "static", "still") is None


@pytest.mark.parametrize(
    "count,picked", [(0, ()), (1, (0,)), (2, (0, 1)), (3, (0, 1, 2)), (4, (0, 1, 3)), (5, (0, 2, 4)), (49, (0, 24, 48))]
)
def test_the_strip_shows_the_first_middle_and_last_frames(count, picked):
    assert thumb_frames(count) == picked


def test_a_file_with_no_video_stream_is_refused(tmp_path):
    wav = tmp_path / "a.wav"
    ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "0.1", wav], "a silent wav")
    with pytest.raises(MediaError, match="has no video stream"):
        measure(wav, spec_of([np.zeros((24, 32))]), QC)


def test_a_decode_that_fails_on_a_yuv_clip_is_raised_not_measured(tmp_path):
    """The clip probes well, but the decode cannot write its strip (no such folder)."""
    path = tmp_path / "yuv.mp4"
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=s=32x24:r=24", "-frames:v", "3", "-pix_fmt", "yuv420p", path], "a yuv clip")
    spec = spec_of([np.zeros((24, 32))] * 3)
    with pytest.raises(MediaError, match="decoding"):
        measure(path, spec, QC, thumb=tmp_path / "no" / "such" / "strip.jpg")


def test_a_clip_cut_short_is_refused_by_its_packet_count_and_gets_a_grey_place(tmp_path):
    """Half of a 48-frame MP4 with its index in front: the decode beside the probe reads what
    is there, and the report is verify_output.video's verdict (not a short frame count)."""
    path = tmp_path / "cut.mp4"
    ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=64x48:r=24", "-frames:v", "48", "-pix_fmt", "yuv420p"]
        + ["-c:v", "libx264", "-qp", "0", "-movflags", "+faststart", path],
        "a clip to cut",
    )
    with open(path, "r+b") as f:
        f.truncate(path.stat().st_size // 2)
    report = clip_report(path, spec_of([np.zeros((48, 64))] * 48), QC, thumb=tmp_path / "strip.jpg")
    assert [c["metric"] for c in report["checks"]] == ["decodes"] and report["pass"] is False
    assert report["error"].startswith("it is damaged or cut short: ")
    with Image.open(tmp_path / "strip.jpg") as strip:
        assert np.asarray(strip).min() == np.asarray(strip).max() == 128


def test_a_clip_that_does_not_decode_gets_a_mid_grey_place_on_the_sheet(tmp_path):
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x1a\x45\xdf\xa3" + b"\x00" * 200)
    report = clip_report(junk, spec_of([np.zeros((24, 32))]), QC, thumb=tmp_path / "strip.jpg")
    assert [c["metric"] for c in report["checks"]] == ["decodes"] and report["pass"] is False
    with Image.open(tmp_path / "strip.jpg") as strip:
        assert strip.size == (192, 128)
        assert np.asarray(strip).min() == np.asarray(strip).max() == 128


def test_no_frame_measures_no_sharpness():
    assert FrameStats(0.08, 0.98, 0.001).full((0, 255))["sharp"].tolist() == [0.0]


def test_the_first_frame_ssim_is_over_the_full_grey_range(tmp_path):
    """A first frame unlike its still, measured against the still's half-size grey: the
    value is scikit-image's SSIM of the two crafted half-size pictures, data range 255."""
    from skimage.metrics import structural_similarity

    first, other = board(120), (np.roll(board(120), 1, axis=1) // 2 + 30).astype(np.uint8)
    Image.fromarray(blocky(other)).save(tmp_path / "other.png")
    checks = checks_of(tmp_path, [blocky(first), blocky(board(60))], still=tmp_path / "other.png")
    want = structural_similarity(other.astype(np.float32), first.astype(np.float32), data_range=255.0)
    assert checks["first_frame_ssim"]["value"] == round(float(want), 4)


def test_without_a_held_strip_no_row_is_left_out(tmp_path):
    """The top half-size row white, the rest black, no hold_top in the spec: the white row
    is measured (1/12 of the picture: over the 2 % a black picture allows)."""
    half = np.zeros((12, 16), dtype=np.uint8)
    half[0] = 255
    pictures = [blocky(half)] * 2
    spec = spec_of(pictures)
    del spec["hold_top"]
    report = clip_report(clip(tmp_path, pictures), spec, QC)
    assert next(c["value"] for c in report["checks"] if c["metric"] == "black_fraction") == 0.0


def test_a_quarter_of_black_frames_passes_on_the_limit(tmp_path):
    """8 frames, 2 black: 0.25, max_black_fraction exactly."""
    assert QC["max_black_fraction"] == 0.25
    means = [100, 0, 0, 110, 120, 130, 140, 150]
    c = checks_of(tmp_path, [blocky(np.full((12, 16), m)) for m in means])["black_fraction"]
    assert (c["value"], c["pass"]) == (0.25, True)


@pytest.mark.parametrize("count,passes", [(24, True), (25, False)])
def test_a_hold_of_one_second_passes_on_the_limit(tmp_path, count, passes):
    """One picture held 24 frames at 24 fps: 1 s, max_frozen_seconds exactly; 25 frames: over."""
    assert QC["max_frozen_seconds"] == 1.0
    c = checks_of(tmp_path, [blocky(board(120))] * count)["frozen_seconds"]
    assert (c["value"], c["pass"]) == (round(count / 24, 3), passes)


def test_a_clip_that_never_repeats_a_frame_is_not_frozen(tmp_path):
    c = checks_of(tmp_path, [blocky(np.full((12, 16), 50)), blocky(np.full((12, 16), 80))])["frozen_seconds"]
    assert (c["value"], c["pass"]) == (0.0, True)


def test_each_check_passes_on_its_own_threshold(tmp_path):
    """Every threshold set to exactly the value measured: each check passes (>= and <=
    include their threshold)."""
    amplitudes = [40, 0, 0, 0, 20, 0, 0, 0, 30]  # jumps, black frames, a hold, sharpness over time
    pictures = [blocky(board(a)) for a in amplitudes]
    Image.fromarray(pictures[0]).save(tmp_path / "still.png")
    path = clip(tmp_path, pictures)
    spec = spec_of(pictures)
    measured = {c["metric"]: c["value"] for c in clip_report(path, spec, QC, tmp_path / "still.png")["checks"]}
    keys = {
        "black_fraction": "max_black_fraction",
        "frozen_seconds": "max_frozen_seconds",
        "max_luma_jump": "max_luma_jump",
        "min_sharpness": "min_sharpness",
        "sharpness_ratio": "min_sharpness_ratio",
        "first_frame_ssim": "min_first_frame_ssim",
    }
    assert measured["black_fraction"] > 0 and measured["frozen_seconds"] > 0 and measured["first_frame_ssim"] == 1.0
    cfg = dict(QC, **{key: measured[metric] for metric, key in keys.items()})
    report = clip_report(path, spec, cfg, tmp_path / "still.png")
    assert {c["metric"]: c["pass"] for c in report["checks"] if c["metric"] in keys} == dict.fromkeys(keys, True)


def test_a_faint_clip_still_has_a_sharpness_ratio(tmp_path):
    """One half-size pixel a level brighter than the rest: its Laplacian variance is under 1,
    yet above 0: the ratio of two such frames is measured (1), not taken as 0."""
    half = np.full((12, 16), 100, dtype=np.uint8)
    half[5, 7] = 101
    checks = checks_of(tmp_path, [blocky(half)] * 5)
    assert 0 < _laplace_var(half) < 1
    assert checks["min_sharpness"]["value"] == round(_laplace_var(half), 2)
    assert checks["sharpness_ratio"]["value"] == 1.0


def test_a_decode_with_no_frame_and_no_rate_fails_decodes_and_counts_as_black(tmp_path, monkeypatch):
    """What clip_report makes of a decode that gave nothing (measure stood in for)."""
    import tower_anime.qc.clip as qc_clip

    pictures = [blocky(board(120))] * 2
    path = clip(tmp_path, pictures)
    empty = FrameStats(0.08, 0.98, 0.001).full((0, 255))
    monkeypatch.setattr(qc_clip, "measure", lambda *a, **k: (32, 24, 0.0, empty, 0))
    checks = {c["metric"]: c for c in clip_report(path, spec_of(pictures), QC)["checks"]}
    assert (checks["decodes"]["value"], checks["decodes"]["pass"]) == (False, False)
    assert checks["black_fraction"]["value"] == 1.0
    assert checks["duration"]["value"] == 0.0
    assert checks["frozen_seconds"]["value"] == 0.0
    assert checks["max_luma_jump"]["value"] == 0.0
