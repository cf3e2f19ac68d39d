"""Episode checks: the subtitle track against the voice lines and the reading limits, the
subtitle writer's reading speed, and the real test episode made 2 LU too loud or with a
cue moved off its line."""

import json

import pytest
from conftest import ROOT
from test_workflow import EP

from tower_anime.audio.delivery import resolve_profile
from tower_anime.config import load_config, validate_config
from tower_anime.episode.master import set_matroska_duration
from tower_anime.episode.subtitles import build_srt_for, srt_time
from tower_anime.media import ffmpeg
from tower_anime.qc.episode import episode_report, loudness_checks
from tower_anime.qc.subtitles import parse_srt, subtitle_checks
from tower_anime.story import load_story, plan_story

CFG = load_config(ROOT / "tests" / "data" / "config.yaml")
LIMITS = CFG["subtitles"]
FPS = 24
PICTURE_END = 8.0
PLACED = [  # shot a is 0.5-4.75 s, shot b 4.75-6.5 s, both in one scene 0-8 s
    {
        "line": "a_l1",
        "text": "Three minutes to the lab. Nobody outruns me in this city.",
        "start": 1.0,
        "end": 3.5,
        "window": [0.5, 4.75],
        "scene_window": [0.0, 8.0],
    },
    {"line": "a_l2", "text": "Go!", "start": 5.0, "end": 5.4, "window": [4.75, 6.5], "scene_window": [0.0, 8.0]},
]


def failed(checks):
    return {c["metric"] for c in checks if not c["pass"]}


def gate(evs, placed=PLACED, picture_end=PICTURE_END):
    return subtitle_checks(evs, placed, FPS, LIMITS, 3, picture_end)


def written():
    return parse_srt(build_srt_for(PLACED, LIMITS, FPS))


def test_the_writers_own_track_passes():
    evs = written()
    # 57 characters need 2.85 s at 20 a second: the event stays up 0.35 s after the voice
    assert evs == [(1.0, 3.85, "Three minutes to the lab.\nNobody outruns me in this city."), (5.0, 5.834, "Go!")]
    checks = gate(evs)
    assert failed(checks) == set()
    names = {c["metric"] for c in checks}
    assert {
        "subtitle_text[a_l1]",
        "subtitle_window[a_l2]",
        "subtitle_scene_window[a_l1]",
        "subtitle_past_picture_end",
        "subtitle_chars_per_second",
        "subtitle_min_duration",
        "subtitle_max_duration",
        "subtitle_min_gap",
    } <= names


def test_an_event_moved_into_the_next_shot_fails():
    evs = written()
    moved = [evs[0], (evs[1][0] + 1.2, evs[1][1] + 1.2, evs[1][2])]  # 6.2-7.034 s: past shot b's end at 6.5
    checks = gate(moved)
    assert failed(checks) == {"subtitle_start[a_l2]", "subtitle_window[a_l2]"}
    window = next(c for c in checks if c["metric"] == "subtitle_window[a_l2]")
    assert window["value"] == 12.816 and window["window"] == [4.75, 6.5]  # 0.534 s = 12.8 frames outside
    held = [(evs[0][0], 4.9, evs[0][2]), evs[1]]  # held on into shot b, still 2 frames before "Go!"
    assert failed(gate(held)) == {"subtitle_window[a_l1]"}
    scene = [dict(c, scene_window=[0.0, 5.5]) for c in PLACED]  # the next scene starts at 5.5 s
    assert failed(gate(evs, scene)) == {"subtitle_scene_window[a_l2]"}


def test_text_changed_by_one_character_fails():
    evs = written()
    changed = [(evs[0][0], evs[0][1], evs[0][2].replace("lab", "lap")), evs[1]]
    checks = gate(changed)
    assert failed(checks) == {"subtitle_events_for_lines", "subtitle_text[a_l1]"}
    text = next(c for c in checks if c["metric"] == "subtitle_text[a_l1]")
    assert text["value"] == "Three minutes to the lap. Nobody outruns me in this city."
    assert failed(gate(evs[:1])) == {"subtitle_events_for_lines", "subtitle_text[a_l2]", "subtitle_start[a_l2]"}


def test_an_event_past_the_picture_end_fails():
    checks = gate(written(), picture_end=5.5)  # "Go!" ends at 5.834 s
    assert failed(checks) == {"subtitle_past_picture_end"}
    past = next(c for c in checks if c["metric"] == "subtitle_past_picture_end")
    assert past["value"] == 8.016 and "Go!" in past["event"] and past["picture_end"] == 5.5


def test_reading_limits_fail():
    evs = written()
    fast = [(evs[0][0], 3.8, evs[0][2]), evs[1]]  # 57 characters in 2.8 s
    checks = gate(fast)
    assert failed(checks) == {"subtitle_chars_per_second"}
    assert next(c for c in checks if c["metric"] == "subtitle_chars_per_second")["value"] == 20.3571
    short = [evs[0], (5.0, 5.833, "Go!")]  # one millisecond under 20 frames
    assert failed(gate(short)) == {"subtitle_min_duration"}
    hello = [
        {"line": "x", "text": "Hello.", "start": 1.0, "end": 1.5, "window": [0.0, 9.0], "scene_window": [0.0, 9.0]}
    ]
    assert failed(gate(parse_srt(build_srt_for(hello, LIMITS, FPS)), hello, 9.0)) == set()
    assert failed(gate([(1.0, 8.001, "Hello.")], hello, 9.0)) == {"subtitle_max_duration"}
    long_row = [(1.0, 4.5, "Three minutes to the lab. Nobody outruns me in this city.")]
    assert failed(gate(long_row, PLACED[:1])) == {"subtitle_chars_per_line"}
    three = [(1.0, 4.5, "Three minutes to the lab.\nNobody outruns me\nin this city.")]
    assert failed(gate(three, PLACED[:1])) == {"subtitle_lines"}
    crowded = [evs[0], (3.86, 4.7, "Go!")]
    assert "subtitle_min_gap" in failed(gate(crowded))


def test_a_cue_off_its_voice_fails():
    evs = written()
    early = [evs[0], (evs[1][0] - 0.2, evs[1][1] - 0.2, evs[1][2])]  # 4.8 frames early, inside its shot
    assert failed(gate(early)) == {"subtitle_start[a_l2]"}
    cut = [(1.0, 2.25, "Three minutes to the lab."), (2.334, 3.884, "Nobody outruns me in this city."), evs[1]]
    assert failed(gate(cut)) == set()  # two events spell the line as well as one
    gone = [(1.0, 2.2, "Three minutes to the lab.")] + [(2.3, 3.2, "Nobody outruns me in this city."), evs[1]]
    assert failed(gate(gone)) == {"subtitle_end[a_l1]", "subtitle_chars_per_second"}


@pytest.mark.parametrize(
    "profile,share,on", [("ebu-r128", 0.0, "loudness_off_target"), ("streaming", 0.4, "dialogue_loudness_off_target")]
)
def test_too_quiet_fails_like_too_loud(profile, share, on):
    """The distance to the target either way: 1 LU past the tolerance under the target fails as
    it does over it, and the tolerance itself either way passes."""
    prof = resolve_profile(validate_config({"loudness": {"profile": profile}}))
    target = prof["integrated_lufs"]
    tol = prof["tolerance_lu"]
    for off, ok in ((-tol - 1, False), (tol + 1, False), (-tol, True), (tol, True)):
        measured = {"integrated_lufs": target + off, "true_peak_dbtp": -9.0}
        check = loudness_checks(prof, share, measured, measured)[0]
        assert (check["metric"], check["value"], check["pass"]) == (on, abs(off), ok), (off, check)


def build_srt_events(evs):
    return "\n".join(f"{n}\n{srt_time(a)} --> {srt_time(b)}\n{t}\n" for n, (a, b, t) in enumerate(evs, 1))


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
    ffmpeg(
        [
            "-i",
            mkv,
            "-map",
            "0",
            "-c",
            "copy",
            "-c:a",
            "libopus",
            "-b:a",
            "160k",
            "-af",
            "volume=2dB",
            "-avoid_negative_ts",
            "disabled",
            loud,
        ],
        "a louder copy",
    )
    set_matroska_duration(loud, plan.total_frames / plan.fps)  # as the assembler leaves it
    report = episode_report(loud, plan.timeline(), CFG, placed)
    # 2 dB more gain lifts the peaks as well: the mix sits near its -2 dBTP ceiling, so the
    # true-peak check may fail beside the loudness check, and nothing else may
    assert "loudness_off_target" in failed(report["checks"])
    assert failed(report["checks"]) <= {"loudness_off_target", "true_peak"}
    off = next(c for c in report["checks"] if c["metric"] == "loudness_off_target")
    assert off["value"] == pytest.approx(abs(good["measured"]["integrated_lufs"] + 2 - (-24)), abs=0.3)


def test_a_muxed_cue_off_its_line_fails(built, tmp_path):
    plan, placed = placed_lines(built)
    evs = parse_srt(build_srt_for(placed, LIMITS, FPS))
    evs[1] = (evs[1][0] + 0.5, evs[1][1] + 0.5, evs[1][2])  # the second line's event, 12 frames late
    (tmp_path / "moved.srt").write_text(build_srt_events(evs))
    moved = tmp_path / "moved.mkv"
    ffmpeg(
        [
            "-i",
            built / "episodes" / f"{EP}.mkv",
            "-i",
            tmp_path / "moved.srt",
            "-map",
            "0:v",
            "-map",
            "0:a",
            "-map",
            "1",
            "-c",
            "copy",
            "-c:s",
            "srt",
            "-metadata:s:s:0",
            "language=eng",
            "-map_chapters",
            "0",
            "-avoid_negative_ts",
            "disabled",
            moved,
        ],
        "remux with a moved cue",
    )
    set_matroska_duration(moved, plan.total_frames / plan.fps)  # as the assembler leaves it
    report = episode_report(moved, plan.timeline(), CFG, placed)
    line = placed[1]["line"]
    # late for its voice, and maybe past its shot or too close to the next event
    assert f"subtitle_start[{line}]" in failed(report["checks"])
    assert failed(report["checks"]) <= {
        f"subtitle_start[{line}]",
        f"subtitle_window[{line}]",
        f"subtitle_scene_window[{line}]",
        "subtitle_min_gap",
    }
