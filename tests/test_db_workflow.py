"""The real workflow reading its story and facts from a database (SQLite by default, and a real
PostgreSQL server): the same plan as the YAML files, and a changed row re-plans exactly what
it shapes. Dry runs on a fork of the session's built episode, as test_workflow does."""

import shutil
import subprocess
import sys

import pytest
from conftest import copy_workflow, dump_yaml, episode_jobs, load_yaml, shot_jobs, snakemake
from postgres_server import free_port
from test_workflow import EP, fork, planned

from tower_anime.store import connect

pytestmark = pytest.mark.workflow


def chain(shot):
    """A shot's still, clip and their reports, then the episode."""
    return shot_jobs(shot, ep=EP) | episode_jobs(EP)


def cli(work, *args):
    proc = subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "--config", "tests/data/config.yaml", *args],
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def use_database(work, url=None):
    """Point the test config at the database (no URL: the embedded default build/tower.db)."""
    path = work / "tests" / "data" / "config.yaml"
    cfg = load_yaml(path)
    cfg["story"].update(source="database", **({"database_url": url} if url else {}))
    cfg["facts"] = {"source": "database"}
    dump_yaml(cfg, path)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_fork(request, built, tmp_path, monkeypatch):
    """A fork of the built episode whose story and facts were imported into a database."""
    monkeypatch.delenv("TOWER_DATABASE_URL", raising=False)  # SQLite: the default, unconfigured
    work = fork(built, tmp_path)
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres").create_database()
    story = tmp_path / "story"
    (story / "episodes").mkdir(parents=True)
    shutil.copy(work / "config" / "characters.yaml", story / "characters.yaml")
    shutil.copy(work / "tests" / "data" / "episodes" / f"{EP}.yaml", story / "episodes")
    db_args = ["--database", url] if url else []
    cli(work, "db", "import", str(story), *db_args)
    cli(work, "facts", "import", "config/facts/production.yaml", *db_args)
    use_database(work, url)
    return work, url or f"sqlite:///{work / 'build' / 'tower.db'}"


def test_a_database_story_replans_exactly_what_its_rows_shape(db_fork):
    work, url = db_fork
    if "sqlite" in url:
        assert (work / "build" / "tower.db").is_file()  # the embedded default, no URL configured
    # the same specs as the YAML it was imported from: nothing to do
    assert planned(work) == set()
    with connect(url) as db:
        db.execute("UPDATE shots SET action = ? WHERE episode_id = ? AND id = ?", ("Luna slams the desk.", EP, "s2"))
    assert planned(work) == chain("s2")
    with connect(url) as db:
        db.execute(
            "UPDATE shots SET action = ? WHERE episode_id = ? AND id = ?", ("Luna calls from the lab.", EP, "s2")
        )
        assert (
            db.execute(
                "UPDATE facts SET object = ? WHERE subject = ? AND predicate = ?",
                ("Corporate antagonist with a scar over one eyebrow", "Viktor Kozlov", "character_type"),
            )
            == 1
        )
    assert planned(work) == chain("s3")


def test_a_fact_edited_in_the_yaml_replans_only_that_characters_shots(built, tmp_path):
    work = fork(built, tmp_path)
    path = work / "config" / "facts" / "production.yaml"
    doc = load_yaml(path)
    for fact in doc["facts"]:
        if fact["subject"] == "Luna Chen":
            fact["object"] += ", always in a red scarf"
    dump_yaml(doc, path)
    assert planned(work) == chain("s2")


def test_an_unreachable_database_stops_the_workflow_with_one_clear_line(tmp_path):
    work = copy_workflow(tmp_path / "down")
    port = free_port()  # nothing listens there
    use_database(work, f"postgresql://tower:s3cret-pw@127.0.0.1:{port}/tower")
    proc = snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert f"cannot connect to PostgreSQL at 127.0.0.1:{port} (database tower, user tower)" in proc.stderr
    assert "postgresql://tower:***@127.0.0.1" in proc.stderr
    assert "s3cret" not in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
