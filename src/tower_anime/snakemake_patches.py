"""Four small changes to Snakemake (9.x) in the running process, each measured on Tower's own
workflow and each a no-op when the Snakemake installed has moved the piece it touches.

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
   ready), and as a daemon it ends with the process.

2. The parameters of a function, read once per function (`remember_function_params`).
   For every job Snakemake asks `inspect.signature` which arguments each input, params and
   resources function takes: 41,000 calls in a season's dry run (3,097 jobs). A function's
   signature does not change, so it is read once. (A function whose parameters Snakemake's
   own helpers overwrote keeps being answered from that attribute, as before.)

3. A source file's location parsed once per path (`remember_parsed_paths`).
   For every `script:` job Snakemake's source cache parses the script's path as a URI, three
   times, through smart_open: 9,300 parses in the same dry run, for a dozen scripts.

Measured on that season's dry run (best of 3): 5.9-6.1 s before, 4.8 s with 2 and 3 (each
alone gives about half).

4. No teardown once Snakemake has said its last word (`exit_without_teardown`). When
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
import os
import sys
import threading
from pathlib import Path

_MARK = "_tower_patch"


# --- 1. one wake-up timer ---------------------------------------------------------------------


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
    if current is None:
        return False
    JobScheduler._schedule_reevalutation = _schedule_reevaluation
    return True


# --- 2. a function's parameters, once -------------------------------------------------------


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


# --- 3. a path parsed once --------------------------------------------------------------------


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


# --- 4. no teardown after the end ---------------------------------------------------------------

_exit_statuses: list = []


def _is_snakemake_command() -> bool:
    first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return first.name == "snakemake" or (first.name == "__main__.py" and first.parent.name == "snakemake")


def _exit_without_teardown() -> None:
    if not _exit_statuses or hasattr(sys, "last_value") or hasattr(sys, "last_exc"):
        return  # not ended through sys.exit, or an uncaught error: the interpreter's own exit
    status = _exit_statuses[-1]
    code = 0 if status is None else status if isinstance(status, int) else 1
    atexit.unregister(_exit_without_teardown)
    atexit._run_exitfuncs()  # every other exit handler, in their order (logging's last)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)


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
    return True


def install() -> dict[str, bool]:
    """Apply all four; which ones took (False: this Snakemake has no such piece, or this
    process is not the `snakemake` command)."""
    return {
        "one_wakeup_timer": one_wakeup_timer(),
        "remember_function_params": remember_function_params(),
        "remember_parsed_paths": remember_parsed_paths(),
        "exit_without_teardown": exit_without_teardown(),
    }
