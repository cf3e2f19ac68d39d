"""The picture in segments (episode/segments.py): the segments cover the timeline frame for
frame, joined they are the whole join's picture pixel for pixel, and a segment's spec changes
only when its own picture does."""

import subprocess

import numpy as np
import pytest
from test_assemble import CFG, plan_of, write_clip

from tower_anime.episode.master import video_graph
from tower_anime.episode.segments import encode_segments, join_segments, segment_specs
from tower_anime.media import graph, output, source

# x264 at constant quality 0 is lossless: any difference left is the segmentation's
LOSSLESS = {**CFG["output"], "video_crf": 0}


def decoded(args):
    raw = subprocess.run(["ffmpeg", "-v", "error", *args], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8)


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    d = tmp_path_factory.mktemp("segments")
    timeline = plan_of().timeline()
    clips = []
    for i, row in enumerate(timeline["shots"]):
        clips.append(d / f"{row['shot']}.mp4")
        write_clip(clips[-1], i, row["frames"])
    return timeline, clips, d


def assert_covers(timeline, specs):
    """Each segment starts on its shot's first frame on the timeline, and together they hold
    every frame once."""
    starts = {r["shot"]: r["start_frame"] for r in timeline["shots"]}
    at = 0
    for spec in specs:
        assert spec["frames"] > 0 and at == starts[spec["shot"]], spec["shot"]
        at += spec["frames"]
    assert at == timeline["total_frames"]


def test_each_segment_starts_where_its_shot_starts_and_they_cover_the_timeline(episode):
    timeline, _, _ = episode
    specs = segment_specs(timeline)
    assert [s["shot"] for s in specs] == [r["shot"] for r in timeline["shots"]]
    assert_covers(timeline, specs)
    crossfaded = [s for s in specs if len(s["inputs"]) == 2]
    assert crossfaded, "the test episode has crossfades"
    for spec in crossfaded:
        before, own = spec["shots"]
        # the earlier shot's frames outside the crossfade are its own segment's
        assert spec["start"] == before["frames"] - own["transition_frames"]


def test_joined_segments_are_the_whole_join_pixel_for_pixel(episode, tmp_path):
    timeline, clips, _ = episode
    w, h = timeline["width"], timeline["height"]
    whole = video_graph(timeline, [source(c).video for c in clips])
    expected = decoded(graph(output(whole, "-", f="rawvideo", pix_fmt="yuv420p")))
    parts = encode_segments(timeline, [source(c).video for c in clips], tmp_path / "parts", LOSSLESS)
    join_segments(parts, tmp_path / "joined.mkv", timeline["total_frames"])
    got = decoded(["-i", str(tmp_path / "joined.mkv"), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
    frame = w * h * 3 // 2
    assert got.size == expected.size == timeline["total_frames"] * frame
    differ = np.flatnonzero((got.reshape(-1, frame) != expected.reshape(-1, frame)).any(axis=1))
    assert differ.size == 0, f"frames {differ[:10].tolist()} differ"


def test_a_segment_changes_only_with_its_own_picture(episode):
    timeline, _, _ = episode
    before = segment_specs(timeline)
    k = next(i for i, s in enumerate(before) if len(s["inputs"]) == 2)  # crossfades in from shot k-1
    longer = {**timeline, "shots": [dict(r) for r in timeline["shots"]]}
    longer["shots"][k - 1]["frames"] += 3
    for row in longer["shots"][k:]:
        row["start_frame"] += 3
    longer["total_frames"] += 3
    after = segment_specs(longer)
    changed = {b["shot"] for b, a in zip(before, after, strict=True) if b != a}
    assert changed == {before[k - 1]["shot"], before[k]["shot"]}


def test_a_shot_the_next_crossfade_takes_whole_has_no_segment_of_its_own(tmp_path):
    """b (12 frames) is all crossfade into c: c's segment holds it, and the join is still the
    whole join pixel for pixel."""
    rows = [("a", 24, "cut", 0), ("b", 12, "cut", 0), ("c", 30, "crossfade", 12)]
    shots, at = [], 0
    for sid, frames, kind, d in rows:
        at -= d
        shots.append(
            {
                "shot": sid,
                "scene": sid,
                "start_frame": at,
                "frames": frames,
                "transition_in": kind,
                "transition_frames": d,
            }
        )
        at += frames
    timeline = {**plan_of().timeline(), "shots": shots, "total_frames": at, "fade_in_frames": 0, "fade_out_frames": 0}
    specs = segment_specs(timeline)
    assert [s["shot"] for s in specs] == ["a", "c"]
    assert specs[1]["inputs"] == [1, 2] and specs[1]["start"] == 0
    assert_covers(timeline, specs)
    clips = []
    for i, (sid, frames, _, _) in enumerate(rows):
        clips.append(tmp_path / f"{sid}.mp4")
        write_clip(clips[-1], i, frames)
    whole = video_graph(timeline, [source(c).video for c in clips])
    expected = decoded(graph(output(whole, "-", f="rawvideo", pix_fmt="yuv420p")))
    parts = encode_segments(timeline, [source(c).video for c in clips], tmp_path / "parts", LOSSLESS)
    join_segments(parts, tmp_path / "joined.mkv", at)
    got = decoded(["-i", str(tmp_path / "joined.mkv"), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
    assert got.size == expected.size and np.array_equal(got, expected)
