"""Shots that grow to fit their dialogue (voice.grow_shots), lines held to their slots, and the
service requests that the plan renders into each job's spec."""
import copy
import math

import pytest

from conftest import ROOT
from tower_anime.config import validate_config
from tower_anime.episode.timeline import place_lines
from tower_anime.errors import MediaError
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


def test_a_shot_grows_to_hold_its_estimated_line(story):
    off = plan_of(lengthen_s2(story))
    on = plan_of(story, voice={"grow_shots": True})
    rows_off, rows_on = {s["shot"]: s for s in off.shots}, {s["shot"]: s for s in on.shots}
    assert rows_off["s2"]["frames"] == 60                      # the script's 2.5 s
    # first_line_at 0.4 + overhead 0.3 + 84 chars / (15 chars/s x luna's speed 1.0) + tail 0.3
    expected = math.ceil((0.4 + 0.3 + len(LONG) / 15 + 0.3) * 24)
    assert rows_on["s2"]["frames"] == expected
    assert rows_on["s3"]["start_frame"] == 49 + expected - 12  # what follows moves with it
    assert on.total_frames == off.total_frames + expected - 60
    assert on.music["street"]["duration"] == round((49 + expected) / 24, 4)
    cue = {c["line"]: c for c in on.cues}["s2_l1"]
    assert cue["slot_end"] == round((49 + expected) / 24 - 0.3, 4) and cue["max_tempo"] == 1.25
    # short lines that already fit leave their shots alone
    assert (rows_on["s1"]["frames"], rows_on["s3"]["frames"]) == (49, 61)


def test_without_the_option_nothing_changes(story):
    plain, again = plan_of(story), plan_of(story, voice={"grow_shots": False})
    assert dumps(plain.timeline()) == dumps(again.timeline()) and dumps(plain.audio_timeline()) == dumps(again.audio_timeline())
    assert all("slot_end" not in c for c in plain.cues)


def test_a_slower_character_gets_a_longer_shot(story):
    lengthen_s2(story)
    fast = {s["shot"]: s for s in plan_of(story, voice={"grow_shots": True}).shots}["s2"]["frames"]
    story.characters["luna"]["voice"]["speed"] = 0.8
    slow = {s["shot"]: s for s in plan_of(story, voice={"grow_shots": True}).shots}["s2"]["frames"]
    assert slow > fast


def slot_cue(line, earliest, slot_end, text="Hello there."):
    return {"line": line, "earliest": earliest, "shot_start": 0.0, "gap": 0.25, "text": text,
            "speaker": "luna", "shot": "s2", "slot_end": slot_end, "max_tempo": 1.25}


def test_lines_are_sped_up_to_their_slot_and_no_further():
    placed = place_lines([slot_cue("a", 0.4, 3.0), slot_cue("b", 3.25, 6.0)], {"a": 2.0, "b": 3.3})
    assert (placed[0]["tempo"], placed[0]["end"]) == (1.0, 2.4)
    assert placed[1]["tempo"] == pytest.approx(3.3 / 2.75, abs=1e-4) and placed[1]["end"] == pytest.approx(6.0, abs=0.002)
    with pytest.raises(MediaError, match=r"line b \('Hello there.'\) takes 4.00 s but its shot s2 leaves 2.75 s for it, "
                                         r"even at 1.25x speed it would need 3.20 s; raise voice.max_tempo"):
        place_lines([slot_cue("a", 0.4, 3.0), slot_cue("b", 3.25, 6.0)], {"a": 2.0, "b": 4.0})


# --- service requests in the specs ----------------------------------------------------------------

def test_http_voice_specs_carry_the_rendered_request(story):
    story.characters["viktor"]["voice"].update(voice_id="vk-deep-01", emotion="smug")
    story.episodes["test01"]["scenes"][0]["shots"][0]["dialogue"][0]["emotion"] = "urgent"
    plan = plan_of(story, backends={"voice": "http"})
    body = {k: plan.lines[k]["request"]["body"] for k in plan.lines}
    assert body["s1_l1"] == {"text": "Go!", "voice_id": "akira", "speed": 1.08, "pitch": 0, "emotion": "urgent",
                             "format": "wav"}
    assert body["s3_l1"]["voice_id"] == "vk-deep-01" and body["s3_l1"]["emotion"] == "smug"
    assert body["s2_l1"]["emotion"] == "neutral"     # the character sheet's default
    req = plan.lines["s1_l1"]["request"]
    assert (req["url"], req["method"], req["reply"]) == ("http://127.0.0.1:8309/api/voice/synthesize", "POST",
                                                         {"type": "audio", "pointer": ""})


def test_editing_the_template_changes_exactly_the_specs_it_renders_differently(story):
    base = plan_of(story, backends={"voice": "http", "music": "http"})
    tmpl = ('{"text": {{ text|tojson }}, "voice_id": {{ voice_id|tojson }}'
            '{% if speaker == "viktor" %}, "style": "menacing"{% endif %}}')
    edited = plan_of(story, backends={"voice": "http", "music": "http"}, voice={"http": {"body": tmpl}})
    changed = [k for k in base.lines if dumps(base.lines[k]) != dumps(edited.lines[k])]
    assert changed == ["s1_l1", "s2_l1", "s3_l1"]       # every body lost speed/pitch/emotion
    tmpl2 = tmpl.replace("menacing", "icy")
    again = plan_of(story, backends={"voice": "http", "music": "http"}, voice={"http": {"body": tmpl2}})
    assert [k for k in base.lines if dumps(edited.lines[k]) != dumps(again.lines[k])] == ["s3_l1"]
    assert dumps(base.music) == dumps(edited.music)


def test_http_music_specs_carry_tempo_and_duration(story):
    story.episodes["test01"]["scenes"][1]["music_tempo"] = 70
    plan = plan_of(story, backends={"music": "http"})
    street, office = plan.music["street"], plan.music["office"]
    assert street["request"]["body"]["tempo"] == 108          # the mood 'tense'
    assert office["request"]["body"]["tempo"] == 70           # the scene's music_tempo
    assert office["request"]["body"]["duration"] == round(61 / 24, 4) == office["duration"]
    assert office["request"]["body"]["scene_id"] == "office" and office["fit"] == {"fade": 1.5, "crossfade": 1.0}
    assert plan.music["street"]["request"]["url"] == "http://127.0.0.1:8088/api/music/generate"
