"""Episode checks: the subtitle track against the voice lines and the reading limits, the
subtitle writer's reading speed, and the real test episode made 2 LU too loud or with a
cue moved off its line."""
import json

import pytest

from conftest import ROOT
from test_workflow import EP
from tower_anime.config import load_config
from tower_anime.episode.subtitles import build_srt, build_srt_for, events
from tower_anime.media import ffmpeg
from tower_anime.qc.episode import episode_report
from tower_anime.qc.subtitles import parse_srt, subtitle_checks
from tower_anime.story import load_story, plan_story

CFG = load_config(ROOT / "tests" / "data" / "config.yaml")
LIMITS = CFG["subtitles"]
FPS = 24
PLACED = [
    {"line": "a_l1", "text": "Three minutes to the lab. Nobody outruns me in this city.", "start": 1.0, "end": 4.5},
    {"line": "a_l2", "text": "Go!", "start": 5.0, "end": 5.4},
]


def failed(checks):
    return {c["metric"] for c in checks if not c["pass"]}


def test_subtitles_on_their_lines_pass():
    evs = parse_srt(build_srt_for(PLACED, LIMITS, FPS))
    assert [e[2] for e in evs] == ["Three minutes to the lab. Nobody outruns\nme in this city.", "Go!"]
    assert failed(subtitle_checks(evs, PLACED, FPS, LIMITS, 3)) == set()


def test_a_cue_off_its_line_fails():
    evs = parse_srt(build_srt(PLACED))
    late = [evs[0], (evs[1][0] + 0.5, evs[1][1] + 0.5, evs[1][2])]  # 12 frames late
    # (its end may linger up to linger_seconds after the voice: only the start is off)
    assert failed(subtitle_checks(late, PLACED, FPS, LIMITS, 3)) == {"subtitle_start[a_l2]"}
    early = [evs[0], (evs[1][0] - 0.2, evs[1][1] - 0.2, evs[1][2])]  # 4.8 frames early, both ends
    assert failed(subtitle_checks(early, PLACED, FPS, LIMITS, 3)) == {"subtitle_start[a_l2]", "subtitle_end[a_l2]"}
    lost = [evs[0]]
    assert {"subtitle_events_for_lines", "subtitle_start[a_l2]"} <= failed(subtitle_checks(lost, PLACED, FPS, LIMITS, 3))


def test_reading_limits_fail():
    long_row = [(1.0, 4.5, "Three minutes to the lab. Nobody outruns me in this city.")]
    assert failed(subtitle_checks(long_row, PLACED[:1], FPS, LIMITS, 3)) == {"subtitle_chars_per_line"}
    three = [(1.0, 4.5, "Three minutes to the lab.\nNobody outruns me\nin this city.")]
    assert failed(subtitle_checks(three, PLACED[:1], FPS, LIMITS, 3)) == {"subtitle_lines"}
    fast = [{**PLACED[0], "end": 3.0}]  # 57 characters spoken in 2 s, the next line right after
    evs = [(1.0, 3.0, "Three minutes to the lab. Nobody outruns\nme in this city.")]
    assert failed(subtitle_checks(evs, fast, FPS, LIMITS, 3)) == {"subtitle_chars_per_second"}


def test_the_writer_holds_a_fast_line_up_to_the_limit_where_there_is_room():
    fast = [{**PLACED[0], "end": 4.0}, {**PLACED[1], "start": 8.0, "end": 8.4}]  # 57 chars in 3 s = 19 a second
    (start, end, _), _ = events(fast, max_cps=17, linger=0.5, min_gap=2 / FPS)
    assert end == pytest.approx(1.0 + 57 / 17, abs=0.002)  # held until it reads at 17 a second
    assert start == 1.0
    crowded = [{**PLACED[0], "end": 4.0}, {**PLACED[1], "start": 4.1, "end": 4.5}]
    (start, end, _), _ = events(crowded, max_cps=17, linger=0.5, min_gap=2 / FPS, lead=2 / FPS)
    assert end == pytest.approx(4.1 - 2 / FPS)  # held only to 2 frames before the next line,
    assert start == pytest.approx(1.0 - 2 / FPS, abs=0.001)  # then shown 2 frames early: still too fast
    evs = events(crowded, max_cps=17, linger=0.5, min_gap=2 / FPS, lead=2 / FPS)
    assert failed(subtitle_checks(evs, crowded, FPS, LIMITS, 3)) == {"subtitle_chars_per_second"}


def placed_lines(built):
    """The test episode's plan and its voice lines where the mix put them."""
    plan = plan_story(load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes"), CFG)[EP]
    return plan, json.loads((built / "build" / EP / "placement.json").read_text())["lines"]


def test_the_built_episode_passes_and_fails_when_2_lu_louder(built, tmp_path):
    plan, placed = placed_lines(built)
    mkv = built / "episodes" / f"{EP}.mkv"
    good = episode_report(mkv, plan.timeline(), CFG, placed)
    assert good["pass"], [c for c in good["checks"] if not c["pass"]]
    loud = tmp_path / "loud.mkv"
    ffmpeg(["-i", mkv, "-map", "0", "-c", "copy", "-c:a", "libopus", "-b:a", "160k", "-af", "volume=2dB",
            "-avoid_negative_ts", "disabled", loud], "a louder copy")
    report = episode_report(loud, plan.timeline(), CFG, placed)
    # 2 dB more gain lifts the peaks as well: the mix sits near its -2 dBTP ceiling, so the
    # true-peak check may fail beside the loudness check, and nothing else may
    assert "loudness_off_target" in failed(report["checks"])
    assert failed(report["checks"]) <= {"loudness_off_target", "true_peak"}
    off = next(c for c in report["checks"] if c["metric"] == "loudness_off_target")
    assert off["value"] == pytest.approx(abs(good["measured"]["integrated_lufs"] + 2 - (-24)), abs=0.3)


def test_a_muxed_cue_off_its_line_fails(built, tmp_path):
    plan, placed = placed_lines(built)
    srt = build_srt_for([{**c, "start": c["start"] + (0.5 if i == 1 else 0), "end": c["end"] + (0.5 if i == 1 else 0)}
                         for i, c in enumerate(placed)], LIMITS, FPS)
    (tmp_path / "moved.srt").write_text(srt)
    moved = tmp_path / "moved.mkv"
    ffmpeg(["-i", built / "episodes" / f"{EP}.mkv", "-i", tmp_path / "moved.srt", "-map", "0:v", "-map", "0:a",
            "-map", "1", "-c", "copy", "-c:s", "srt", "-metadata:s:s:0", "language=eng", "-map_chapters", "0",
            "-avoid_negative_ts", "disabled", moved], "remux with a moved cue")
    report = episode_report(moved, plan.timeline(), CFG, placed)
    assert failed(report["checks"]) == {f"subtitle_start[{placed[1]['line']}]"}
