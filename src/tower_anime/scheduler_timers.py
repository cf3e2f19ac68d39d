"""One pending wake-up timer for Snakemake's job scheduler, and one that never holds up the exit.

Snakemake's scheduler (9.x) ends every pass of its loop by starting a `threading.Timer` that
wakes the loop again after the job-rate limiter's timespan (1 s by default, always on). Two
things follow, both measured on the demo episode:

- the timers are not daemon threads, so when the last job is done the process waits for the
  newest one to fire: up to a second added to every run, a third of a one-shot edit's
  rebuild after its last job;
- every pass starts a timer, and every timer's firing is a pass, so each job that finishes
  starts another endless chain of wake-ups: the demo's 96 jobs made 1,361 passes of the
  scheduler in 30 s, and a season's thousands of jobs would make thousands of passes a second.

One pending timer is all the limiter needs (a pass it wakes looks at everything that is
ready), and as a daemon it ends with the process. `install()` puts that in place once per
process; the workflow calls it when it loads, so every Snakemake process of a build has it
(local runs, and the ones SLURM jobs start).
"""

from __future__ import annotations

import threading

_MARK = "_tower_one_timer"


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


setattr(_schedule_reevaluation, _MARK, True)


def install() -> bool:
    """Replace the scheduler's timer method; False (and nothing changed) when this Snakemake
    has no such method or keeps its wake-ups elsewhere: the workflow then runs as before."""
    try:
        from snakemake.scheduling.job_scheduler import JobScheduler
    except ImportError:
        return False
    current = getattr(JobScheduler, "_schedule_reevalutation", None)  # Snakemake's spelling
    if current is None:
        return False
    if getattr(current, _MARK, False):
        return True
    JobScheduler._schedule_reevalutation = _schedule_reevaluation
    return True
