"""Delivery: the master becomes episodes/<ep>.mkv only when its QC reports pass."""

from __future__ import annotations

import shutil
from pathlib import Path

from .. import verify_output
from ..fsutil import atomic_path
from ..qc.report import require_pass


def deliver(master: Path | str, reports: list[str | Path], out_path: Path | str) -> None:
    """reports: the episode's report and every item's report (a waived check counts as passed)."""
    require_pass(reports)
    complete = verify_output.all_of(verify_output.same_size(master), lambda p: verify_output.video(p, audio=True))
    with atomic_path(out_path, check=complete) as tmp:
        # a copy, not a hard link: Snakemake sets the mtime of each output it finishes, and
        # through a shared inode that would make the master look newer than its QC report
        shutil.copyfile(master, tmp)
