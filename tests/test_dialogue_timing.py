"""Shots fitted to their dialogue (voice.fit_lines), lines kept inside their own shots, and the
service requests that the plan renders into each job's spec."""

import copy
import math

import numpy as np
import pytest
from conftest import ROOT

from tower_anime.config import validate_config
from tower_anime.episode.placement import END_GUARD, place_lines
from tower_anime.errors import InvalidInput, MediaError
from tower_anime.qc.speech import speech_checks
from tower_anime.story import dumps, load_story, plan_story

LONG = "They rewrote the training logs, and the city AI learned to lie about every accident."


@pytest.fixture
def story():
    return load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes")


def plan_of(story, **config):
    cfg = validate_config({"backends": {"voice": "espeak"}, **copy.deepcopy(config)})
    return plan_story(story, cfg)["test01"]


def lengthen_s2(story):
    story.episodes["test01"]["scenes"][0]["shots"][1]["dialogue"][0]["text"] = LONG
    return story


def rows(plan):
    return {s["shot"]: s for s in plan.shots}


def test_a_shot_grows_to_hold_its_estimated_line(story):
    plain = plan_of(story)
    grown = plan_of(lengthen_s2(story))
    before, after = rows(plain), rows(grown)
    assert before["s2"]["frames"] == 60  # the script's 2.5 s holds "Hurry."
    # first_line_at 0.4 + espeak's overhead 0.5 + 84 chars at 13 a second (luna's speed 1.0) + tail 0.3,
    # plus the 12 frames the crossfade out of s2 may take
    expected = math.ceil((0.4 + 0.5 + len(LONG) / 13 + 0.3) * 24 + 12)
    assert after["s2"]["frames"] == expected
    assert after["s3"]["start_frame"] == 49 + expected - 12  # what follows moves with it
    assert grown.total_frames == plain.total_frames + expected - 60
    assert grown.music["street"]["duration"] == round((49 + expected) / 24, 4)
    # short lines that already fit leave their shots alone
    assert (after["s1"]["frames"], after["s3"]["frames"]) == (49, 61)
    assert len(grown.notes) == 1 and grown.notes[0].startswith("shot s2 needs ~")


def test_each_line_gets_its_own_shots_span(story):
    plan = plan_of(lengthen_s2(story))
    cue = {c["line"]: c for c in plan.cues}
    s2, s3 = rows(plan)["s2"], rows(plan)["s3"]
    # s2 ends where the crossfade into s3 begins; s3's own span starts after it
    assert cue["s2_l1"]["window"] == [round(49 / 24, 4), round(s3["start_frame"] / 24, 4)]
    assert cue["s3_l1"]["window"] == [round((s3["start_frame"] + 12) / 24, 4), round(plan.total_frames / 24, 4)]
    assert cue["s3_l1"]["scene_window"] == [round(s3["start_frame"] / 24, 4), round(plan.total_frames / 24, 4)]
    assert s2["frames"] > 60


def test_speeding_up_first_grows_less_and_stop_refuses(story):
    lengthen_s2(story)
    grow = rows(plan_of(story))["s2"]["frames"]
    fast = rows(plan_of(story, voice={"fit_lines": "speed_up_then_grow"}))["s2"]["frames"]
    assert 60 < fast < grow
    with pytest.raises(InvalidInput, match=r"scenes\[0\]\.shots\[1\]\.dialogue: shot s2 needs ~.* refused"):
        plan_of(story, voice={"fit_lines": "stop"})


def test_a_slower_character_gets_a_longer_shot(story):
    lengthen_s2(story)
    fast = rows(plan_of(story))["s2"]["frames"]
    story.characters["luna"]["voice"]["speed"] = 0.8
    slow = rows(plan_of(story))["s2"]["frames"]
    assert slow > fast


def test_lines_past_their_shot_or_out_of_order_are_refused(story):
    shot = story.episodes["test01"]["scenes"][0]["shots"][1]
    shot["dialogue"][0]["at"] = 2.5  # the shot is 2.5 s long
    with pytest.raises(InvalidInput, match=r"shots\[1\]\.dialogue\[0\]\.at: got 2.5; the shot is 2.50 s long"):
        plan_of(story)
    shot["dialogue"] = [{"speaker": "luna", "text": "One.", "at": 1.0}, {"speaker": "luna", "text": "Two.", "at": 0.5}]
    with pytest.raises(InvalidInput, match=r"dialogue\[1\]\.at: got 0.5, before the previous line's at 1.0"):
        plan_of(story)


def test_a_word_no_subtitle_row_holds_is_refused_by_file_and_field(story):
    line = story.episodes["test01"]["scenes"][0]["shots"][1]["dialogue"][0]
    line["text"] = "It is a self-replicating-quantum-encrypted-neural-lattice, Luna."
    plan_of(story)  # a compound breaks after its hyphens: it plans
    line["text"] = "Go to " + "x" * 50 + " now."
    with pytest.raises(InvalidInput) as exc:
        plan_of(story)
    (problem,) = [str(p) for p in exc.value.problems]
    assert "scenes[0].shots[1].dialogue" in problem and "the word 'xxxx" in problem, problem
    assert "break it with a space or a hyphen" in problem and "line ?" not in problem, problem


def cue(line, shot, earliest, window, text="Hello there."):
    return {
        "line": line,
        "earliest": earliest,
        "window": window,
        "gap": 0.25,
        "text": text,
        "speaker": "luna",
        "shot": shot,
        "scene": "a",
        "max_tempo": 1.25,
    }


def test_lines_wait_for_each_other_inside_their_shot():
    cues = [cue("a", "s1", 0.4, [0.0, 5.0]), cue("b", "s1", None, [0.0, 5.0]), cue("c", "s2", 5.4, [5.0, 8.0])]
    placed = place_lines(cues, {"a": 2.0, "b": 1.0, "c": 0.5})
    assert [(p["start"], p["end"], p["tempo"]) for p in placed] == [(0.4, 2.4, 1.0), (2.65, 3.65, 1.0), (5.4, 5.9, 1.0)]


def test_a_shot_too_short_for_its_voices_speeds_them_up_together_and_no_further():
    cues = [cue("a", "s1", 0.4, [0.0, 3.0]), cue("b", "s1", None, [0.0, 3.0]), cue("c", "s2", 3.4, [3.0, 6.0])]
    placed = place_lines(cues, {"a": 1.3, "b": 1.3, "c": 1.0})
    tempo = placed[0]["tempo"]
    assert tempo == placed[1]["tempo"] and 1.0 < tempo <= 1.25
    assert placed[1]["end"] <= 3.0 - END_GUARD and placed[1]["end"] == pytest.approx(3.0 - END_GUARD, abs=0.002)
    assert placed[2]["start"] == 3.4 and placed[2]["tempo"] == 1.0  # the next shot is not pushed
    with pytest.raises(
        MediaError,
        match=r"the dialogue of shot s1 \(a 2.00 s, b 2.00 s\) needs 4.71 s but the shot "
        r"leaves 3.00 s for it, and 1.25x faster \(voice.max_tempo\) is not enough",
    ):
        place_lines(cues, {"a": 2.0, "b": 2.0, "c": 1.0})


def test_a_line_sped_up_to_the_end_of_the_episode_passes_the_gates_cut_off_check():
    # the last shot of the episode: its window ends with the picture. Speech fills the voice
    # to its last sample, as a line that ends on a word does; the gate must not hear it cut
    rate, picture = 48000, 3.0
    cues = [cue("a", "s1", 0.4, [0.0, picture])]
    placed = place_lines(cues, {"a": 2.7})
    assert placed[0]["tempo"] > 1.0
    stem = np.zeros(int(picture * rate), dtype=np.float32)
    stem[int(placed[0]["start"] * rate) : int(placed[0]["end"] * rate)] = 0.3
    checks, _ = speech_checks(stem, rate, placed, picture)
    cut = next(c for c in checks if c["metric"] == "speech_cut_at_end")
    assert cut["pass"], cut


# --- service requests in the specs ----------------------------------------------------------------


def test_http_voice_specs_carry_the_rendered_request(story):
    story.characters["viktor"]["voice"].update(voice_id="vk-deep-01", emotion="smug")
    story.episodes["test01"]["scenes"][0]["shots"][0]["dialogue"][0]["emotion"] = "urgent"
    plan = plan_of(story, backends={"voice": "http"})
    body = {k: plan.lines[k]["request"]["body"] for k in plan.lines}
    assert body["s1_l1"] == {
        "text": "Go!",
        "voice_id": "akira",
        "speed": 1.08,
        "pitch": 0,
        "emotion": "urgent",
        "format": "wav",
    }
    assert body["s3_l1"]["voice_id"] == "vk-deep-01" and body["s3_l1"]["emotion"] == "smug"
    assert body["s2_l1"]["emotion"] == "neutral"  # the character sheet's default
    req = plan.lines["s1_l1"]["request"]
    assert (req["url"], req["method"], req["reply"]) == (
        "http://127.0.0.1:8309/api/voice/synthesize",
        "POST",
        {"type": "audio", "pointer": ""},
    )


def test_editing_the_template_changes_exactly_the_specs_it_renders_differently(story):
    base = plan_of(story, backends={"voice": "http", "music": "http"})
    tmpl = (
        '{"text": {{ text|tojson }}, "voice_id": {{ voice_id|tojson }}'
        '{% if speaker == "viktor" %}, "style": "menacing"{% endif %}}'
    )
    edited = plan_of(story, backends={"voice": "http", "music": "http"}, voice={"http": {"body": tmpl}})
    changed = [k for k in base.lines if dumps(base.lines[k]) != dumps(edited.lines[k])]
    assert changed == ["s1_l1", "s2_l1", "s3_l1"]  # every body lost speed/pitch/emotion
    tmpl2 = tmpl.replace("menacing", "icy")
    again = plan_of(story, backends={"voice": "http", "music": "http"}, voice={"http": {"body": tmpl2}})
    assert [k for k in base.lines if dumps(edited.lines[k]) != dumps(again.lines[k])] == ["s3_l1"]
    assert dumps(base.music) == dumps(edited.music)


def test_http_music_specs_carry_tempo_and_duration(story):
    story.episodes["test01"]["scenes"][1]["music_tempo"] = 70
    plan = plan_of(story, backends={"music": "http"})
    street, office = plan.music["street"], plan.music["office"]
    assert street["request"]["body"]["tempo"] == 108  # the mood 'tense'
    assert office["request"]["body"]["tempo"] == 70  # the scene's music_tempo
    assert office["request"]["body"]["duration"] == round(61 / 24, 4) == office["duration"]
    assert office["request"]["body"]["scene_id"] == "office" and office["fit"] == {"fade": 1.5, "crossfade": 1.0}
    assert plan.music["street"]["request"]["url"] == "http://127.0.0.1:8088/api/music/generate"


def test_speech_faster_than_its_subtitles_can_be_read_is_named(story):
    story.episodes["test01"]["scenes"][0]["shots"][1]["dialogue"][0]["text"] = ", ".join(["Hurry"] * 7) + "."
    fast_voice = {"speaking_rate": {"espeak": {"chars_per_second": 40, "line_overhead": 0.1}}}
    plan = plan_of(story, voice=fast_voice)
    assert len(plan.notes) == 1
    assert "line 1 is spoken in ~1.30 s but its subtitles need 2.40 s to be read" in plan.notes[0]
    with pytest.raises(InvalidInput, match="subtitles need 2.40 s to be read"):
        plan_of(story, voice={**fast_voice, "fit_lines": "stop"})


def test_a_shot_shorter_than_its_clips_backend_can_make_is_refused(story):
    from tower_anime.clips.camera import MIN_FRAMES

    story.episodes["test01"]["scenes"][0]["shots"][0]["frames"] = MIN_FRAMES - 1
    story.episodes["test01"]["scenes"][0]["shots"][0]["dialogue"] = []
    with pytest.raises(
        InvalidInput,
        match=rf"scenes\[0\]\.shots\[0\]\.frames: got {MIN_FRAMES - 1} = "
        rf"{MIN_FRAMES - 1} frame\(s\); the clips backend 'camera' makes shots "
        rf"of at least {MIN_FRAMES} frames",
    ):
        plan_of(story)
    story.episodes["test01"]["scenes"][0]["shots"][0]["frames"] = MIN_FRAMES
    assert rows(plan_of(story))["s1"]["frames"] == MIN_FRAMES


def test_numbers_and_marks_are_estimated_as_the_words_a_voice_says(tmp_path):
    from tower_anime.audio.voice import synthesize_line, wav_seconds
    from tower_anime.story.dialogue import estimate_speech

    voice_cfg = validate_config({})["voice"]
    text = "1984, 2001, 2049, 3000."  # spoken: nineteen eighty-four, two thousand one...
    out = tmp_path / "line.wav"
    synthesize_line({"line": "l1", "text": text, "voice": {"engine": "piper", "pitch": 0, "speed": 1.0}}, out)
    assert estimate_speech(text, 1.0, "piper", voice_cfg, "en") >= wav_seconds(out)
    # a mark the voice does not say takes no time
    assert estimate_speech("We made it 🙂", 1.0, "piper", voice_cfg, "en") == estimate_speech(
        "We made it", 1.0, "piper", voice_cfg, "en"
    )


def test_an_at_inside_the_crossfade_into_its_shot_is_moved_with_a_note(story):
    scene = story.episodes["test01"]["scenes"][1]
    scene.update(transition="crossfade", transition_seconds=1.0)
    scene["shots"][0]["dialogue"][0]["at"] = 0.2
    plan = plan_of(story)
    (note,) = [n for n in plan.notes if "crossfade" in n]
    assert note.startswith("shot s3 line 1: at 0.2 s falls in the crossfade into the shot; it starts at 1.00 s"), note
    assert plan.fits["s3"].earliest[0] == 1.0


@pytest.mark.parametrize("grow", [1, 2, 3, 5, 7])
def test_a_clip_spec_does_not_change_when_an_earlier_shot_grows(story, grow):
    # each clip's lines are timed from its own shot: moving the shot on the episode's clock
    # (an earlier shot a few frames longer) must not change its spec, or its clip re-renders
    before = plan_of(story)
    story.episodes["test01"]["scenes"][0]["shots"][0]["frames"] += grow
    after = plan_of(story)
    assert rows(after)["s2"]["start_frame"] == rows(before)["s2"]["start_frame"] + grow
    for shot in ("s2", "s3"):
        assert dumps(after.clips[shot]) == dumps(before.clips[shot]), shot
    assert "-0.0" not in dumps(after.clips["s2"]) + dumps(after.clips["s3"])


def test_a_shot_planned_with_no_tail_still_leaves_the_placements_guard(story):
    # shot_tail 0 with speed_up_then_grow: the plan sizes s2 to fit its line at max_tempo;
    # the placement keeps END_GUARD before the cut, so the plan must leave at least that
    from tower_anime.story.dialogue import estimate_speech

    lengthen_s2(story)
    plan = plan_of(story, voice={"shot_tail": 0, "fit_lines": "speed_up_then_grow"})
    voice_cfg = validate_config({"backends": {"voice": "espeak"}, "voice": {"shot_tail": 0}})["voice"]
    cues = [c for c in plan.cues if c["shot"] == "s2"]
    spec = plan.lines["s2_l1"]
    said = estimate_speech(LONG, spec["voice"]["speed"], spec["voice"]["engine"], voice_cfg, "en")
    placed = place_lines(cues, {"s2_l1": said})  # the voice exactly as long as planned: it fits
    assert placed[0]["end"] <= cues[0]["window"][1] - END_GUARD + 1e-9
