"""Something in the way of a folder the workflow writes: a file where the folder (or a folder
above it) should be, or a folder that cannot be written. Each is one line naming the path and
the fix, before any job and even in a dry run, never a traceback, and never a render made
for nothing (README: Reliability)."""

import os
import subprocess

import pytest
from conftest import copy_workflow, snakemake

from tower_anime.fsutil import OutputError, folder_problem
from tower_anime.qc.report import ensure_verdict

EP = "test01"


def refused_lines(proc):
    """Tower's lines of a run that stopped before any job: no traceback, nothing else said."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "Error in file" not in proc.stderr, proc.stderr[-3000:]
    assert "InputFunctionException" not in proc.stderr and "NotADirectoryError" not in proc.stderr
    assert proc.stderr.rstrip().endswith("Nothing was run."), proc.stderr[-3000:]
    return [line for line in proc.stderr.splitlines() if line.startswith("Tower: ")]


def immutable(path):
    """chattr +i (root writes through chmod 0555, not into an immutable folder); skip where refused."""
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot make a folder immutable here: {proc.stderr.strip() or proc.returncode}")


# every output root of the rules, and folders below them: the report folders (made before the
# DAG for the gates' verdict files), the code stamps (made as the rules are defined), the
# stills (read by an input function), the outputs that come last (episodes, timelines)
@pytest.mark.parametrize(
    "place",
    [
        "reports",
        f"reports/{EP}",
        f"reports/{EP}/stills",
        ".tower",
        "stills",
        "build",
        "logs",
        "episodes",
        "timelines",
        f"audio/{EP}/voice",
    ],
)
def test_a_file_where_a_folder_should_be_is_one_line_in_a_dry_run(tmp_path, place):
    work = copy_workflow(tmp_path / "wf")
    (work / place).parent.mkdir(parents=True, exist_ok=True)
    (work / place).write_text("junk\n")
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert refused_lines(proc) == [
        f"Tower: {place} is a file, not a folder: move it away (Tower writes into {place}/), then run again"
    ]
    assert (work / place).read_text() == "junk\n"


def test_no_render_is_made_for_an_episode_that_cannot_be_delivered(tmp_path):
    """`episodes` a file: every render ran, and then delivery failed. Now nothing runs."""
    work = copy_workflow(tmp_path / "wf")
    (work / "episodes").write_text("junk\n")
    proc = snakemake(work, "--cores", "1", check=False)
    assert refused_lines(proc) == [
        "Tower: episodes is a file, not a folder: move it away (Tower writes into episodes/), then run again"
    ]
    assert not any((work / d).exists() for d in ("stills", "clips", "audio", "build", "logs"))


@pytest.mark.parametrize(
    "locked, named, folder",
    [
        (f"reports/{EP}/stills", f"reports/{EP}/stills", f"reports/{EP}/stills"),  # made before the DAG
        ("episodes", "episodes", "episodes"),  # written last, after every render
        ("stills", f"stills/{EP}", "stills"),  # the folder to be made in it
    ],
)
def test_a_read_only_folder_is_one_line_before_any_job(tmp_path, locked, named, folder):
    work = copy_workflow(tmp_path / "wf")
    (work / locked).mkdir(parents=True)
    immutable(work / locked)
    try:
        proc = snakemake(work, "-n", "--cores", "1", check=False)
    finally:
        subprocess.run(["chattr", "-i", str(work / locked)], check=True)
    lines = refused_lines(proc)
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith(f"Tower: cannot write {named}: Operation not permitted (folder {folder}, ")
    assert "Likely cause and fix: the folder is not writable: make it writable (chmod, chattr -i" in lines[0]
    assert os.listdir(work / locked) == []


def test_a_link_to_nowhere_is_named(tmp_path):
    (tmp_path / "clips").symlink_to(tmp_path / "gone")
    assert folder_problem(tmp_path / "clips" / EP) == (
        f"{tmp_path / 'clips'} is a link to {tmp_path / 'gone'}, which does not exist: make that folder or "
        "remove the link, then run again"
    )


def test_ensure_verdict_names_the_file_in_the_way(tmp_path):
    (tmp_path / "reports").write_text("junk\n")
    with pytest.raises(OutputError) as e:
        ensure_verdict(tmp_path / "reports" / EP / "stills" / "s1.json")
    assert str(e.value) == (
        f"{tmp_path / 'reports'} is a file, not a folder: move it away (Tower writes into {tmp_path / 'reports'}/), "
        "then run again"
    )
