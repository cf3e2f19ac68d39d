"""Small changes to Snakemake (9.x) in the running process, each measured on Tower's own
workflow, each giving Snakemake's own answer sooner, and each a no-op when the Snakemake
installed has moved the piece it touches (`install()` says which took).

1. One wake-up timer for the job scheduler, a daemon (`one_wakeup_timer`).
   Snakemake's scheduler ends every pass of its loop by starting a `threading.Timer` that
   wakes the loop again after the job-rate limiter's timespan (1 s by default, always on):
   - the timers are not daemon threads, so when the last job is done the process waits for
     the newest one to fire: up to a second added to every run, a third of a one-shot
     edit's rebuild after its last job;
   - every pass starts a timer, and every timer's firing is a pass, so each job that
     finishes starts another endless chain of wake-ups: the demo's 96 jobs made 1,361
     passes of the scheduler in 30 s (121 with one timer), and a season's thousands of jobs
     would make thousands of passes a second.
   One pending timer is all the limiter needs (the pass it wakes looks at everything that is
   ready, and arms the next one while jobs wait), and as a daemon it ends with the process. A
   pass that finds a timer pending arms none, so slots the limiter frees later than that
   timer are seen at most one timespan later (1 s by default).

2-6. What Snakemake works out again for every job although it cannot change from one job to
   the next. Counted in a season's dry run (12 episodes of 40 shots, 3,097 jobs):
   2. the parameters of each input, params and resources function, by `inspect.signature`:
      41,000 calls. Read once per function (`remember_function_params`; a function whose
      parameters Snakemake's own helpers overwrote is answered from that attribute, as before);
   3. the path of each `script:` parsed as a URI through smart_open, three times a job: 9,300
      parses for a dozen scripts. Parsed once per path (`remember_parsed_paths`);
   4. each job's script looked up and read to see that it exists: once per rule and script
      path (`find_each_script_once`; a path with placeholders is still checked for each job);
   5. each job's params evaluated (Tower's are JSON specs) to learn whether the rule has a
      conda environment, which a rule without `conda:` never has (`params_only_for_conda_rules`);
   6. and evaluated again to format a script path that has nothing to format
      (`plain_script_paths`). With 5 and 6 a dry run evaluates no job's params; a real run
      still does wherever it uses them (the params trigger, the job itself).
   The season's dry run: 5.9-6.1 s before, 4.8 s with 2 and 3, 3.7 s with all of them and 7.

7. No teardown once Snakemake has said its last word (`exit_without_teardown`). When
   `snakemake` ends, its exit handlers run (its log files closed, its locks long released),
   and then the interpreter frees every object it still holds, one at a time: the DAG, its
   jobs and files. That took 0.2 s after a one-shot edit and 0.8-0.9 s after the season's
   dry run, with nothing left to do. The process now ends with its status as soon as every
   exit handler has run. Only in a process started as `snakemake` or `python -m snakemake`,
   and only when it ends through `sys.exit` in its main thread (any other way, an uncaught
   error among them, ends as before).

The workflow calls `install()` when it loads, so every Snakemake process of a build has them
(local runs, dry runs, and the ones SLURM jobs start).
"""

from __future__ import annotations

import atexit
import functools
import inspect
import sys
import threading
from pathlib import Path

from .scripting import end_without_teardown

_MARK = "_tower_patch"

# Patches 1 and 4-6 stand in for a Snakemake function whose steps they repeat or skip. They
# are applied only to the very code they were written against (Snakemake 9.27.1): the
# SHA-256 (first 16 hex digits) of each original's source. A release that changes one leaves
# it alone, and install() says so (tests/test_snakemake_patches.py then fails until the new
# code is read and its digest recorded here).
_WRITTEN_AGAINST = {
    "JobScheduler._schedule_reevalutation": "bb09f100ea5766bb",
    "ScriptProcessor.process_job": "168fffa9284a4cdf",
    "Job.conda_env_spec": "4a98328beadaf1b9",
    "Job._path_to_source_file": "422d9b26938d3f2d",
}


def _as_written_against(name: str, func) -> bool:
    import hashlib

    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):
        return False
    return hashlib.sha256(source.encode()).hexdigest()[:16] == _WRITTEN_AGAINST[name]


# --- 1. one wake-up timer --------------------------------------------------------------------


def _schedule_reevaluation(self, delay: float) -> None:
    if getattr(self, "_tower_pending_timer", None) is not None:
        return  # the pass it wakes will see whatever this one would have

    def wake():
        # cleared before the wake-up, so that the pass it starts may arm the next timer
        self._tower_pending_timer = None
        self._open_jobs.release()

    timer = threading.Timer(delay, wake)
    timer.daemon = True
    self._tower_pending_timer = timer
    timer.start()


def one_wakeup_timer() -> bool:
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return False
    current = getattr(JobScheduler, "_schedule_reevalutation", None)  # Snakemake's spelling
    if current is _schedule_reevaluation:
        return True
    if current is None or not _as_written_against("JobScheduler._schedule_reevalutation", current):
        return False
    JobScheduler._schedule_reevalutation = _schedule_reevaluation
    return True


# --- 2. a function's parameters, once --------------------------------------------------------


@functools.cache
def _signature_params(func):
    return inspect.signature(func).parameters


_OVERWRITTEN = "_overwrite_params"  # snakemake.common.FUNC_OVERWRITE_PARAMS_ATTR, checked by install


def _function_params(func):
    if hasattr(func, _OVERWRITTEN):
        return getattr(func, _OVERWRITTEN)
    try:
        return _signature_params(func)
    except TypeError:  # an unhashable callable: asked every time, as Snakemake does
        return inspect.signature(func).parameters


def remember_function_params() -> bool:
    try:
        import snakemake.common
        import snakemake.jobs
        import snakemake.rules
    except ImportError:
        return False
    if getattr(snakemake.common, "FUNC_OVERWRITE_PARAMS_ATTR", None) != _OVERWRITTEN:
        return False  # Snakemake marks overwritten parameters another way now: left as it is
    done = False
    # each module looks the name up in its own namespace: replaced where it was imported
    for module in (snakemake.common, snakemake.rules, snakemake.jobs):
        if hasattr(module, "get_function_params"):
            module.get_function_params = _function_params
            done = True
    return done


# --- 3. a path parsed once -------------------------------------------------------------------


def remember_parsed_paths() -> bool:
    try:
        import snakemake.sourcecache
    except ImportError:
        return False
    original = getattr(snakemake.sourcecache, "parse_uri", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True
    remembered = functools.lru_cache(maxsize=1024)(original)

    def parse_uri(path_or_uri):
        try:
            return remembered(path_or_uri)
        except TypeError:  # not hashable: parsed as before
            return original(path_or_uri)

    setattr(parse_uri, _MARK, True)
    snakemake.sourcecache.parse_uri = parse_uri
    return True


# --- 4. a rule's script found once -----------------------------------------------------------

_found_scripts: set = set()


def find_each_script_once() -> bool:
    try:
        from snakemake.dag import ScriptProcessor
    except ImportError:
        return False
    original = getattr(ScriptProcessor, "process_job", None)
    if original is None or not hasattr(ScriptProcessor, "script_type"):
        return False
    if getattr(original, _MARK, False):
        return True
    if not _as_written_against("ScriptProcessor.process_job", original):
        return False

    def process_job(self, job) -> None:
        kind = self.script_type
        entry = getattr(job.rule, kind, None) if getattr(job, f"is_{kind}", False) else None
        if entry is None or "{" in str(entry):  # a path that varies by job: checked for each
            return original(self, job)
        key = (kind, str(entry), str(job.rule.basedir))
        if key in _found_scripts:
            return None
        original(self, job)  # raises when the script is not there: then checked again next time
        _found_scripts.add(key)
        return None

    setattr(process_job, _MARK, True)
    ScriptProcessor.process_job = process_job
    return True


# --- 5. no params evaluated to learn that a rule has no conda environment --------------------


def params_only_for_conda_rules() -> bool:
    try:
        from snakemake.jobs import Job
    except ImportError:
        return False
    current = Job.__dict__.get("conda_env_spec")
    if not isinstance(current, property) or current.fget is None:
        return False
    if getattr(current.fget, _MARK, False):
        return True
    if not _as_written_against("Job.conda_env_spec", current.fget):
        return False
    original = current.fget

    def conda_env_spec(self):
        # a rule without a `conda:` directive has none, whatever its params: Snakemake's own
        # answer (Rule.expand_conda_env returns None), without evaluating them first
        if getattr(self.rule, "_conda_env", True) is None:
            return None
        return original(self)

    setattr(conda_env_spec, _MARK, True)
    Job.conda_env_spec = property(conda_env_spec)
    return True


# --- 6. a script's path without placeholders is not formatted --------------------------------


def plain_script_paths() -> bool:
    try:
        from snakemake.jobs import Job
        from snakemake.sourcecache import LocalSourceFile, infer_source_file
    except ImportError:
        return False
    original = getattr(Job, "_path_to_source_file", None)
    if original is None:
        return False
    if getattr(original, _MARK, False):
        return True
    if not _as_written_against("Job._path_to_source_file", original):
        return False

    def _path_to_source_file(self, path):
        text = str(path) if isinstance(path, Path) else path
        if not isinstance(text, str) or "{" in text:
            return original(self, path)  # placeholders: formatted with the job's wildcards and params
        # Snakemake's own steps for a path with nothing to format (format() would return it
        # as it is), without evaluating the job's params first
        source = infer_source_file(text)
        if isinstance(source, LocalSourceFile) and self.rule.basedir:
            source = self.rule.basedir.join(source)
        return source

    setattr(_path_to_source_file, _MARK, True)
    Job._path_to_source_file = _path_to_source_file
    return True


# --- 7. no teardown after the end ------------------------------------------------------------

_exit_statuses: list = []
_registered_after: list = []  # exit handlers registered after ours: they have run before it


def _is_snakemake_command() -> bool:
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return first.name == "snakemake" or (first.name == "__main__.py" and first.parent.name == "snakemake")


def _exit_without_teardown() -> None:
    if not _exit_statuses or hasattr(sys, "last_value") or hasattr(sys, "last_exc"):
        return  # not ended through sys.exit, or an uncaught error: the interpreter's own exit
    status = _exit_statuses[-1]
    code = 0 if status is None else status if isinstance(status, int) else 1
    # Exit handlers run newest first: those registered after ours have run already. The
    # others (registered before the workflow loaded: Snakemake's, logging's last) run now,
    # once each, in their order.
    for handler in _registered_after:
        atexit.unregister(handler)
    atexit.unregister(_exit_without_teardown)
    end_without_teardown(code)


def exit_without_teardown() -> bool:
    if not _is_snakemake_command():
        return False
    if getattr(sys.exit, _MARK, False):
        return True
    real_exit = sys.exit

    def exit(status=None):
        if threading.current_thread() is threading.main_thread():
            _exit_statuses.append(status)
        real_exit(status)

    setattr(exit, _MARK, True)
    sys.exit = exit
    atexit.register(_exit_without_teardown)
    real_register = atexit.register

    def register(func, *args, **kwargs):
        _registered_after.append(func)
        return real_register(func, *args, **kwargs)

    atexit.register = register
    return True


def install() -> dict[str, bool]:
    """Apply them all; which ones took (False: this Snakemake has no such piece, or this
    process is not the `snakemake` command)."""
    try:
        # Snakemake's modules import one another in this order (snakemake.dag imported first
        # fails on a circular import); in the snakemake command it is loaded already
        import snakemake.api  # noqa: F401
    except ImportError:
        pass
    return {
        "one_wakeup_timer": one_wakeup_timer(),
        "remember_function_params": remember_function_params(),
        "remember_parsed_paths": remember_parsed_paths(),
        "find_each_script_once": find_each_script_once(),
        "params_only_for_conda_rules": params_only_for_conda_rules(),
        "plain_script_paths": plain_script_paths(),
        "exit_without_teardown": exit_without_teardown(),
    }
