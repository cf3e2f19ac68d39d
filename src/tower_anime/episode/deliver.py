"""Delivery: the master becomes episodes/<ep>.mkv only when its QC reports pass."""
import os
import shutil

from ..fsutil import atomic_path
from ..qc.report import require_pass


def deliver(master, reports, out_path):
    """reports: the episode's report and every item's report (a waived check counts as passed)."""
    require_pass(reports)
    with atomic_path(out_path) as tmp:
        os.unlink(tmp)
        try:
            os.link(master, tmp)  # same filesystem: instant, no second copy on disk
        except OSError:
            shutil.copyfile(master, tmp)
