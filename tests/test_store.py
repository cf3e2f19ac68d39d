"""The story database, run on SQLite and on a real PostgreSQL server: migrations, import and
export, all-or-nothing imports, and a story read back that plans exactly like the files."""

import shutil
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, dump_yaml, load_yaml

from tower_anime.errors import DatabaseError, InvalidInput
from tower_anime.facts import PromptContext, read_fact_files
from tower_anime.store import connect, migrate
from tower_anime.store.story_rows import TABLES
from tower_anime.story import dumps, load_story, plan_story
from tower_anime.story.database import export_folder, import_folder, read_story

TEMPLATE = '{\n  "3": {"class_type": "KSampler", "inputs": {"seed": {{ seed }}, "text": "{{ prompt | e }} – ✓"}}\r\n}\n'


def snapshot(db):
    """Every story row and template, in a stable order: what 'the same rows' means."""
    out = {
        t: sorted(tuple(r.values()) for r in db.rows(f"SELECT {', '.join(cols)} FROM {t}"))
        for t, cols in TABLES.items()
    }
    out["workflow_templates"] = sorted(tuple(r.values()) for r in db.rows("SELECT name, body FROM workflow_templates"))
    return out


@pytest.fixture
def story_folder(story_dir):
    """characters.yaml, episodes/test01.yaml and one workflow template (with CRLF and non-ASCII)."""
    (story_dir / "workflows").mkdir()
    (story_dir / "workflows" / "still_sd15.json").write_bytes(TEMPLATE.encode())
    return story_dir


def all_specs(plans):
    return {
        f"{ep}:{kind}:{k}": dumps(v)
        for ep, p in plans.items()
        for kind in ("stills", "clips", "lines", "music")
        for k, v in getattr(p, kind).items()
    }


def test_migrations_apply_once_and_init_is_safe_twice(database_url):
    with connect(database_url) as db:
        assert migrate(db) == [
            "0001_story",
            "0002_facts",
            "0003_facts_search",
            "0004_character_voice",
            "0005_story_fields",
        ]
        assert migrate(db) == []
        assert db.value("SELECT count(*) AS n FROM schema_migrations") == 5
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-m", "tower_anime.cli", "db", "init", "--database", database_url],
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0 and "schema up to date" in proc.stdout, proc.stderr


def test_an_edited_applied_migration_is_reported(database_url):
    with connect(database_url) as db:
        migrate(db)
        db.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", ("0" * 16, 1))
        with pytest.raises(DatabaseError, match="0001_story was changed after it was applied"):
            migrate(db)


def test_a_story_read_back_is_the_story_of_the_files(database_url, story_folder, test_config):
    with connect(database_url) as db:
        counts = import_folder(db, story_folder)
        assert counts == {"characters": 3, "episodes": 1, "shots": 3, "templates": 1}
        from_db = read_story(db)
    from_files = load_story(story_folder / "characters.yaml", story_folder / "episodes")
    assert from_db.characters == from_files.characters
    assert from_db.episodes == from_files.episodes
    # and the same specs, byte for byte (1 and 1.0 spelled as written), facts included
    facts = read_fact_files([ROOT / "config" / "facts" / "*.yaml"])
    for story in (from_db, from_files):
        story.plans = plan_story(
            story, test_config, PromptContext(facts, story.characters, "Style Bible", test_config["facts"]["style"])
        )
    assert all_specs(from_db.plans) == all_specs(from_files.plans)
    assert from_db.characters["luna"]["voice"]["speed"] == 1.0 and isinstance(
        from_db.characters["luna"]["voice"]["speed"], float
    )
    assert from_db.characters["akira"]["voice"]["pitch"] == 0 and isinstance(
        from_db.characters["akira"]["voice"]["pitch"], int
    )


def _every_field(story_dir):
    """The test story with every optional field the schemas have, set to a value."""
    sheet = load_yaml(story_dir / "characters.yaml")
    luna = sheet["characters"]["luna"]
    luna.update(lang="en", workflow={"stills": "still_sd15.json", "clips": "clip_ltx.json"})
    luna.update(reference_image="refs/luna.png", lora={"file": "luna.safetensors", "strength_model": 0.8})
    luna["lora"]["strength_clip"] = 1
    luna.setdefault("voice", {}).update(engine="piper", emotion="calm", voice_id="luna-1")
    luna["voice"]["timbre"] = {"formant": 1, "brightness": 0.5, "warmth": -2.5}
    dump_yaml(sheet, story_dir / "characters.yaml")
    path = story_dir / "episodes" / "test01.yaml"
    doc = load_yaml(path)
    doc.update(lang="en", title_lang="ja", fade_in_seconds=0.5, fade_out_seconds=1, workflow={"stills": "a.json"})
    scene = doc["scenes"][0]
    scene.update(music_tempo=96.0, music_seed=7, transition_seconds=0.5)
    shot = scene["shots"][1]
    shot["workflow"] = {"clips": "b.json"}
    shot["dialogue"][0].update(
        lang="en", emotion="angry", at=0.25, subtitles={"spa": "¡Vamos!", "jpn": "行こう！", "eng": "Go!"}
    )
    dump_yaml(doc, path)
    return doc, sheet


def _schema_fields(schema, prefix=""):
    """Every property path a schema defines, through nested objects and arrays of objects."""
    out = set()
    for key, sub in (schema.get("properties") or {}).items():
        out.add(prefix + key)
        for node in (sub, sub.get("items") or {}):
            if node.get("properties"):
                out |= _schema_fields(node, f"{prefix}{key}.")
    return out


def _doc_fields(node, prefix=""):
    out = set()
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(prefix + key)
            out |= _doc_fields(value, f"{prefix}{key}.")
    elif isinstance(node, list):
        for value in node:
            out |= _doc_fields(value, prefix)
    return out


def test_every_field_of_the_schemas_survives_the_database(database_url, story_folder):
    # an import that has no column for a field loses it silently: the story from the database
    # then plans differently (a Japanese line spoken as English, a fade or translations gone)
    from tower_anime.schema import load_schema

    doc, sheet = _every_field(story_folder)
    episode_schema = load_schema("episode")
    wanted = _schema_fields(episode_schema) - {"id"}  # the id is the file's name
    # `at` and numbers spelled as written are covered by the other tests; here: every field is there
    assert wanted <= _doc_fields(doc) | {"scenes.shots.duration"}, wanted - _doc_fields(doc)
    character = load_schema("characters")["properties"]["characters"]["additionalProperties"]
    assert _schema_fields(character) <= _doc_fields(sheet["characters"]["luna"])
    with connect(database_url) as db:
        import_folder(db, story_folder)
        story = read_story(db)
    files = load_story(story_folder / "characters.yaml", story_folder / "episodes")
    assert story.episodes == files.episodes
    assert story.characters == files.characters
    assert list(story.episodes["test01"]["scenes"][0]["shots"][1]["dialogue"][0]["subtitles"]) == ["spa", "jpn", "eng"]


def test_the_shipped_story_round_trips(database_url):
    with connect(database_url) as db:
        import_folder(db, ROOT / "config")
        story = read_story(db)
    assert story.episodes == load_story(ROOT / "config" / "characters.yaml", ROOT / "config" / "episodes").episodes


def test_importing_twice_changes_nothing(database_url, story_folder):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        first = snapshot(db)
        import_folder(db, story_folder)
        assert snapshot(db) == first
        assert len(first["shots"]) == 3 and len(first["dialogue_lines"]) == 3


def test_export_re_imports_to_the_same_rows(new_database, story_folder, tmp_path):
    with connect(new_database()) as db:
        import_folder(db, story_folder)
        before = snapshot(db)
        assert export_folder(db, tmp_path / "out") == {"characters": 3, "episodes": 1, "templates": 1}
    assert (tmp_path / "out" / "workflows" / "still_sd15.json").read_bytes() == TEMPLATE.encode()
    with connect(new_database()) as db2:
        import_folder(db2, tmp_path / "out")
        assert snapshot(db2) == before


def test_a_bad_file_changes_nothing(database_url, story_folder):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        before = snapshot(db)
        chars = load_yaml(story_folder / "characters.yaml")
        chars["characters"]["luna"]["description"] = "changed, but must not be written"
        dump_yaml(chars, story_folder / "characters.yaml")
        ep = load_yaml(story_folder / "episodes" / "test01.yaml")
        ep["scenes"][0]["shots"][0]["characters"] = ["mei"]
        dump_yaml(ep, story_folder / "episodes" / "ep02.yaml")
        with pytest.raises(InvalidInput) as exc:
            import_folder(db, story_folder)
        assert "ep02.yaml: scenes[0].shots[0].characters[0]: unknown character 'mei'" in str(exc.value)
        assert snapshot(db) == before


def test_a_broken_template_changes_nothing(database_url, story_folder):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        before = snapshot(db)
        (story_folder / "workflows" / "clip_ltx.json").write_text('{"seed": {{ seed }\n')
        with pytest.raises(InvalidInput, match=r"clip_ltx.json: line 1: Jinja2 syntax error"):
            import_folder(db, story_folder)
        assert snapshot(db) == before


def _trigger(db):
    """A real failure half-way through the import's writes: the database refuses one shot."""
    if db.dialect == "sqlite":
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON shots WHEN new.id = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'shot boom refused'); END"
        )
    else:
        db.run_script(
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
            "IF NEW.id = 'boom' THEN RAISE EXCEPTION 'shot boom refused'; END IF; RETURN NEW; END $$ "
            "LANGUAGE plpgsql; CREATE TRIGGER refuse BEFORE INSERT ON shots "
            "FOR EACH ROW EXECUTE FUNCTION refuse();"
        )


def test_a_failure_during_the_writes_rolls_everything_back(database_url, story_folder):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        before = snapshot(db)
        _trigger(db)
        chars = load_yaml(story_folder / "characters.yaml")
        chars["characters"]["luna"]["description"] = "written first, then rolled back"
        dump_yaml(chars, story_folder / "characters.yaml")
        ep = load_yaml(story_folder / "episodes" / "test01.yaml")
        ep["scenes"][1]["shots"][0]["id"] = "boom"
        dump_yaml(ep, story_folder / "episodes" / "test01.yaml")
        with pytest.raises(DatabaseError, match="shot boom refused"):
            import_folder(db, story_folder)
        assert snapshot(db) == before


def test_editing_a_shot_row_changes_only_that_shots_specs(database_url, story_folder, test_config):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        before = all_specs(plan_story(read_story(db), test_config))
        assert (
            db.execute(
                "UPDATE shots SET action = ? WHERE episode_id = ? AND id = ?", ("Luna slams the desk.", "test01", "s2")
            )
            == 1
        )
        after = all_specs(plan_story(read_story(db), test_config))
    assert sorted(k for k in before if before[k] != after[k]) == ["test01:clips:s2", "test01:stills:s2"]


def test_a_bad_row_is_named_like_a_bad_file(database_url, story_folder):
    with connect(database_url) as db:
        import_folder(db, story_folder)
        db.execute("UPDATE shots SET frames = ? WHERE id = ?", (-5, "s3"))
        db.execute("UPDATE characters SET voice_speed = ? WHERE id = ?", ("fast", "viktor"))
        with pytest.raises(InvalidInput) as exc:
            read_story(db)
    text = str(exc.value)
    assert "(episode test01): scenes[1].shots[0].frames: got -5; expected a positive whole number of frames" in text
    assert "(characters): characters.viktor.voice.speed: got 'fast'" in text


def test_an_empty_or_uninitialised_database_says_what_to_run(database_url):
    with connect(database_url) as db:
        with pytest.raises(DatabaseError, match=r"no Tower tables yet; run `tower-anime db init`"):
            read_story(db)
        migrate(db)
        with pytest.raises(DatabaseError, match=r"holds no story yet; load one with `tower-anime db import config/`"):
            read_story(db)


def test_cli_import_and_export(database_url, story_folder, tmp_path):
    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "tower_anime.cli", *args, "--database", database_url],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )

    proc = cli("db", "import", str(story_folder))
    assert proc.returncode == 0, proc.stderr
    assert "imported 3 characters, 1 episode(s), 3 shots, 1 workflow template(s)" in proc.stdout
    password = urlsplit(database_url).password
    assert password is None or (password not in proc.stdout and ":***@" in proc.stdout)
    shutil.rmtree(story_folder / "episodes")
    proc = cli("db", "import", str(story_folder))
    assert proc.returncode == 1 and "no episode files (*.yaml) found" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("db", "export", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert load_yaml(tmp_path / "out" / "episodes" / "test01.yaml")["title"] == "Test Episode"


def test_rows_left_without_their_parent_by_a_hand_edit_are_named(tmp_path, story_folder):
    # Tower's connection enforces the foreign keys; the sqlite3 shell does not, by default
    import sqlite3

    url = f"sqlite:///{tmp_path / 'story.db'}"
    (tmp_path / "story.db").touch()
    with connect(url) as db:
        import_folder(db, story_folder)
    raw = sqlite3.connect(tmp_path / "story.db")
    raw.execute("UPDATE shots SET id = 'S1' WHERE id = 's1'")
    raw.execute(
        "INSERT INTO dialogue_lines (episode_id, shot_id, position, speaker, text) VALUES ('test01', 'zz', 0, 'luna', 'Lost.')"
    )
    raw.commit()
    raw.close()
    with connect(url) as db, pytest.raises(InvalidInput) as exc:
        read_story(db)
    found = [str(p) for p in exc.value.problems]
    assert any("shot_characters: row (episode_id='test01', shot_id='s1'" in p for p in found), found
    assert any(
        "dialogue_lines: row (episode_id='test01', shot_id='zz', position=0) has no shots row" in p for p in found
    )
    assert all("delete it or restore its parent" in p for p in found)
