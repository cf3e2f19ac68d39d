"""Read back the wall-clock stamps that every job writes to its log (see scripting.run_step)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_START = re.compile(r"^\[tower\] start ([\d.]+) rule=(\S+) host=(\S+) slurm_job=(\S+)", re.M)
_END = re.compile(r"^\[tower\] end ([\d.]+)", re.M)


def job_interval(log_path: Path | str) -> tuple[float, float, str, str, str] | None:
    """(start, end, rule, host, slurm_job) of a finished job, or None if it did not finish."""
    text = Path(log_path).read_text(errors="replace")
    start, end = _START.search(text), _END.search(text)
    if not start or not end:
        return None
    return float(start.group(1)), float(end.group(1)), start.group(2), start.group(3), start.group(4)


def overlaps(intervals: Iterable[tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """Pairs of intervals that share time; intervals are (start, end, label...) tuples."""
    found, latest = [], None  # latest: the interval reaching furthest so far
    for iv in sorted(intervals):
        if latest is not None and iv[0] < latest[1]:
            found.append((latest, iv))
        if latest is None or iv[1] > latest[1]:
            latest = iv
    return found
