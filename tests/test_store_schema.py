"""Tower's tables in a schema of their own on PostgreSQL: a database whose public schema already
holds the user's characters, episodes and video_workflow_templates (their column shapes) is
initialised, imported into, planned from and exported without one of their rows or columns
changing; `db init` no longer fails with `relation "characters" already exists`."""

import subprocess
import sys

import pytest
from conftest import ROOT

from tower_anime.check import check_inputs
from tower_anime.config import load_config
from tower_anime.errors import DatabaseError
from tower_anime.store import connect, resolve_url

# the user's tables as their database has them (public schema)
USER_TABLES = """
CREATE TABLE public.characters (id SERIAL PRIMARY KEY, name VARCHAR(255) NOT NULL, description TEXT);
CREATE TABLE public.episodes (id SERIAL PRIMARY KEY, name VARCHAR(255) UNIQUE NOT NULL, description TEXT,
    status VARCHAR(50) DEFAULT 'draft', duration FLOAT, episode_data JSONB);
CREATE TABLE public.video_workflow_templates (id SERIAL PRIMARY KEY, name VARCHAR(255) UNIQUE NOT NULL,
    workflow_template JSONB NOT NULL, frame_count INTEGER, fps INTEGER, description TEXT,
    created_at TIMESTAMP DEFAULT now());
INSERT INTO public.characters (name, description) VALUES ('Akira', 'street racer'), ('Luna', 'AI researcher'),
    ('Viktor', 'CEO of Nexus Corp');
INSERT INTO public.episodes (name, description, status, duration, episode_data)
    VALUES ('Episode 1', 'pilot', 'rendered', 5.04, '{"renders": [{"file": "ep1.mp4", "frames": 121}]}');
INSERT INTO public.video_workflow_templates (name, workflow_template, frame_count, fps, description)
    VALUES ('ltx_2b_standard', '{"1": {"class_type": "CheckpointLoaderSimple", "inputs": {}}}', 121, 24, 'LTX 2B');
"""


def public_state(url):
    """Every table of the public schema: its columns and its rows."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
            )
        ]
        state = {}
        for t in tables:
            cols = conn.execute(
                "SELECT column_name, data_type, column_default, is_nullable FROM "
                "information_schema.columns WHERE table_schema = 'public' AND table_name = %s "
                "ORDER BY ordinal_position",
                (t,),
            ).fetchall()
            rows = conn.execute(f'SELECT * FROM public."{t}" ORDER BY 1').fetchall()
            state[t] = (cols, [tuple(str(v) for v in r) for r in rows])
        return state


def tower_tables(url, schema="tower"):
    import psycopg

    with psycopg.connect(url) as conn:
        return {
            r[0]
            for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))
        }


@pytest.fixture
def users_db(postgres):
    url = postgres.create_database()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(USER_TABLES)
    return url


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "--config", "tests/data/config.yaml", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_init_import_plan_export_and_facts_leave_the_users_tables_alone(users_db, tmp_path, monkeypatch):
    before = public_state(users_db)
    assert set(before) == {"characters", "episodes", "video_workflow_templates"}
    for args in (
        ["db", "init"],
        ["db", "init"],
        ["db", "import", "config/"],
        ["facts", "import", "config/facts/production.yaml"],
        ["db", "export", str(tmp_path / "out")],
        ["facts", "search", "Luna"],
    ):
        proc = cli(*args, "--database", users_db)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "already exists" not in proc.stderr
    assert (
        "(schema tower2): applied 0001_story" in cli("db", "init", "--database", users_db, "--schema", "tower2").stdout
    )
    # the workflow's own reading of the story (what the Snakefile plans from)
    monkeypatch.chdir(ROOT)
    config = load_config(
        ROOT / "tests" / "data" / "config.yaml", extra_files=[ROOT / "config" / "services" / "user-database.yaml"]
    )
    config["story"].update(database_url=users_db, episodes=["ep01"])
    plans = check_inputs(config, "test config").plans
    assert plans["ep01"].shots and (tmp_path / "out" / "characters.yaml").is_file()
    assert public_state(users_db) == before
    assert {"characters", "episodes", "scenes", "shots", "facts", "schema_migrations"} <= tower_tables(users_db)
    assert "characters" in tower_tables(users_db, "tower2")


def test_the_schema_is_checked_and_a_missing_one_reads_as_uninitialised(users_db):
    for bad in ("public", "Tower", "pg_catalog", "a-b"):
        with pytest.raises(DatabaseError, match=f"bad database schema {bad!r}"):
            resolve_url({}, "story", users_db, bad)
    with connect(resolve_url({"story": {"database_schema": "elsewhere"}}, "story", users_db)) as db:
        from tower_anime.story.database import read_story

        with pytest.raises(
            DatabaseError, match=r"no Tower tables yet; run .*Tower's tables are in the schema elsewhere"
        ):
            read_story(db)  # the user's public.characters is not mistaken for Tower's
    assert (
        resolve_url({"story": {"database_schema": "s"}, "facts": {"database_schema": ""}}, "facts", users_db).schema
        == "s"
    )
