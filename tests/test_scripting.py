"""scripting.run_step in a real Snakemake `script:` job: the log's stamps, a TowerError as one
line and exit status 1, and a finished job's process ending without the interpreter's
teardown (its outputs and log complete all the same)."""

from pathlib import Path

from conftest import small_snakemake, teardown_marker

SNAKEFILE = """
rule all:
    input: "out.txt"

rule step:
    output: "out.txt"
    log: "step.log"
    params: fail=FAIL
    script: "step.py"
"""

STEP = """
import sys
sys.path.insert(0, WORK)
import kept  # its object is freed in the interpreter's teardown of modules, and only there

from tower_anime.errors import TowerError
from tower_anime.scripting import run_step


def main(log):
    print("working", file=log)
    with open(snakemake.output[0], "w") as f:
        f.write("made")
    print("said on stdout, buffered")
    if snakemake.params.fail:
        raise TowerError("the step cannot go on; fix the input")


run_step(snakemake, main)
"""


def _run(tmp_path: Path, fail: bool):
    work = tmp_path / ("fail" if fail else "ok")
    work.mkdir()
    teardown_marker(work)
    (work / "Snakefile").write_text(f"FAIL = {fail}\n" + SNAKEFILE)
    (work / "step.py").write_text(f"WORK = {str(work)!r}\n" + STEP)
    return work, small_snakemake(work, "all")


def test_a_finished_job_ends_without_the_teardown_and_loses_nothing(tmp_path):
    work, proc = _run(tmp_path, fail=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (work / "out.txt").read_text() == "made"
    log = (work / "step.log").read_text()
    assert log.startswith("[tower] start ") and "working\n" in log and "[tower] end " in log
    assert "said on stdout, buffered" in proc.stdout + proc.stderr  # flushed before the end
    assert not (work / "teardown.txt").exists()


def test_a_tower_error_is_one_line_and_status_1(tmp_path):
    work, proc = _run(tmp_path, fail=True)
    assert proc.returncode != 0
    assert "ERROR [step]: the step cannot go on; fix the input" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "ERROR: the step cannot go on" in (work / "step.log").read_text()
    assert not (work / "out.txt").exists()  # Snakemake removes the output of a failed job
