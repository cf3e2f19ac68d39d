"""The subtitle checks on their edges, at 25 fps (a frame is 40 ms, so every edge is a whole
millisecond): each limit met exactly passes and missed by one step fails, the worst event is
the one reported, events are given to the lines by their text and then by their voice's
start, stray events are listed, and SRT times with hours are read."""

import math

import pytest

from tower_anime.qc.subtitles import match_lines, parse_srt, subtitle_checks

FPS = 25
OFFSET = 3  # frames an event may start off its voice: 0.12 s
LIMITS = {
    "max_chars_per_line": 42,
    "max_lines": 2,
    "max_chars_per_second": 20,
    "min_duration_frames": 10,
    "max_duration_seconds": 7,
    "min_gap_frames": 2,
}


def cue(line, text, start, end, window=(0.0, 20.0), scene=(0.0, 20.0)):
    return {"line": line, "text": text, "start": start, "end": end, "window": list(window), "scene_window": list(scene)}


HELLO = [cue("h", "Hello there.", 1.0, 2.0)]  # 12 characters


def gate(events, placed=HELLO, picture_end=20.0, **limits):
    checks = subtitle_checks(events, placed, FPS, {**LIMITS, **limits}, OFFSET, picture_end)
    return {c["metric"]: c for c in checks}


def failed(checks):
    return {m for m, c in checks.items() if not c["pass"]}


def test_srt_times_with_hours_minutes_and_a_dot():
    text = (
        "1\n01:02:03,004 --> 01:02:04.500 position:50%\n<i>Hello</i>\nthere\n\n"
        "2\r\n10:00:10,000 --> 10:59:59,999\r\nBye\r\n"
    )
    assert parse_srt(text) == [
        (pytest.approx(3723.004, abs=1e-9), pytest.approx(3724.5, abs=1e-9), "Hello\nthere"),
        (36010.0, pytest.approx(39599.999, abs=1e-9), "Bye"),
    ]


def test_each_limit_met_exactly_passes():
    one = (1.0, 2.0, "Hello there.")  # 12 characters, 1 s, 25 frames
    checks = gate([one], max_chars_per_line=12, max_lines=1, max_chars_per_second=12, min_duration_frames=25)
    checks.update({k: v for k, v in gate([one], max_duration_seconds=1).items() if k == "subtitle_max_duration"})
    assert failed(checks) == set()
    got = {m: checks[m]["value"] for m in checks if m.startswith("subtitle_") and "[" not in m}
    assert got == {
        "subtitle_events_for_lines": 1,
        "subtitle_stray_events": 0,
        "subtitle_past_picture_end": 0.0,
        "subtitle_chars_per_line": 12,
        "subtitle_lines": 1,
        "subtitle_chars_per_second": 12.0,
        "subtitle_min_duration": 25.0,
        "subtitle_max_duration": 1.0,
    }


@pytest.mark.parametrize(
    "limit,value,metric",
    [
        ({"max_chars_per_line": 11}, 12, "subtitle_chars_per_line"),
        ({"max_chars_per_second": 11.99}, 12.0, "subtitle_chars_per_second"),
        ({"min_duration_frames": 26}, 25.0, "subtitle_min_duration"),
        ({"max_duration_seconds": 0.999}, 1.0, "subtitle_max_duration"),
    ],
)
def test_each_limit_missed_by_one_step_fails(limit, value, metric):
    checks = gate([(1.0, 2.0, "Hello there.")], **limit)
    assert failed(checks) == {metric}
    assert checks[metric]["value"] == value


def test_rows_count_by_the_longest_and_by_their_number():
    two = [(1.0, 2.0, "Hello\nthere.")]  # rows of 5 and 6 characters
    checks = gate(two, max_chars_per_line=6, max_lines=2)
    assert failed(checks) == set()
    assert (checks["subtitle_chars_per_line"]["value"], checks["subtitle_lines"]["value"]) == (6, 2)
    assert failed(gate(two, max_chars_per_line=5)) == {"subtitle_chars_per_line"}
    assert failed(gate(two, max_lines=1)) == {"subtitle_lines"}
    # a half-width character counts 1 without a half_width setting (above), as set with it:
    # the longest row, 6 characters at a half; the rows rejoined by a space, 12 at a half in 1 s
    assert gate(two, half_width=0.5)["subtitle_chars_per_line"]["value"] == 3.0
    assert gate(two, half_width=0.5)["subtitle_chars_per_second"]["value"] == 6.0


@pytest.mark.parametrize(
    "event,metric,value,ok",
    [
        ((1.12, 2.0), "subtitle_start[h]", 3.0, True),  # 3 frames late
        ((0.88, 2.0), "subtitle_start[h]", 3.0, True),  # 3 frames early
        ((1.16, 2.0), "subtitle_start[h]", 4.0, False),
        ((0.84, 2.0), "subtitle_start[h]", 4.0, False),
        ((1.0, 1.88), "subtitle_end[h]", -3.0, True),  # down 3 frames before the voice ends
        ((1.0, 1.84), "subtitle_end[h]", -4.0, False),
        ((1.0, 2.5), "subtitle_end[h]", 12.5, True),  # up after the voice: fine
    ],
)
def test_start_and_end_against_the_voice(event, metric, value, ok):
    checks = gate([(*event, "Hello there.")])
    assert (checks[metric]["value"], checks[metric]["pass"]) == (value, ok)
    assert failed(checks) == (set() if ok else {metric})


@pytest.mark.parametrize(
    "window,scene,picture_end,bad",
    [
        ((1.0, 2.0), (1.0, 2.0), 2.0, {}),  # every edge on the event's: inside
        ((1.04, 2.0), (0.0, 20.0), 20.0, {"subtitle_window[h]": 1.0}),
        ((0.0, 1.96), (0.0, 20.0), 20.0, {"subtitle_window[h]": 1.0}),
        ((0.0, 20.0), (1.04, 20.0), 20.0, {"subtitle_scene_window[h]": 1.0}),
        ((0.0, 20.0), (0.0, 1.96), 20.0, {"subtitle_scene_window[h]": 1.0}),
        ((0.0, 20.0), (0.0, 20.0), 1.96, {"subtitle_past_picture_end": 1.0}),
    ],
)
def test_one_frame_outside_a_window_or_past_the_picture_fails(window, scene, picture_end, bad):
    checks = gate([(1.0, 2.0, "Hello there.")], [cue("h", "Hello there.", 1.0, 2.0, window, scene)], picture_end)
    assert {m: checks[m]["value"] for m in failed(checks)} == bad
    for m in ("subtitle_window[h]", "subtitle_scene_window[h]", "subtitle_past_picture_end"):
        if m not in bad:
            assert checks[m]["value"] == 0.0


THREE = [cue("a", "One.", 1.0, 2.0), cue("b", "Two.", 2.08, 3.0), cue("c", "Three.", 3.2, 4.0)]


def test_the_smallest_gap_is_checked_and_named():
    events = [(1.0, 2.0, "One."), (2.08, 3.0, "Two."), (3.2, 4.0, "Three.")]  # gaps of 2 and 5 frames
    gap = gate(events, THREE)["subtitle_min_gap"]
    assert (gap["value"], gap["pass"]) == (2.0, True)
    assert gap["event"] == "1.000-2.000 s 'One.' then 2.080-3.000 s 'Two.'"
    assert failed(gate(events, THREE, min_gap_frames=3)) == {"subtitle_min_gap"}
    assert "subtitle_min_gap" not in gate(events[:1], THREE[:1])  # one event: no gap to check


def test_the_worst_event_is_the_one_reported():
    events = [(1.0, 2.0, "One."), (2.08, 3.0, "Two."), (3.2, 4.0, "Three.")]
    checks = gate(events, THREE, picture_end=3.92)
    assert checks["subtitle_past_picture_end"]["event"] == "3.200-4.000 s 'Three.'"
    assert checks["subtitle_past_picture_end"]["value"] == 2.0
    assert checks["subtitle_chars_per_line"]["event"] == "3.200-4.000 s 'Three.'"  # the longest row
    assert checks["subtitle_min_duration"]["event"] == "3.200-4.000 s 'Three.'"  # the shortest: 0.8 s
    assert checks["subtitle_min_duration"]["value"] == 20.0
    assert checks["subtitle_max_duration"]["event"] == "1.000-2.000 s 'One.'"  # the longest: 1 s


def test_an_event_of_no_length_reads_infinitely_fast():
    checks = gate([(1.0, 1.0, "Hello there.")])
    assert checks["subtitle_chars_per_second"]["value"] == math.inf
    assert failed(checks) == {"subtitle_chars_per_second", "subtitle_min_duration", "subtitle_end[h]"}


def test_no_events_at_all():
    checks = gate([])
    assert failed(checks) == {"subtitle_events_for_lines", "subtitle_text[h]", "subtitle_start[h]"}
    for m in ("subtitle_past_picture_end", "subtitle_chars_per_line", "subtitle_min_duration"):
        assert (checks[m]["value"], checks[m]["exempt"]) == (None, "no subtitle events")
    start = checks["subtitle_start[h]"]
    assert (start["error"], start["op"], start["threshold"]) == ("no subtitle events for 'Hello there.'", "<=", OFFSET)


def test_stray_events_are_counted_and_listed():
    checks = gate([(1.0, 2.0, "Hello there."), (3.0, 4.0, "Extra.")])
    assert failed(checks) == {"subtitle_stray_events"}
    assert checks["subtitle_stray_events"]["value"] == 1
    assert checks["subtitle_stray_events"]["events"] == ["3.000-4.000 s 'Extra.'"]
    assert "events" not in gate([(1.0, 2.0, "Hello there.")])["subtitle_stray_events"]


TWO = [cue("a", "Go left.", 1.0, 2.0), cue("b", "Go right.", 5.0, 6.0)]
TOL = OFFSET / FPS  # 0.12 s


def test_unspelled_lines_take_events_by_their_voice_start_within_the_offset():
    left, right = (1.0, 2.0, "Go lefd."), (4.88, 6.0, "Go rite.")  # right starts 3 frames early
    assert match_lines([left, right], TWO, TOL) == {"a": [left], "b": [right]}
    checks = gate([left, right], TWO)
    assert (checks["subtitle_text[a]"]["value"], checks["subtitle_text[b]"]["value"]) == ("Go lefd.", "Go rite.")
    assert checks["subtitle_stray_events"]["value"] == 0
    # a frame earlier than the offset: it goes with the line before
    earlier = (4.84, 6.0, "Go rite.")
    assert match_lines([left, earlier], TWO, TOL) == {"a": [left, earlier], "b": []}
    # before every voice: the first line that spelled nothing takes it
    first = (0.5, 0.9, "Go.")
    assert match_lines([first, right], TWO, TOL) == {"a": [first], "b": [right]}


def test_events_after_a_spelled_line_go_only_to_the_lines_after_it():
    placed = [cue("a", "Go left.", 1.0, 2.0), cue("b", "Stop.", 3.0, 4.0), cue("c", "Go right.", 5.0, 6.0)]
    stop, early = (3.0, 4.0, "Stop."), (4.5, 6.0, "Go rite.")  # c's event well before its voice
    assert match_lines([stop, early], placed, TOL) == {"a": [], "b": [stop], "c": [early]}
    # events between two spelled lines go to the unspelled one there; after the last, to the last
    go = (1.0, 2.0, "Go lefd.")
    assert match_lines([go, stop, early], placed, TOL) == {"a": [go], "b": [stop], "c": [early]}
    right = (5.0, 6.0, "Go right.")
    assert match_lines([go, stop, right], placed, TOL) == {"a": [go], "b": [stop], "c": [right]}
    # with every line spelled, an extra event is stray: nobody's
    extra = (7.0, 8.0, "Extra.")
    assert match_lines([(1.0, 2.0, "Go left."), stop, right, extra], placed, TOL) == {
        "a": [(1.0, 2.0, "Go left.")],
        "b": [stop],
        "c": [right],
    }


def test_a_line_spelled_over_two_events_and_a_line_whose_text_runs_past_the_last_event():
    placed = [cue("a", "Go left. Now.", 1.0, 2.0), cue("b", "Go right and then some more.", 5.0, 6.0)]
    one, two, short = (1.0, 1.5, "Go left."), (1.54, 2.0, "Now."), (5.0, 6.0, "Go right.")
    assert match_lines([one, two, short], placed, TOL) == {"a": [one, two], "b": [short]}
    checks = gate([one, two, short], placed)
    assert checks["subtitle_events_for_lines"]["value"] == 1
    assert checks["subtitle_text[b]"]["value"] == "Go right."


def test_a_line_without_text_spells_nothing_and_still_takes_its_event():
    blank = [cue("x", "", 1.0, 2.0)]
    ev = (1.0, 2.0, "Hi.")
    assert match_lines([ev], blank, TOL) == {"x": [ev]}
    checks = gate([ev], blank)
    assert (checks["subtitle_text[x]"]["value"], checks["subtitle_stray_events"]["value"]) == ("Hi.", 0)


def test_an_event_after_a_spelled_line_skips_the_unspelled_lines_before_it():
    placed = [
        cue("a", "Go left.", 1.0, 2.0),
        cue("b", "Wait.", 3.0, 3.5),
        cue("c", "Stop.", 4.0, 4.5),
        cue("d", "Go right.", 7.0, 8.0),
    ]
    left, stop, early = (1.0, 2.0, "Go left."), (4.0, 4.5, "Stop."), (5.0, 6.0, "Go rite.")
    # b has no event; d's changed event comes well before its voice: still d's, not b's
    assert match_lines([left, stop, early], placed, TOL) == {"a": [left], "b": [], "c": [stop], "d": [early]}


def test_an_event_listed_before_a_spelled_line_belongs_to_the_lines_before_it():
    placed = [
        cue("a", "Go left.", 1.0, 2.0),
        cue("b", "Stop.", 3.0, 4.0),
        cue("c", "Go right.", 5.0, 6.0),
        cue("d", "End.", 7.0, 8.0),
    ]
    # the file lists a's changed event first, though it is timed after c's voice starts
    odd, stop, end = (5.5, 6.0, "Go lefd."), (3.0, 4.0, "Stop."), (7.0, 8.0, "End.")
    assert match_lines([odd, stop, end], placed, TOL) == {"a": [odd], "b": [stop], "c": [], "d": [end]}


def test_a_one_millisecond_event_reads_at_its_rate():
    checks = gate([(1.0, 1.001, "Hello there.")])
    assert checks["subtitle_chars_per_second"]["value"] == 12000.0


def test_only_the_stray_events_are_listed_beside_several_lines():
    events = [(1.0, 2.0, "One."), (2.08, 3.0, "Two."), (3.2, 4.0, "Three."), (5.0, 6.0, "Four.")]
    stray = gate(events, THREE)["subtitle_stray_events"]
    assert (stray["value"], stray["events"]) == (1, ["5.000-6.000 s 'Four.'"])


def test_the_smallest_gap_is_found_wherever_it_is():
    events = [(1.0, 2.0, "One."), (2.2, 3.0, "Two."), (3.08, 4.0, "Three.")]  # gaps of 5 and 2 frames
    placed = [cue("a", "One.", 1.0, 2.0), cue("b", "Two.", 2.2, 3.0), cue("c", "Three.", 3.08, 4.0)]
    gap = gate(events, placed)["subtitle_min_gap"]
    assert (gap["value"], gap["event"]) == (2.0, "2.200-3.000 s 'Two.' then 3.080-4.000 s 'Three.'")
