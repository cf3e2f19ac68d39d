"""Code stamps (tower_anime/codestamp.py): one input per job for the package modules that shape
its output, as new as the newest of them. The stamp itself, then the real workflow with a package
of its own beside it: editing a renderer module re-plans exactly what that module made."""

import os
import shutil

import pytest
from conftest import ROOT, copy_workflow, episode_jobs, fork_project, load_yaml, planned_jobs, shot_jobs, snakemake

from tower_anime.codestamp import code_stamp
from tower_anime.fsutil import sha256_file

EP = "test01"


def modules(tmp_path, *names):
    paths = []
    for i, name in enumerate(names):
        path = tmp_path / name
        path.write_text(f"# {name}\n")
        os.utime(path, ns=(1_000_000_000 * (100 + i),) * 2)
        paths.append(str(path))
    return paths


def test_a_stamp_is_as_new_as_its_newest_module_and_lists_them(tmp_path):
    mods = modules(tmp_path, "a.py", "b.py", "c.py")
    stamp = code_stamp(tmp_path / "code", "stills-storyboard", mods)
    assert os.stat(stamp).st_mtime_ns == os.stat(mods[2]).st_mtime_ns
    assert open(stamp).read().splitlines() == [f"{sha256_file(m)}  {m}" for m in mods]


def test_nothing_edited_leaves_the_stamp_untouched(tmp_path):
    mods = modules(tmp_path, "a.py", "b.py")
    stamp = code_stamp(tmp_path / "code", "voice-espeak", mods)
    before = os.stat(stamp)
    assert code_stamp(tmp_path / "code", "voice-espeak", mods) == stamp
    after = os.stat(stamp)
    # not rewritten, not even touched: a stamp never becomes newer than its newest module
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_ctime_ns,
    )


def test_an_edited_module_makes_the_stamp_newer_and_other_bytes(tmp_path):
    mods = modules(tmp_path, "a.py", "b.py")
    stamp = code_stamp(tmp_path / "code", "clips-camera", mods)
    made = open(stamp).read()
    os.utime(mods[0], ns=(500 * 10**9,) * 2)  # touched, not changed: newer, the same bytes
    code_stamp(tmp_path / "code", "clips-camera", mods)
    assert os.stat(stamp).st_mtime_ns == 500 * 10**9 and open(stamp).read() == made
    with open(mods[0], "a") as f:  # edited: newer, other bytes
        f.write("x = 1\n")
    code_stamp(tmp_path / "code", "clips-camera", mods)
    assert os.stat(stamp).st_mtime_ns == os.stat(mods[0]).st_mtime_ns and open(stamp).read() != made
    os.utime(mods[0], ns=(50 * 10**9,) * 2)  # an older copy put back, its time kept
    code_stamp(tmp_path / "code", "clips-camera", mods)
    assert os.stat(stamp).st_mtime_ns == os.stat(mods[1]).st_mtime_ns


def test_another_module_list_is_another_input_and_the_old_stamp_goes(tmp_path):
    mods = modules(tmp_path, "a.py", "b.py", "c.py")
    first = code_stamp(tmp_path / "code", "music-fluidsynth", mods[:2])
    second = code_stamp(tmp_path / "code", "music-fluidsynth", mods)
    other = code_stamp(tmp_path / "code", "music-fluidsynth2", mods[:1])
    assert first != second and not os.path.exists(first) and os.path.exists(second) and os.path.exists(other)


def test_a_missing_module_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        code_stamp(tmp_path / "code", "stills-card", [str(tmp_path / "gone.py")])


# --- the real workflow, running the package that sits beside it --------------------------------


@pytest.fixture(scope="module")
def built_own(tmp_path_factory):
    """The test episode built by a workflow with its own copy of the package (src/ beside
    rules/, which the workflow then runs and lists as its code): its modules can be edited."""
    work = copy_workflow(tmp_path_factory.mktemp("own-src") / "base")
    shutil.copytree(
        ROOT / "src" / "tower_anime", work / "src" / "tower_anime", ignore=shutil.ignore_patterns("__pycache__")
    )
    snakemake(work, "--cores", "2")
    return work


def edited(work, module, change=True):
    """`module` (under src/tower_anime) edited (or only touched) after every output was made."""
    path = work / "src" / "tower_anime" / module
    if change:
        path.write_text(path.read_text() + "\n# edited\n")
    newest = max(p.stat().st_mtime_ns for d in ("stills", "clips", "build", "episodes") for p in (work / d).rglob("*"))
    os.utime(path, ns=(newest + 10**9,) * 2)


def planned(work):
    proc = snakemake(work, "-n")
    return planned_jobs(proc.stdout + proc.stderr)


def shots():
    doc = load_yaml(ROOT / "tests" / "data" / "episodes" / f"{EP}.yaml")
    return [shot["id"] for scene in doc["scenes"] for shot in scene["shots"]]


@pytest.mark.workflow
def test_the_own_package_built_leaves_nothing_to_do_and_lists_one_stamp_per_backend(built_own, tmp_path):
    work = fork_project(built_own, tmp_path)
    proc = snakemake(work, "-n")
    assert planned_jobs(proc.stdout + proc.stderr) == set()
    stamps = sorted(p.name.split(".")[0] for p in (work / ".tower" / "code").glob("*.stamp"))
    assert stamps == ["clips-camera", "music-fluidsynth", "segment", "stills-storyboard", "voice-espeak"]
    listed = next((work / ".tower" / "code").glob("stills-storyboard.*.stamp")).read_text().splitlines()
    assert any(line.endswith("  src/tower_anime/stills/figures.py") for line in listed)


@pytest.mark.workflow
def test_editing_a_stills_renderer_module_re_renders_every_still_and_what_they_feed(built_own, tmp_path):
    work = fork_project(built_own, tmp_path)
    edited(work, "stills/figures.py")
    assert planned(work) == set().union(*(shot_jobs(s) for s in shots())) | episode_jobs(EP)


@pytest.mark.workflow
def test_editing_a_clips_renderer_module_re_renders_the_clips_not_the_stills(built_own, tmp_path):
    work = fork_project(built_own, tmp_path)
    edited(work, "clips/faces.py")
    assert planned(work) == set().union(*(shot_jobs(s, still=False) for s in shots())) | episode_jobs(EP)


@pytest.mark.workflow
def test_editing_a_module_no_job_is_made_with_re_plans_nothing(built_own, tmp_path):
    work = fork_project(built_own, tmp_path)
    edited(work, "review/server.py")
    assert planned(work) == set()


@pytest.mark.workflow
def test_a_renderer_module_touched_but_not_changed_re_plans_nothing(built_own, tmp_path):
    """As with the module itself as an input: Snakemake compares the checksum it recorded."""
    work = fork_project(built_own, tmp_path)
    edited(work, "stills/figures.py", change=False)
    assert planned(work) == set()
