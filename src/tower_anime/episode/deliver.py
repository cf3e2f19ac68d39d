"""Delivery: the master becomes episodes/<ep>.mkv only when its QC reports pass."""
import shutil

from ..fsutil import atomic_path
from ..qc.report import require_pass


def deliver(master, reports, out_path):
    """reports: the episode's report and every item's report (a waived check counts as passed)."""
    require_pass(reports)
    with atomic_path(out_path) as tmp:
        # a copy, not a hard link: Snakemake sets the mtime of each output it finishes, and
        # through a shared inode that would make the master look newer than its QC report
        shutil.copyfile(master, tmp)
