"""Facts: the store on SQLite and PostgreSQL (import once, ranked search, list by subject, the
CLI), and facts as prompt context: a changed fact re-plans only the specs it concerns."""

import dataclasses
import json
import subprocess
import sys

import pytest
from conftest import ROOT, dump_yaml

from tower_anime.errors import InvalidInput
from tower_anime.facts import (
    Fact,
    PromptContext,
    add_facts,
    list_facts,
    make_fact,
    prompt_context,
    read_fact_files,
    read_facts_file,
    search_facts,
)
from tower_anime.store import connect, migrate
from tower_anime.story import dumps, load_story, plan_story

PRODUCTION = ROOT / "config" / "facts" / "production.yaml"


def cli(database_url, *args):
    return subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "facts", *args, "--database", database_url],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.fixture
def db(database_url):
    with connect(database_url) as db:
        migrate(db)
        yield db


# --- the store, on both databases --------------------------------------------------------


def test_importing_the_same_file_twice_adds_nothing(database_url):
    first = cli(database_url, "import", str(PRODUCTION))
    assert first.returncode == 0, first.stderr
    n = len(read_facts_file(PRODUCTION))
    assert f"{n} fact(s) in {PRODUCTION}, {n} new" in first.stdout
    second = cli(database_url, "import", str(PRODUCTION))
    assert f"{n} fact(s) in {PRODUCTION}, 0 new" in second.stdout
    with connect(database_url) as db:
        assert len(list_facts(db)) == n


def test_production_facts_cover_the_write_up(db):
    add_facts(db, read_facts_file(PRODUCTION))
    subjects = {f["subject"] for f in list_facts(db)}
    assert {
        "Tower Anime Production",
        "Akira Yamamoto",
        "Luna Chen",
        "Viktor Kozlov",
        "LTX 2B Model",
        "ComfyUI API",
        "Quality Gates",
        "Style Bible",
    } <= subjects
    assert {f["predicate"] for f in list_facts(db, "style bible")} == {"look", "palette", "lens", "music_style"}


RANKED = [
    Fact("LTX 2B Model", "file_path", "LTX Video 2B checkpoint for video clips", "test"),
    Fact("Scene Generation", "duration_standard", "5 second clips with LTX 2B", "test"),
    Fact("AnimateDiff", "status", "replaced by a video model", "test"),
    Fact("Echo Voice", "engine", "Piper neural voice", "test"),
    Fact("Luna Chen", "character_type", "AI researcher", "test"),
    Fact("Research Lab", "owner", "Luna Chen runs it with a small team of engineers", "test"),
]


def test_search_ranks_the_best_match_first(db):
    assert add_facts(db, RANKED) == len(RANKED)
    hits = search_facts(db, "LTX video")
    assert hits[0]["subject"] == "LTX 2B Model"  # both words, several times
    assert {h["subject"] for h in hits[1:]} == {"Scene Generation", "AnimateDiff"}
    assert all(a["score"] >= b["score"] for a, b in zip(hits, hits[1:]))
    assert "Echo Voice" not in {h["subject"] for h in hits}
    # a word in the subject outweighs the same word in the object
    assert [h["subject"] for h in search_facts(db, "Luna")] == ["Luna Chen", "Research Lab"]
    # stemming: "clip" finds "clips"
    assert {h["subject"] for h in search_facts(db, "clip")} == {"LTX 2B Model", "Scene Generation"}
    assert [h["subject"] for h in search_facts(db, "LTX video", limit=1)] == ["LTX 2B Model"]


def test_search_takes_any_text_as_plain_words(db):
    add_facts(db, RANKED)
    assert search_facts(db, "") == [] and search_facts(db, "?!") == []
    hits = search_facts(db, 'piper" OR NEAR( -voice* & | !')
    assert hits and hits[0]["subject"] == "Echo Voice"


def test_list_by_subject_ignores_case_and_spacing(db):
    add_facts(db, RANKED)
    rows = list_facts(db, "  luna   CHEN ")
    assert [(r["subject"], r["predicate"], r["object"]) for r in rows] == [
        ("Luna Chen", "character_type", "AI researcher")
    ]
    assert rows[0]["source"] == "test" and rows[0]["created"].endswith("Z")


def test_cli_search_prints_a_table_or_json(database_url):
    assert cli(database_url, "import", str(PRODUCTION)).returncode == 0
    table = cli(database_url, "search", "LTX video frames")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["score", "subject", "predicate", "object"]
    assert "Tower Anime Production" in lines[1]
    hits = json.loads(cli(database_url, "search", "LTX video frames", "--json").stdout)
    assert hits[0]["subject"] == "Tower Anime Production" and hits[0]["score"] > 0
    added = cli(database_url, "add", "Akira Yamamoto", "rides", "a matte black superbike")
    assert "added 1 fact" in added.stdout
    assert "already known" in cli(database_url, "add", "Akira Yamamoto", "rides", "a matte black superbike").stdout
    listed = json.loads(cli(database_url, "list", "--subject", "akira yamamoto", "--json").stdout)
    assert [r["predicate"] for r in listed] == ["character_type", "rides"]
    assert listed[1]["source"] == "cli"


def test_search_before_init_says_what_to_run(database_url):
    proc = cli(database_url, "search", "anything")
    assert proc.returncode == 1 and "run `tower-anime db init`" in proc.stderr and "Traceback" not in proc.stderr


# --- facts files -------------------------------------------------------------------------


def test_a_bad_facts_file_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    dump_yaml({"facts": [{"subject": "Akira", "predicate": "age", "object": 22}, {"subject": "x", "object": "y"}]}, bad)
    with pytest.raises(InvalidInput) as exc:
        read_fact_files([tmp_path / "*.yaml"])
    text = str(exc.value)
    assert "bad.yaml: facts[0].object: got 22; expected the value as text (quote numbers and dates)" in text
    assert "bad.yaml: facts[1]: 'predicate' is a required property" in text


def test_a_fact_from_arguments_is_checked():
    with pytest.raises(InvalidInput, match=r"command line: subject: got '  '"):
        make_fact("  ", "p", "o", "cli")
    assert make_fact(" Luna  Chen ", "likes", "rain ", "cli") == Fact("Luna Chen", "likes", "rain", "cli")


# --- facts as prompt context (pure) --------------------------------------------------------


@pytest.fixture
def story():
    return load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes")


def specs(story, config, facts):
    context = PromptContext(facts, story.characters, "Style Bible", config["facts"]["style"])
    plan = plan_story(story, config, context)["test01"]
    return {
        **{f"still:{k}": dumps(v) for k, v in plan.stills.items()},
        **{f"clip:{k}": dumps(v) for k, v in plan.clips.items()},
        **{f"voice:{k}": dumps(v) for k, v in plan.lines.items()},
        **{f"music:{k}": dumps(v) for k, v in plan.music.items()},
    }


def changed(story, config, edit):
    facts = read_facts_file(PRODUCTION)
    edited = [edit(f) for f in facts]
    assert edited != facts, "the edit must change a fact"
    a, b = specs(story, config, facts), specs(story, config, edited)
    return sorted(k for k in a if a[k] != b[k])


def test_a_characters_fact_reaches_only_their_shots(story, test_config):
    def edit(f):
        return dataclasses.replace(f, object=f.object + ", red scarf") if f.subject == "Luna Chen" else f

    assert changed(story, test_config, edit) == ["clip:s2", "still:s2"]


def test_the_style_bibles_look_reaches_every_picture_and_no_sound(story, test_config):
    def edit(f):
        return dataclasses.replace(f, object="watercolour") if f.predicate == "look" else f

    assert changed(story, test_config, edit) == ["clip:s1", "clip:s2", "clip:s3", "still:s1", "still:s2", "still:s3"]


def test_the_music_style_reaches_only_the_music(story, test_config):
    def edit(f):
        return dataclasses.replace(f, object="solo piano") if f.predicate == "music_style" else f

    assert changed(story, test_config, edit) == ["music:office", "music:street"]


def test_a_fact_about_something_else_changes_no_spec(story, test_config):
    def edit(f):
        return dataclasses.replace(f, object="http://127.0.0.1:9/prompt") if f.subject == "ComfyUI API" else f

    assert changed(story, test_config, edit) == []


def test_prompt_context_for_a_list_of_characters(story, test_config):
    facts = read_facts_file(PRODUCTION) + [Fact("luna", "likes", "rain", "x"), Fact("LUNA CHEN", "likes", "rain", "y")]
    ctx = prompt_context(facts, ["luna", "viktor"], story.characters, "Style Bible", ["look", "lens"])
    assert ctx["characters"]["luna"] == [
        {
            "predicate": "character_type",
            "object": "AI researcher, silver hair, holographic tattoos, lab coat, conspiracy discoverer",
        },
        {"predicate": "likes", "object": "rain"},
    ]  # by id or name, any case, once
    assert [f["predicate"] for f in ctx["characters"]["viktor"]] == ["character_type"]
    assert [f["predicate"] for f in ctx["style"]] == ["lens", "look"]
    # the still spec carries the same lists
    plan = plan_story(
        story, test_config, PromptContext(facts, story.characters, "Style Bible", {"stills": ["look", "lens"]})
    )["test01"]
    luna = plan.stills["s2"]["characters"][0]
    assert luna["id"] == "luna" and luna["facts"] == ctx["characters"]["luna"]
    assert plan.stills["s2"]["style"] == ctx["style"] and plan.music["street"]["style"] == []


def test_without_facts_the_specs_are_as_before(story, test_config):
    plan = plan_story(story, test_config)["test01"]
    assert "style" not in plan.stills["s1"] and "facts" not in plan.stills["s1"]["characters"][0]
