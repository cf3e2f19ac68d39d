"""Shared fixtures: the repository root, a story to edit, a workflow copy to run (and the
session's built copy), and databases: SQLite files and a throwaway PostgreSQL server."""

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ["Snakefile", "rules", "scripts", "config", "profiles", "report"]


@pytest.fixture
def root():
    return ROOT


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def dump_yaml(data, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False)


@pytest.fixture
def story_dir(tmp_path):
    """A writable copy of the shipped characters and the small test episode."""
    shutil.copy(ROOT / "config" / "characters.yaml", tmp_path / "characters.yaml")
    (tmp_path / "episodes").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "episodes" / "test01.yaml", tmp_path / "episodes" / "test01.yaml")
    return tmp_path


def copy_workflow(dest):
    """The workflow (not its outputs) in a fresh folder, with the test data beside it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            shutil.copy2(src, dest / part)
    shutil.copytree(ROOT / "tests" / "data", dest / "tests" / "data")
    return dest


@pytest.fixture
def test_config():
    from tower_anime.config import load_config

    return load_config(ROOT / "tests" / "data" / "config.yaml")


def deep(d):
    return copy.deepcopy(d)


# --- the real workflow on the small test episode ----------------------------------------

PLUGINS = ROOT / "tests" / "plugins"  # test-only backends (tower_test_backends), see README


def snakemake(workdir, *args, check=True, config="tests/data/config.yaml", plugins=False):
    """Run the real workflow in workdir (with the test config); raise with its output on failure.
    plugins=True loads the test-only backends (TOWER_PLUGINS, README: Writing a backend)."""
    env = dict(os.environ)
    if plugins:
        env["TOWER_PLUGINS"] = "tower_test_backends"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", config, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def small_snakemake(workdir, *args):
    """Run `python -m snakemake --cores 1 ARGS` on a small Snakefile of a test's own in
    workdir, with this checkout's package importable (the tests of scripting and of
    tower_anime.snakemake_patches)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def teardown_marker(workdir):
    """Write workdir/kept.py, a module whose one object writes workdir/teardown.txt when it is
    freed: in the interpreter's teardown of modules, and only there. Returns that path; a
    Snakefile or script puts workdir on sys.path and imports `kept`."""
    marker = Path(workdir) / "teardown.txt"
    (Path(workdir) / "kept.py").write_text(
        # what __del__ needs is bound early: late in the teardown the module's names are gone
        "class Kept:\n"
        f"    def __del__(self, path={str(marker)!r}, open=open):\n"
        "        open(path, 'w').write('freed')\n\n\nKEPT = Kept()\n"
    )
    return marker


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The test episode built once per session; tests fork it (see test_workflow.fork)."""
    work = copy_workflow(tmp_path_factory.mktemp("workflow") / "base")
    snakemake(work, "--cores", "2")
    return work


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of our own for the session, stopped at the end even when tests fail."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request, tmp_path):
    """Makes empty databases of one kind (each test runs once per kind): the same store tests
    run on SQLite and on PostgreSQL."""
    counter = iter(range(1000))

    def make():
        if request.param == "sqlite":
            path = tmp_path / f"tower{next(counter)}.db"
            path.touch()  # an empty file is an empty SQLite database
            return f"sqlite:///{path}"
        return request.getfixturevalue("postgres").create_database()

    return make


@pytest.fixture
def database_url(new_database):
    return new_database()


# --- what a dry run plans after an edit, by item (the test episode unless told) ------------


def episode_jobs(ep="test01", summary=True):
    """What follows any change to the picture or the sound: assembly, its check, delivery and
    (when the target is `all`, not just the episode file) the QC summary and the editor's timeline."""
    jobs = {
        ("master", f"build/{ep}/master.mkv"),
        ("qc_episode", f"reports/{ep}/episode.json"),
        ("deliver", f"episodes/{ep}.mkv"),
    }
    return jobs | (
        {("qc_summary", f"reports/{ep}/qc.csv"), ("otio_timeline", f"timelines/{ep}.otio")} if summary else set()
    )


def sound_jobs(ep="test01"):
    """What follows any change to the sound: the mix and its one encode (the master copies it)."""
    return {("mix", f"audio/{ep}/mix.wav"), ("sound", f"build/{ep}/sound.opus")}


def _crossfades_from(shot):
    """The shot of the test episode that crossfades in from `shot`, or None: its picture
    segment holds the crossfade, so it reads `shot`'s clip too (episode/segments.py)."""
    doc = yaml.safe_load((ROOT / "tests" / "data" / "episodes" / "test01.yaml").read_text())
    shots = [
        (sh["id"], scene.get("transition", "cut") if i == 0 else "cut")
        for scene in doc["scenes"]
        for i, sh in enumerate(scene["shots"])
    ]
    ids = [sid for sid, _ in shots]
    at = ids.index(shot) if shot in ids else -1
    if 0 <= at < len(shots) - 1 and shots[at + 1][1] == "crossfade":
        return shots[at + 1][0]
    return None


def shot_jobs(shot, still=True, ep="test01"):
    """A shot's clip, its check and its picture segment (and the next shot's, when that one
    crossfades in from it), and (still=True) its still and that check too."""
    jobs = {
        ("clip", f"clips/{ep}/{shot}.mp4"),
        ("qc_clip", f"reports/{ep}/clips/{shot}.json"),
        ("segment", f"build/{ep}/segments/{shot}.ts"),
    }
    following = _crossfades_from(shot)
    if following:
        jobs.add(("segment", f"build/{ep}/segments/{following}.ts"))
    if still:
        jobs |= {("still", f"stills/{ep}/{shot}.png"), ("qc_still", f"reports/{ep}/stills/{shot}.json")}
    return jobs


def planned_jobs(text, inputs=None):
    """{(rule, first output)} of the jobs in a dry run's text, read by the same parser that
    `tower-anime estimate` uses (the aggregate `all`, which has no output, is left out).
    `inputs`, a dict, receives each planned first output's inputs."""
    from tower_anime.estimate import parse_dry_run

    jobs = [j for j in parse_dry_run(text) if j.outputs]
    if not jobs:
        assert "Nothing to be done" in text, text[-2000:]
    if inputs is not None:
        inputs.update({j.outputs[0]: set(j.inputs) for j in jobs})
    return {(j.rule, j.outputs[0]) for j in jobs}


def fork_project(built, tmp_path):
    """A copy of a built project (outputs, mtimes and .snakemake metadata kept) to edit."""
    dest = tmp_path / "fork"
    shutil.copytree(built, dest, symlinks=True)
    return dest
