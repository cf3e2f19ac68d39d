"""tower_anime.snakemake_patches: the scheduler's wake-up timer (one at a time, a daemon, and a
real Snakemake run that ends with no timer thread left to wait for), and the two lookups done
once (the same answers as Snakemake's own)."""

import json
import threading
from pathlib import Path

from conftest import small_snakemake, teardown_marker

from tower_anime import snakemake_patches


class _Loop:
    """What the timer method touches of Snakemake's JobScheduler: the semaphore its loop waits on."""

    def __init__(self):
        self._open_jobs = threading.Semaphore(0)


def _timers():
    return [t for t in threading.enumerate() if isinstance(t, threading.Timer)]


def test_many_passes_arm_one_daemon_timer_which_wakes_the_loop_once():
    loop, before = _Loop(), set(_timers())
    for _ in range(50):  # fifty passes of the loop before the first wake-up
        snakemake_patches._schedule_reevaluation(loop, 0.2)
    armed = [t for t in _timers() if t not in before]
    assert len(armed) == 1 and armed[0].daemon
    assert loop._open_jobs.acquire(timeout=5)  # it fires...
    assert not loop._open_jobs.acquire(timeout=0.5)  # ...once: no chain of its own
    armed[0].join(5)
    snakemake_patches._schedule_reevaluation(loop, 0.05)  # the pass it woke may arm the next one
    assert loop._open_jobs.acquire(timeout=5)


def test_a_pass_woken_by_the_timer_can_arm_the_next_one():
    """No lost wake-up: the timer clears itself before it releases the loop, so the pass it
    starts (which may run before the timer's thread has ended) arms a new one."""
    loop = _Loop()
    snakemake_patches._schedule_reevaluation(loop, 0.01)
    for _ in range(3):
        assert loop._open_jobs.acquire(timeout=5)
        snakemake_patches._schedule_reevaluation(loop, 0.01)  # at once, as the real loop does
    assert loop._open_jobs.acquire(timeout=5)


def test_install_takes_on_this_snakemake_and_twice_is_once():
    from snakemake.scheduling.job_scheduler import JobScheduler

    took = snakemake_patches.install()
    # the quick exit is only for a process started as `snakemake`: not this test process
    assert took == {**dict.fromkeys(took, True), "exit_without_teardown": False}
    assert snakemake_patches.install() == took
    assert JobScheduler._schedule_reevalutation is snakemake_patches._schedule_reevaluation


def test_function_params_are_snakemakes_answer_read_once():
    import inspect

    import snakemake.common
    import snakemake.rules
    from snakemake.common import overwrite_function_params

    snakemake_patches.install()
    asked = snakemake.rules.get_function_params

    def input_function(wildcards, input, threads=1):
        return []

    before = snakemake_patches._signature_params.cache_info().hits
    for _ in range(5):
        assert asked(input_function) == inspect.signature(input_function).parameters
    assert snakemake_patches._signature_params.cache_info().hits >= before + 4
    # a function whose parameters Snakemake's helpers overwrote answers with those, as before
    overwrite_function_params(input_function, ["wildcards"])
    assert asked(input_function) == ["wildcards"]
    # the same answers through Snakemake's own caller of it
    assert snakemake.common.get_input_function_aux_params(lambda wildcards: 0, {"wildcards": 1, "input": 2}) == {
        "wildcards": 1
    }


def test_a_parsed_path_is_smart_opens_answer():
    import snakemake.common
    import snakemake.sourcecache

    snakemake_patches.install()
    for uri in ("/tmp/x/scripts/still.py", "rules/../scripts/clip.py", "https://example.invalid/a.py", "git+file:///r"):
        assert snakemake.sourcecache.parse_uri(uri) == snakemake.common.parse_uri(uri)
        assert snakemake.sourcecache.parse_uri(uri) == snakemake.common.parse_uri(uri)


SNAKEFILE = """
import json, threading
from tower_anime import snakemake_patches
INSTALL and snakemake_patches.install()

rule all:
    input: expand("out/{i}.txt", i=range(6))

rule one:
    output: "out/{i}.txt"
    shell: "sleep 0.2; echo {wildcards.i} > {output}"

onsuccess:
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and t.is_alive()]
    with open("threads.json", "w") as f:
        json.dump([{"timer": isinstance(t, threading.Timer), "daemon": t.daemon} for t in others], f)
"""


def _run(tmp_path: Path, install: bool) -> list:
    work = tmp_path / ("installed" if install else "plain")
    work.mkdir()
    (work / "Snakefile").write_text(f"INSTALL = {install}\n" + SNAKEFILE)
    proc = small_snakemake(work, "--cores", "2", "--quiet", "all")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((work / "threads.json").read_text())


def test_a_real_run_ends_with_no_timer_to_wait_for(tmp_path):
    threads = _run(tmp_path, install=True)
    timers = [t for t in threads if t["timer"]]
    assert len(timers) <= 1
    assert all(t["daemon"] for t in threads if t["timer"])


def test_without_it_snakemake_leaves_timers_the_exit_waits_for(tmp_path):
    """What the module is for, seen in the same run: Snakemake's own timers (one chain per
    finished job) are still alive, and not daemons, when the workflow has succeeded. If a
    Snakemake release fixes this, this test fails and the module can go."""
    threads = _run(tmp_path, install=False)
    waiting = [t for t in threads if t["timer"] and not t["daemon"]]
    assert len(waiting) > 1


EXITING = """
import atexit, os
atexit.register(lambda: open("early.txt", "a").write("ran\\n"))  # before the workflow's handler
from tower_anime import snakemake_patches
INSTALL and snakemake_patches.install()
atexit.register(lambda: open("late.txt", "a").write("ran\\n"))  # after it
import sys
sys.path.insert(0, WORK)
import kept  # its object is freed in the interpreter's teardown of modules, and only there

rule all:
    input: "out.txt"

rule one:
    output: "out.txt"
    shell: "exit {CODE}" if FAIL else "echo done > {output}"
"""


def _exiting(tmp_path: Path, install: bool, fail: bool = False):
    work = tmp_path / f"{'installed' if install else 'plain'}-{'fail' if fail else 'ok'}"
    work.mkdir()
    teardown_marker(work)
    (work / "Snakefile").write_text(f"INSTALL = {install}\nFAIL = {fail}\nCODE = 3\nWORK = {str(work)!r}\n" + EXITING)
    proc = small_snakemake(work, "all")

    def times(name):  # how many times an exit handler ran: one line each time
        path = work / f"{name}.txt"
        return len(path.read_text().splitlines()) if path.exists() else 0

    return proc, {"early": times("early"), "late": times("late"), "teardown": (work / "teardown.txt").exists()}


def test_snakemake_ends_after_its_exit_handlers_without_the_teardown(tmp_path):
    proc, ran = _exiting(tmp_path, install=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ran == {"early": 1, "late": 1, "teardown": False}  # each handler once, no teardown
    # everything Snakemake had to say was said, and its log closed
    assert "1 of 2 steps (50%) done" in proc.stderr and "Complete log" in proc.stderr


def test_a_failed_run_keeps_its_exit_status_and_handlers(tmp_path):
    proc, ran = _exiting(tmp_path, install=True, fail=True)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert (ran["early"], ran["late"]) == (1, 1)
    assert "Exiting because a job execution failed" in proc.stderr
    assert not list((tmp_path / "installed-fail" / ".snakemake" / "locks").glob("*"))  # unlocked


def test_without_it_the_teardown_runs(tmp_path):
    """The same workflow without the patch: the teardown frees the module's objects (what the
    first test shows was skipped)."""
    proc, ran = _exiting(tmp_path, install=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ran == {"early": 1, "late": 1, "teardown": True}


COUNTING = """
import os
from tower_anime import snakemake_patches
INSTALL and snakemake_patches.install()


def counted(wildcards):
    with open(os.path.join(WORK, "params_calls.txt"), "a") as f:
        f.write(wildcards.i + "\\n")
    return "value-" + wildcards.i


rule all:
    input: expand("out/{i}.txt", i=range(3)), expand("var/{i}.txt", i=range(2))

rule plain:
    output: "out/{i}.txt"
    params: value=counted
    script: "job.py"

rule placeholder:
    output: "var/{i}.txt"
    params: which="job", value=lambda wc: "var-" + wc.i
    script: "{params.which}.py"
"""

JOB = """
with open(snakemake.output[0], "w") as f:
    f.write(snakemake.params.value)
"""


def _counting(tmp_path: Path, install: bool, *args: str, missing: bool = False):
    work = tmp_path / f"{'installed' if install else 'plain'}{'-missing' if missing else ''}"
    work.mkdir(exist_ok=True)
    (work / "Snakefile").write_text(f"INSTALL = {install}\nWORK = {str(work)!r}\n" + COUNTING)
    if not missing:
        (work / "job.py").write_text(JOB)
    (work / "params_calls.txt").write_text("")
    proc = small_snakemake(work, *args, "all")
    return work, proc, (work / "params_calls.txt").read_text().split()


def test_a_dry_run_evaluates_no_params_and_a_run_gets_them_all(tmp_path):
    work, proc, calls = _counting(tmp_path, True, "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 5 jobs planned; one job's params evaluated, for the one look at the rule's script
    assert "total" in proc.stdout and len(calls) <= 1
    work, proc, calls = _counting(tmp_path, True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(set(calls)) == ["0", "1", "2"]  # evaluated where the jobs use them
    assert [(work / f"out/{i}.txt").read_text() for i in range(3)] == ["value-0", "value-1", "value-2"]
    # a script path with placeholders is formatted with each job's params, as before
    assert [(work / f"var/{i}.txt").read_text() for i in range(2)] == ["var-0", "var-1"]


def test_without_them_a_dry_run_evaluates_every_jobs_params(tmp_path):
    _, proc, calls = _counting(tmp_path, False, "-n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(set(calls)) == ["0", "1", "2"]


def test_a_missing_script_is_still_an_error_before_any_job(tmp_path):
    for install in (True, False):
        work, proc, _ = _counting(tmp_path, install, "-n", missing=True)
        said = proc.stdout + proc.stderr
        assert proc.returncode != 0 and "Nothing to be done" not in said
        assert f"{work}/job.py" in said, said[-2000:]


def test_a_patch_is_left_out_when_snakemakes_code_is_not_the_one_it_was_written_against(tmp_path):
    """Patches 1 and 4-6 apply only to the source they were written against (its digest); a
    release that changes one runs as Snakemake wrote it, and install() says so."""

    def other(self, job):
        return None

    assert not snakemake_patches._as_written_against("ScriptProcessor.process_job", other)
    work = tmp_path / "changed"
    work.mkdir()
    (work / "Snakefile").write_text(
        "import json\n"
        "from tower_anime import snakemake_patches\n"
        "snakemake_patches._WRITTEN_AGAINST = dict.fromkeys(snakemake_patches._WRITTEN_AGAINST, '0' * 16)\n"
        "json.dump(snakemake_patches.install(), open('took.json', 'w'))\n"
        "rule all:\n    output: 'out.txt'\n    shell: 'echo done > {output}'\n"
    )
    proc = small_snakemake(work, "all")
    assert proc.returncode == 0 and (work / "out.txt").read_text() == "done\n", proc.stderr[-2000:]
    took = json.loads((work / "took.json").read_text())
    left_out = {"one_wakeup_timer", "find_each_script_once", "params_only_for_conda_rules", "plain_script_paths"}
    assert {name for name, done in took.items() if not done} == left_out
