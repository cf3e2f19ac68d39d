"""The grey decode under the clip gate (tower_anime.qc.frames): the levels each pixel format
is read in, the contact-sheet strip's geometry, and what a failed decode reports."""

import os

import numpy as np
import pytest
from PIL import Image

from tower_anime.errors import MediaError
from tower_anime.media import ffmpeg
from tower_anime.qc.frames import GREY, LUMA_PLANE, grey_chunks, luma_filter


@pytest.mark.parametrize(
    "stream,first,levels",
    [
        ({"pix_fmt": "yuv420p"}, LUMA_PLANE, (16, 235)),  # no range given: limited, as FFmpeg assumes
        ({"pix_fmt": "yuv420p", "color_range": "tv"}, LUMA_PLANE, (16, 235)),
        ({"pix_fmt": "yuv420p", "color_range": "pc"}, LUMA_PLANE, (0, 255)),
        ({"pix_fmt": "yuv444p10le", "color_range": "tv"}, LUMA_PLANE, (16, 235)),
        ({"pix_fmt": "yuvj420p"}, LUMA_PLANE, (0, 255)),  # the J formats are full range by name
        ({"pix_fmt": "nv12"}, LUMA_PLANE, (16, 235)),
        ({"pix_fmt": "nv21", "color_range": "pc"}, LUMA_PLANE, (0, 255)),
        ({"pix_fmt": "rgb24"}, GREY, (0, 255)),  # not YUV: converted to grey, always full range
        ({"pix_fmt": "rgb24", "color_range": "tv"}, GREY, (0, 255)),
        ({"pix_fmt": "gray"}, GREY, (0, 255)),
        ({}, GREY, (0, 255)),
    ],
)
def test_each_pixel_format_is_read_in_its_own_levels(stream, first, levels):
    assert luma_filter(stream) == (first, levels)


def test_the_strip_is_the_chosen_frames_192_wide_side_by_side_4_apart(tmp_path):
    """5 frames of 320x176: the decode yields each of them in grey at the asked size, and the
    strip holds frames 0, 2 and 4 scaled to 192 wide (height kept in proportion, rounded to
    the nearest even number), with 4 pixels between them."""
    clip = tmp_path / "clip.mp4"
    ffmpeg(
        ["-f", "lavfi", "-i", "testsrc2=s=320x176:r=24", "-frames:v", "5", "-pix_fmt", "yuv420p", clip],
        "a test clip",
    )
    thumb = tmp_path / "strip.jpg"
    frames = np.concatenate(list(grey_chunks(clip, 160, 88, GREY, thumb, (0, 2, 4))))
    assert frames.shape == (5, 88, 160) and frames.dtype == np.uint8
    height = 2 * round(192 * 176 / 320 / 2)  # 105.6 -> 106 (-3 would give 105, a bare 2 gives 2)
    with Image.open(thumb) as strip:
        assert strip.size == (3 * 192 + 2 * 4, height)


def fake_ffmpeg(tmp_path, monkeypatch, script):
    """An `ffmpeg` first on PATH that runs `script` (sh) instead of decoding."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "ffmpeg"
    exe.write_text("#!/bin/sh\n" + script + "\n")
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_failed_decode_reports_its_exit_code_and_the_last_six_lines(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, 'for i in 1 2 3 4 5 6 7 8; do echo "decoder line $i" >&2; done\nexit 3')
    path = tmp_path / "clip.mp4"
    with pytest.raises(MediaError) as err:
        list(grey_chunks(path, 4, 2))
    lines = "\n".join(f"decoder line {i}" for i in range(3, 9))
    assert str(err.value) == f"decoding {path} failed (exit 3):\n{lines}"


def test_a_failed_decode_keeps_its_one_line_whole(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, 'echo "clip.mp4: Invalid data found when processing input" >&2\nexit 1')
    with pytest.raises(MediaError) as err:
        list(grey_chunks(tmp_path / "clip.mp4", 4, 2))
    assert str(err.value).splitlines()[-1] == "clip.mp4: Invalid data found when processing input"


def test_frames_given_before_a_failure_are_yielded_then_the_failure_raised(tmp_path, monkeypatch):
    """Three whole 4x2 frames and half of a fourth, then exit 1: three frames come out (the
    partial one is dropped), and the decode still fails."""
    fake_ffmpeg(tmp_path, monkeypatch, "head -c 28 /dev/zero\necho broken >&2\nexit 1")
    got = []
    with pytest.raises(MediaError, match="exit 1"):
        for chunk in grey_chunks(tmp_path / "clip.mp4", 4, 2):
            got.append(chunk)
    assert [c.shape for c in got] == [(3, 2, 4)]


def test_a_decode_that_succeeds_silently_raises_nothing(tmp_path, monkeypatch):
    fake_ffmpeg(tmp_path, monkeypatch, "exit 0")
    assert list(grey_chunks(tmp_path / "clip.mp4", 4, 2)) == []
