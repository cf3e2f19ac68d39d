"""The story loader: the shipped story is valid; each kind of bad input is named precisely."""

import pytest
from conftest import ROOT, dump_yaml, load_yaml

from tower_anime.errors import InvalidInput
from tower_anime.story import load_story


def problems_for(story_dir, edit):
    ep_path = story_dir / "episodes" / "test01.yaml"
    doc = load_yaml(ep_path)
    edit(doc)
    dump_yaml(doc, ep_path)
    with pytest.raises(InvalidInput) as exc:
        load_story(story_dir / "characters.yaml", story_dir / "episodes")
    return [str(p) for p in exc.value.problems], str(exc.value)


def test_shipped_story_is_valid():
    story = load_story(ROOT / "config" / "characters.yaml", ROOT / "config" / "episodes")
    assert set(story.characters) == {"akira", "luna", "viktor"}
    ep = story.episodes["ep01"]
    assert len(ep["scenes"]) >= 3
    assert sum(len(s["shots"]) for s in ep["scenes"]) >= 10
    speakers = {line["speaker"] for s in ep["scenes"] for sh in s["shots"] for line in sh.get("dialogue", [])}
    assert speakers == {"akira", "luna", "viktor"}


def test_unknown_character_is_named(story_dir):
    def edit(doc):
        doc["scenes"][0]["shots"][0]["characters"] = ["akira", "mei"]

    found, _ = problems_for(story_dir, edit)
    assert len(found) == 1
    assert "test01.yaml: scenes[0].shots[0].characters[1]: unknown character 'mei'" in found[0]
    assert "akira" in found[0] and "luna" in found[0]  # tells what is allowed


def test_unknown_speaker_is_named(story_dir):
    def edit(doc):
        doc["scenes"][1]["shots"][0]["dialogue"][0]["speaker"] = "ghost"

    found, _ = problems_for(story_dir, edit)
    assert any("scenes[1].shots[0].dialogue[0].speaker: unknown character 'ghost'" in p for p in found)


def test_duplicate_shot_id(story_dir):
    def edit(doc):
        doc["scenes"][1]["shots"][0]["id"] = "s1"

    found, _ = problems_for(story_dir, edit)
    assert any("scenes[1].shots[0].id: duplicate shot id 's1' (first at scenes[0].shots[0])" in p for p in found)


def test_unsafe_shot_id(story_dir):
    def edit(doc):
        doc["scenes"][0]["shots"][1]["id"] = "../x"

    found, _ = problems_for(story_dir, edit)
    assert len(found) == 1
    assert "scenes[0].shots[1].id: got '../x'; expected an id of letters, digits" in found[0]


def test_negative_duration(story_dir):
    def edit(doc):
        doc["scenes"][0]["shots"][1]["duration"] = -3

    found, _ = problems_for(story_dir, edit)
    assert any("scenes[0].shots[1].duration: got -3; expected a positive length in seconds" in p for p in found)


def test_missing_field_and_wrong_type_are_both_reported(story_dir):
    def edit(doc):
        del doc["scenes"][0]["shots"][0]["action"]
        doc["scenes"][1]["shots"][0]["seed"] = "thirteen"

    found, message = problems_for(story_dir, edit)
    assert any("scenes[0].shots[0]: 'action' is a required property" in p for p in found)
    assert any("scenes[1].shots[0].seed: got 'thirteen'; expected a whole number" in p for p in found)
    assert "2 problem(s)" in message


def test_both_duration_and_frames(story_dir):
    def edit(doc):
        doc["scenes"][0]["shots"][0]["duration"] = 2.0

    found, _ = problems_for(story_dir, edit)
    assert any("scenes[0].shots[0]: give exactly one of duration (seconds) or frames" in p for p in found)


def test_unknown_field_is_named(story_dir):
    def edit(doc):
        doc["scenes"][0]["moood"] = "calm"

    found, _ = problems_for(story_dir, edit)
    assert any("scenes[0].moood: unknown field" in p for p in found)


def test_bad_character_sheet(story_dir):
    chars = load_yaml(story_dir / "characters.yaml")
    chars["characters"]["luna"]["palette"]["hair"] = "silver"
    dump_yaml(chars, story_dir / "characters.yaml")
    with pytest.raises(InvalidInput) as exc:
        load_story(story_dir / "characters.yaml", story_dir / "episodes")
    assert any(
        "characters.yaml: characters.luna.palette.hair: got 'silver'; expected a colour as #RRGGBB" in str(p)
        for p in exc.value.problems
    )


def test_yaml_syntax_error_names_line(story_dir):
    (story_dir / "episodes" / "test01.yaml").write_text("title: x\nscenes: [\n")
    with pytest.raises(InvalidInput) as exc:
        load_story(story_dir / "characters.yaml", story_dir / "episodes")
    assert "not valid YAML" in str(exc.value) and "line" in str(exc.value)


def test_config_schema_fills_defaults_and_rejects_bad_values():
    from tower_anime.config import validate_config

    cfg = validate_config({})
    assert cfg["output"]["fps"] == 24 and cfg["loudness"]["integrated_lufs"] == -24
    with pytest.raises(InvalidInput) as exc:
        validate_config({"output": {"width": 700, "fps": "fast"}}, "my.yaml")
    text = str(exc.value)
    assert "my.yaml: output.width: got 700; expected frame width in pixels, a multiple of 32" in text
    assert "my.yaml: output.fps: got 'fast'" in text
