"""The dialogue-stem checks on their edges: 10 ms frames, the -55 dBFS floor (louder than it is
speech, at it is not), a frame belonging to the shot its middle lies in (a shot's edges
included), half a line heard being enough, one stray frame tolerated, the last 50 ms."""

import numpy as np
import pytest

from tower_anime.qc.speech import active_frames, speech_checks

RATE = 48000


def tone(seconds, *spans, amplitude=0.3):
    """Silence with a 220 Hz tone over each (start, end) span, in whole samples."""
    samples = np.zeros(round(seconds * RATE), dtype=np.float32)
    for start, end in spans:
        a, b = round(start * RATE), round(end * RATE)
        samples[a:b] = amplitude * np.sin(2 * np.pi * 220 * np.arange(b - a) / RATE)
    return samples


def by_metric(samples, placed, picture):
    checks, _ = speech_checks(samples, RATE, placed, picture)
    return {c["metric"]: c for c in checks}


def cue(shot, window, voice_seconds=1.0, **more):
    return {"line": f"{shot}_l1", "shot": shot, "window": list(window), "voice_seconds": voice_seconds, **more}


def test_frames_are_10_ms():
    assert len(active_frames(np.zeros(RATE, dtype=np.float32), RATE)) == 100
    one = np.zeros(RATE // 10, dtype=np.float32)
    one[480:960] = 0.5  # the second 10 ms at 48 kHz
    assert active_frames(one, RATE).tolist() == [False, True] + [False] * 8
    # exactly one frame's samples make one frame; one sample fewer, none
    assert active_frames(np.full(480, 0.5, dtype=np.float32), RATE).tolist() == [True]
    assert active_frames(np.full(479, 0.5, dtype=np.float32), RATE).tolist() == []


def test_a_rate_under_100_hz_has_one_sample_a_frame():
    # 10 ms is less than one sample: each sample is its own frame rather than none
    assert active_frames(np.array([0.5, 0.0, 0.5, 0.0, 0.0]), 50).tolist() == [True, False, True, False, False]


def test_the_floor_is_55_dbfs_and_at_it_is_silence():
    at = 10 ** (-55 / 20)  # an RMS of exactly -55 dBFS
    assert 20 * np.log10(at) == -55.0
    assert active_frames(np.full(480, at), RATE).tolist() == [False]
    assert active_frames(np.full(480, 10 ** (-54.9 / 20)), RATE).tolist() == [True]
    assert active_frames(np.full(480, 10 ** (-55.1 / 20)), RATE).tolist() == [False]
    # a sine's RMS is its amplitude over sqrt(2): amplitude 10^(-52/20) is -55.01 dBFS RMS
    sine = 10 ** (-52 / 20) * np.sin(2 * np.pi * 1000 * np.arange(RATE) / RATE)
    assert not active_frames(sine, RATE).any()
    assert active_frames(sine * 1.01, RATE).all()  # -54.93 dBFS


def test_a_shots_edges_hold_the_frames_whose_middle_is_on_them():
    # frame 0 (0-10 ms) has its middle at 5 ms, frame 1 at 15 ms: the window's edges
    checks = by_metric(tone(1.0, (0.0, 0.02)), [cue("s1", (0.005, 0.015), 0.02)], 1.0)
    assert checks["speech_outside_its_shots"]["value"] == 0.0
    assert checks["speech_in_shot[s1]"]["value"] == 0.02


def test_a_frame_belongs_to_the_shot_its_middle_lies_in():
    placed = [cue("s1", (0.0, 2.997))]
    # the frame 2.99-3.00 s has its middle (2.995) before the cut at 2.997: inside
    assert by_metric(tone(4.0, (2.0, 3.0)), placed, 4.0)["speech_outside_its_shots"]["value"] == 0.0
    # the frame 3.00-3.01 s is outside
    assert by_metric(tone(4.0, (2.0, 3.01)), placed, 4.0)["speech_outside_its_shots"]["value"] == 0.01
    # a window starting at 6 ms leaves out the frame 0-10 ms (middle 5 ms)
    late = by_metric(tone(4.0, (0.0, 1.0)), [cue("s1", (0.006, 4.0))], 4.0)
    assert late["speech_outside_its_shots"]["value"] == 0.01


def test_half_the_line_heard_is_the_edge():
    placed = [cue("s1", (0.0, 3.0), 1.0, tempo=1.0)]
    half = by_metric(tone(3.0, (0.4, 0.9)), placed, 3.0)["speech_in_shot[s1]"]
    assert (half["value"], half["threshold"], half["pass"]) == (0.5, 0.5, True)
    less = by_metric(tone(3.0, (0.4, 0.89)), placed, 3.0)["speech_in_shot[s1]"]
    assert (less["value"], less["pass"]) == (0.49, False)


def test_a_line_without_a_tempo_is_expected_at_its_own_length():
    checks = by_metric(tone(3.0, (0.4, 1.4)), [cue("s1", (0.0, 3.0), 1.2)], 3.0)
    assert checks["speech_in_shot[s1]"]["threshold"] == 0.6
    two = [cue("s1", (0.0, 3.0), 1.2), {**cue("s1", (0.0, 3.0), 0.4), "line": "s1_l2"}]
    assert by_metric(tone(3.0, (0.4, 1.4)), two, 3.0)["speech_in_shot[s1]"]["threshold"] == 0.8  # (1.2 + 0.4) / 2


def test_one_stray_frame_is_tolerated_two_are_not():
    placed = [cue("s1", (0.0, 3.0)), cue("s3", (4.0, 6.0))]
    one = by_metric(tone(6.0, (2.0, 3.01), (4.4, 5.4)), placed, 6.0)["speech_outside_its_shots"]
    assert (one["value"], one["pass"]) == (0.01, True)
    two = by_metric(tone(6.0, (2.0, 3.02), (4.4, 5.4)), placed, 6.0)["speech_outside_its_shots"]
    assert (two["value"], two["pass"]) == (0.02, False)


@pytest.mark.parametrize("start,cut", [(5.94, 0.0), (5.95, 0.01)])
def test_the_frame_whose_middle_is_50_ms_before_the_end_is_in_the_tail(start, cut):
    # picture 6.005 s: the tail starts at 5.955 s, the middle of the frame 5.95-5.96 s
    checks = by_metric(tone(6.005, (4.4, 5.4), (start, start + 0.01)), [cue("s3", (4.0, 6.005))], 6.005)
    assert checks["speech_cut_at_end"]["value"] == cut
    assert checks["dialogue_stem_samples_off_picture"]["value"] == 0
