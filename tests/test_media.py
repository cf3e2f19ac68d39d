"""Media building blocks against real FFmpeg: camera clips, the join graph, QC of clips."""

import json

import ffgraph
import pytest
from conftest import ROOT
from PIL import Image

from tower_anime.clips import render_clip
from tower_anime.clips.camera import crop_boxes
from tower_anime.config import load_config
from tower_anime.episode.master import video_graph
from tower_anime.errors import GateFailed, MediaError
from tower_anime.media import count_frames, ffmpeg, graph, output, probe, source
from tower_anime.qc.clip import clip_report
from tower_anime.qc.report import require_pass, write_report

THRESHOLDS = load_config(ROOT / "config" / "config.yaml")["qc"]["clip"]  # the defaults


def clip_spec(move, frames=25, shot="x"):
    return {
        "still": {
            "episode": "t",
            "shot": shot,
            "camera": {"move": move, "framing": "medium"},
            "width": 256,
            "height": 160,
        },
        "frames": frames,
        "fps": 24,
        "backend": "camera",
    }


@pytest.fixture
def still(tmp_path):
    img = Image.new("RGB", (256, 160))
    for x in range(256):  # a gradient, so a move changes the picture
        for y in range(0, 160, 8):
            img.putpixel((x, y), (x, 255 - x, 128))
    path = tmp_path / "still.png"
    img.save(path)
    return path


@pytest.mark.parametrize("move", ["static", "push_in", "pull_out", "pan_left", "pan_right"])
def test_camera_clip_has_exact_frames_size_and_rate(tmp_path, still, move):
    out = tmp_path / f"{move}.mp4"
    render_clip(clip_spec(move, frames=25), still, out)
    video = probe(out)["streams"][0]
    assert (video["codec_name"], video["width"], video["height"], video["r_frame_rate"]) == ("h264", 256, 160, "24/1")
    assert count_frames(out) == 25
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_moves_differ_and_unknown_move_is_refused():
    assert crop_boxes("push_in", 121, 768, 512) != crop_boxes("pull_out", 121, 768, 512)
    assert crop_boxes("pan_left", 121, 768, 512) != crop_boxes("pan_right", 121, 768, 512)
    with pytest.raises(MediaError, match="unknown camera move 'dolly'"):
        crop_boxes("dolly", 121, 768, 512)


def test_video_graph_uses_concat_for_cuts_and_xfade_with_offsets():
    tl = {
        "fps": 24,
        "total_frames": 158,
        "shots": [
            {"frames": 49, "transition_in": "cut", "transition_frames": 0},
            {"frames": 60, "transition_in": "cut", "transition_frames": 0},
            {"frames": 61, "transition_in": "crossfade", "transition_frames": 12},
        ],
    }
    args = graph(output(video_graph(tl, [source(f"{i}.mp4").video for i in range(3)]), "out.mkv"))
    assert args[: args.index("-filter_complex")] == ["-i", "0.mp4", "-i", "1.mp4", "-i", "2.mp4"]
    nodes, labels = ffgraph.parse_graph(args[args.index("-filter_complex") + 1])

    def sources(ref):  # the input streams a link comes from
        if ref[0] == "stream":
            return {ref[1]}
        node = nodes[(labels[ref[1]] if ref[0] == "link" else ref)[1]]
        return set().union(*(sources(r) for r in node[2]))

    def named(name):  # (options by name, the sources of each input) of the one filter `name`
        (node,) = [n for n in nodes if n[0] == name]
        return dict(node[1][1]), [sources(r) for r in node[2]]

    assert named("concat") == ({"n": "2", "v": "1", "a": "0"}, [{"0:v"}, {"1:v"}])
    options, xfade_inputs = named("xfade")
    assert xfade_inputs == [{"0:v", "1:v"}, {"2:v"}]
    assert options == {
        "transition": "custom",
        "expr": "B+(A-B)*P*0.923077+0.5",  # the later shot at (k+1)/13 at overlapped frame k
        "duration": "0.500000",
        "offset": "4.041667",  # (49+60-12)/24
    }
    # every clip cut to its planned frames
    trims = {
        frozenset(sources(("pad", k, 0))): dict(n[1][1])["end_frame"] for k, n in enumerate(nodes) if n[0] == "trim"
    }
    assert trims == {frozenset({"0:v"}): "49", frozenset({"1:v"}): "60", frozenset({"2:v"}): "61"}
    # the picture mapped: all three shots, renumbered after the last join
    assert args[-3] == "-map" and args[-1] == "out.mkv"
    mapped = ("link", args[-2][1:-1])
    assert nodes[labels[mapped[1]][1]][:2] == ["setpts", (("N",), ())] and sources(mapped) == {"0:v", "1:v", "2:v"}


def test_clip_qc_passes_a_good_clip_and_fails_a_black_one(tmp_path, still):
    good = tmp_path / "good.mp4"
    render_clip(clip_spec("push_in"), still, good)
    report = clip_report(good, clip_spec("push_in"), THRESHOLDS)
    assert report["pass"], report

    black = tmp_path / "black.mp4"
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "color=black:s=256x160:r=24",
            "-frames:v",
            "25",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            str(black),
        ],
        "black clip",
    )
    bad = clip_report(black, clip_spec("push_in", shot="dark"), THRESHOLDS)
    failed = {c["metric"] for c in bad["checks"] if not c["pass"]}
    assert "black_fraction" in failed  # (a black clip is also frozen and has no detail)

    path = tmp_path / "dark.json"
    write_report(path, bad)
    with pytest.raises(GateFailed) as exc:
        require_pass([path])
    msg = str(exc.value)
    value = next(c["value"] for c in bad["checks"] if c["metric"] == "black_fraction")
    assert value > 0.9
    assert f"clip t/dark: black_fraction = {value} (required <= 0.25)" in msg and str(path) in msg
    assert json.loads(path.read_text())["pass"] is False


def test_clip_qc_catches_a_wrong_frame_count(tmp_path, still):
    out = tmp_path / "short.mp4"
    render_clip(clip_spec("static", frames=20), still, out)
    report = clip_report(out, clip_spec("static", frames=25), THRESHOLDS)
    assert {c["metric"] for c in report["checks"] if not c["pass"]} == {"frames", "duration"}


def test_caption_strip_stays_put_while_the_camera_moves(tmp_path, still):
    import numpy as np

    spec = {**clip_spec("push_in", frames=25), "hold_top": 32}
    out = tmp_path / "held.mp4"
    render_clip(spec, still, out)
    first, last = tmp_path / "first.png", tmp_path / "last.png"
    ffmpeg(["-i", str(out), "-frames:v", "1", str(first)], "first frame")
    ffmpeg(["-sseof", "-0.05", "-i", str(out), "-frames:v", "1", str(last)], "last frame")
    a = np.asarray(Image.open(first).convert("L"), dtype=float)
    b = np.asarray(Image.open(last).convert("L"), dtype=float)
    assert np.abs(a[:30] - b[:30]).mean() < 3  # the strip: unchanged
    assert np.abs(a[-100:] - b[-100:]).mean() > 3  # the picture below: moved
