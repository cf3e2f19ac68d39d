"""SRT text and chapters: pure functions, no media."""

import pytest

from tower_anime.episode.chapters import ffmetadata
from tower_anime.episode.subtitles import build_srt, events, reading_seconds, split_text, srt_time, subtitle_limits
from tower_anime.errors import MediaError

LIMITS = subtitle_limits(
    {
        "max_chars_per_line": 42,
        "max_lines": 2,
        "max_chars_per_second": 20,
        "min_duration_frames": 20,
        "max_duration_seconds": 7,
        "min_gap_frames": 2,
        "lead_frames": 2,
    },
    24,
)


def line(id_, text, start, end, window, scene_window=None):
    return {
        "line": id_,
        "text": text,
        "start": start,
        "end": end,
        "window": window,
        "scene_window": scene_window or window,
    }


def test_srt_format_and_times():
    assert srt_time(3723.4567) == "01:02:03,457"
    srt = build_srt([line("a", "Go!", 0.4, 2.4, [0.0, 3.0])], LIMITS)
    assert srt == "1\n00:00:00,400 --> 00:00:02,400\nGo!\n"


def test_long_lines_break_at_phrases_never_inside_a_noun_phrase():
    text = "The training logs were rewritten, and someone taught the city AI to lie about every accident."
    assert split_text(text, LIMITS) == [
        "The training logs were rewritten,",
        "and someone taught the city AI\nto lie about every accident.",
    ]
    # the sentence end, not the last word that fits
    assert split_text("Three minutes to the lab. Nobody outruns me in this city.", LIMITS) == [
        "Three minutes to the lab.\nNobody outruns me in this city."
    ]
    # before the preposition, not between "the" and its noun (the 42nd character falls there)
    rows = split_text("We will meet the old captain of the harbour tonight", LIMITS)[0].split("\n")
    assert rows == ["We will meet the old captain", "of the harbour tonight"]
    assert split_text("Short enough for one row.", LIMITS) == ["Short enough for one row."]


def test_reading_seconds_is_what_the_events_need_at_the_limits():
    assert reading_seconds("Three minutes to the lab. Nobody outruns me in this city.", LIMITS) == 2.85  # 57 / 20
    assert reading_seconds("Go!", LIMITS) == 0.834  # the shortest event, 20 frames, in whole ms
    parts = split_text(
        "The training logs were rewritten, and someone taught the city AI to lie about every accident.", LIMITS
    )
    assert reading_seconds(" ".join(parts), LIMITS) == pytest.approx(1.65 + 2.95 + 0.084)  # 33 + 59 chars, a gap


def test_a_fast_line_stays_up_after_its_voice_within_its_shot_and_reads_at_the_limit_after_rounding():
    # 61 characters in 2.5 s = 24.4 a second: held on until 61 / 20 = 3.05 s, in whole ms
    fast = line("a", "Someone taught the city AI to lie about every accident today.", 1.0004, 3.5, [0.9, 6.0])
    ((start, end, text),) = events([fast], LIMITS)
    assert (start, end) == (1.0, 4.05)
    assert len(text.replace("\n", " ")) / (end - start) <= 20
    # no room after it: shown at most 2 frames early, then it is an error naming the fixes
    tight = {**fast, "window": [0.0, 4.0]}
    ((start, end, _),) = events([tight], LIMITS)
    assert (start, end) == (0.95, 4.0)
    with pytest.raises(
        MediaError,
        match=r"line a: its subtitles \(61 characters\) need 3.050 s at the limits but "
        r"its window gives 2.817 s .*lengthen the shot, shorten the line, or raise "
        r"subtitles.max_chars_per_second",
    ):
        events([{**fast, "window": [1.0, 3.817]}], LIMITS)


def test_events_keep_the_gap_stay_in_their_windows_and_never_reach_the_next_voice():
    placed = [
        line("a", "Three minutes to the lab. Nobody outruns me in this city.", 1.0, 2.0, [0.5, 6.0]),
        line("b", "Go!", 3.9, 4.1, [0.5, 6.0]),
        line("c", "Move.", 5.0, 5.2, [4.9, 5.9]),
    ]
    evs = events(placed, LIMITS)
    assert evs[0][:2] == (0.966, 3.816)  # needs 2.85 s and must end 2 frames (84 ms) before "Go!": 34 ms early
    assert evs[1] == (3.9, 4.734, "Go!") and evs[2] == (5.0, 5.834, "Move.")
    assert all(b[0] - a[1] >= 0.084 for a, b in zip(evs, evs[1:]))


def test_a_long_voice_is_shown_in_events_no_longer_than_the_limit():
    slow = line("a", "I remember the night the towers went dark, and nobody came to help us.", 1.0, 11.0, [0.0, 12.0])
    evs = events([slow], LIMITS)
    assert len(evs) == 2 and evs[0][0] == 1.0 and evs[-1][1] == 11.0
    assert all(0.834 <= b - a <= 7 for a, b, _ in evs)


def test_chapters_one_per_scene_without_overlap():
    tl = {
        "fps": 24,
        "title": "Neon; Conspiracy",
        "scenes": [
            {"scene": "a", "title": "Night Run", "start_frame": 0, "frames": 109},
            {"scene": "b", "title": "The Lab", "start_frame": 97, "frames": 61},
        ],
    }
    meta = ffmetadata(tl)
    assert meta.startswith(";FFMETADATA1\ntitle=Neon\\; Conspiracy\n")
    assert meta.count("[CHAPTER]") == 2
    assert "START=0\nEND=4042\ntitle=Night Run" in meta
    assert "START=4042\nEND=6583\ntitle=The Lab" in meta
