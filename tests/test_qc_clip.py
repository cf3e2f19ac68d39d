"""Clip checks on a real camera-move clip and on crafted bad ones (tower_anime.qc.clip)."""

import pytest
from conftest import ROOT

from tower_anime.clips.camera import render_camera_clip
from tower_anime.config import load_config
from tower_anime.media import ffmpeg
from tower_anime.qc.clip import clip_report
from tower_anime.stills import caption_height
from tower_anime.stills import storyboard as sb

QC = load_config(ROOT / "config" / "config.yaml")["qc"]["clip"]
FRAMES = 49


def clip_spec(move="push_in", backend="camera", frames=FRAMES):
    still = {
        "episode": "ep",
        "scene": "sc",
        "shot": "sh1",
        "location": "Neo-Tokyo street market",
        "time_of_day": "night",
        "camera": {"move": move, "framing": "medium"},
        "action": "Akira runs.",
        "seed": 3,
        "width": 768,
        "height": 512,
        "backend": "storyboard",
        "characters": [
            {
                "id": "akira",
                "name": "Akira",
                "palette": {"hair": "#17141f", "skin": "#e8b98a", "outfit": "#00a8ff", "accent": "#b8c4d0"},
            }
        ],
    }
    return {
        "still": still,
        "frames": frames,
        "fps": 24,
        "backend": backend,
        "hold_top": caption_height("storyboard", 512),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A still, its push-in clip and its static clip (rendered once for the module)."""
    d = tmp_path_factory.mktemp("clips")
    spec = clip_spec()
    sb.render_storyboard(spec["still"], d / "still.png")
    other = dict(spec["still"], location="corporate tower office", time_of_day="day", seed=99)
    sb.render_storyboard(other, d / "other.png")
    render_camera_clip(spec, d / "still.png", d / "push_in.mp4")
    render_camera_clip(clip_spec("static"), d / "still.png", d / "static.mp4")
    return d


def altered(made, tmp_path, vf, name="bad.mp4"):
    """The push-in clip re-encoded through an FFmpeg filter that breaks it on purpose."""
    out = tmp_path / name
    ffmpeg(
        [
            "-i",
            made / "push_in.mp4",
            "-vf",
            vf,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-crf",
            "18",
            "-pix_fmt",
            "yuv420p",
            out,
        ],
        "altering a test clip",
    )
    return out


def failed(report):
    return {c["metric"] for c in report["checks"] if not c["pass"]}


def test_a_camera_move_passes_every_check_and_writes_a_thumbnail_strip(made, tmp_path):
    report = clip_report(made / "push_in.mp4", clip_spec(), QC, made / "still.png", thumb=tmp_path / "t.jpg")
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]
    values = {c["metric"]: c["value"] for c in report["checks"]}
    assert values["frames"] == FRAMES and values["first_frame_ssim"] > 0.95 and values["black_fraction"] == 0
    from PIL import Image

    with Image.open(tmp_path / "t.jpg") as strip:  # first, middle, last frame side by side
        assert strip.width > 3 * 180 and strip.height < 200


def test_a_frozen_generated_clip_fails_but_the_static_camera_move_is_exempt(made):
    generated = clip_report(made / "static.mp4", clip_spec("static", backend="i2v"), QC, made / "still.png")
    frozen = next(c for c in generated["checks"] if c["metric"] == "frozen_seconds")
    assert not frozen["pass"] and frozen["value"] == pytest.approx(FRAMES / 24, abs=0.01)
    camera = clip_report(made / "static.mp4", clip_spec("static"), QC, made / "still.png")
    frozen = next(c for c in camera["checks"] if c["metric"] == "frozen_seconds")
    assert camera["pass"] and frozen["pass"] and "by design" in frozen["exempt"]


def test_black_frames_fail(made, tmp_path):
    bad = altered(made, tmp_path, "eq=brightness=-1:contrast=0:enable='between(n,10,40)'")
    report = clip_report(bad, clip_spec(), QC, made / "still.png")
    assert "black_fraction" in failed(report)
    assert next(c["value"] for c in report["checks"] if c["metric"] == "black_fraction") == pytest.approx(
        31 / 49, abs=0.03
    )


def black_fraction(report):
    return next(c["value"] for c in report["checks"] if c["metric"] == "black_fraction")


def test_black_is_measured_in_the_streams_own_range(made, tmp_path):
    """Frames 10-40 made one flat dark grey. In limited range (black 16) a luma of 26 is grey
    12 of 255: black (under 8 % = 20); in full range (black 0) a luma of 30 is grey 30: not
    black. Read in the other range, each verdict turns over."""
    dark = "lutyuv=y={}:u=128:v=128:enable='between(n,10,40)'"
    limited = altered(made, tmp_path, dark.format(26), "limited.mp4")
    assert black_fraction(clip_report(limited, clip_spec(), QC, made / "still.png")) == pytest.approx(31 / 49, abs=0.01)
    full = tmp_path / "full.mkv"
    ffmpeg(
        ["-i", made / "push_in.mp4", "-vf", "format=yuvj420p," + dark.format(30), "-c:v", "mjpeg", "-q:v", "2", full],
        "a full-range test clip",
    )
    assert black_fraction(clip_report(full, clip_spec(), QC, made / "still.png")) == 0


def test_flicker_fails(made, tmp_path):
    bad = altered(made, tmp_path, "eq=brightness=0.12:enable='mod(n,2)'")
    assert failed(clip_report(bad, clip_spec(), QC, made / "still.png")) == {"max_luma_jump"}


def test_going_soft_part_way_fails_sharpness(made, tmp_path):
    bad = altered(made, tmp_path, "gblur=sigma=8:enable='gte(n,25)'")
    assert {"min_sharpness", "sharpness_ratio"} <= failed(clip_report(bad, clip_spec(), QC, made / "still.png"))


def test_a_first_frame_unlike_its_still_fails(made):
    report = clip_report(made / "push_in.mp4", clip_spec(), QC, made / "other.png")
    assert failed(report) == {"first_frame_ssim"}
    # a pull-out starts on a crop by design: the camera backend is exempt there
    pull = clip_report(made / "push_in.mp4", clip_spec("pull_out"), QC, made / "other.png")
    assert "first_frame_ssim" not in failed(pull)


def test_wrong_length_and_undecodable(made, tmp_path):
    assert {"frames", "duration"} <= failed(clip_report(made / "push_in.mp4", clip_spec(frames=60), QC))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    report = clip_report(junk, clip_spec(), QC, thumb=tmp_path / "junk.jpg")
    assert failed(report) == {"decodes"} and report["pass"] is False
    assert (tmp_path / "junk.jpg").stat().st_size > 0  # a grey place-holder on the contact sheet


@pytest.mark.parametrize("codec", [["-c:v", "mjpeg", "-pix_fmt", "yuvj420p", "-q:v", "2"], ["-c:v", "png"]])
def test_full_range_and_rgb_clips_measure_the_same(made, tmp_path, codec):
    """Full-range YUV (levels 0-255) and RGB (decoded again through a grey conversion)."""
    other = tmp_path / "other.mkv"
    ffmpeg(["-i", made / "push_in.mp4", *codec, other], "re-encoding a test clip")
    ref = clip_report(made / "push_in.mp4", clip_spec(), QC, made / "still.png")
    report = clip_report(other, clip_spec(), QC, made / "still.png")
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]
    values = {c["metric"]: c["value"] for c in ref["checks"]}
    for c in report["checks"]:
        if c["metric"] in ("max_luma_jump", "first_frame_ssim"):
            assert c["value"] == pytest.approx(values[c["metric"]], abs=0.05), c


# --- generated clips: what the ComfyUI test double answers, under the ComfyUI config ---------


def generated(tmp_path, frames_of, name, n=65, width=256, height=160):
    """A clip encoded like the test double's SaveVideo (H.264 High, yuv420p) from PIL frames."""
    import numpy as np
    from comfyui_server import _picture

    still = _picture(width, height, seed=3)
    still.save(tmp_path / "still.png")
    raw = b"".join(np.asarray(f.convert("RGB")).tobytes() for f in frames_of(still, n))
    (tmp_path / "raw.rgb").write_bytes(raw)
    out = tmp_path / name
    ffmpeg(
        [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-r",
            "24",
            "-i",
            tmp_path / "raw.rgb",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            out,
        ],
        "encode",
    )
    spec = clip_spec(backend="comfyui", frames=n)
    spec["still"].update(width=width, height=height, backend="comfyui")
    spec["hold_top"] = 0
    return out, spec


def comfyui_clip_qc():
    """qc.clip with config/comfyui.yaml on top of config/config.yaml (it sets no clip threshold:
    the defaults are the ones measured here)."""
    import yaml

    over = yaml.safe_load((ROOT / "config" / "comfyui.yaml").read_text()).get("qc", {}).get("clip", {})
    return {**QC, **over}


@pytest.mark.parametrize("size", [(256, 160), (768, 512)])
def test_the_doubles_push_in_over_a_photograph_passes(tmp_path, size):
    from comfyui_server import _push_in

    n = 65 if size[0] == 256 else 121
    path, spec = generated(tmp_path, _push_in, "pan.mp4", n, *size)
    report = clip_report(path, spec, comfyui_clip_qc(), still_path=tmp_path / "still.png")
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]


@pytest.mark.parametrize(
    "frames_of,fails",
    [
        (lambda still, n: [still] * n, {"frozen_seconds"}),  # never moves
        (
            lambda still, n: [still.point(lambda v: v // 12)] * 2 + [still.point(lambda v: 0)] * (n - 2),
            {"black_fraction", "first_frame_ssim", "frozen_seconds"},
        ),  # goes black
    ],
)
def test_frozen_and_black_generated_clips_fail(tmp_path, frames_of, fails):
    path, spec = generated(tmp_path, frames_of, "bad.mp4")
    report = clip_report(path, spec, comfyui_clip_qc(), still_path=tmp_path / "still.png")
    assert fails <= failed(report), failed(report)
