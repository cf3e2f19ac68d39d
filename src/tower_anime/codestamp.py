"""Code stamps: one file that stands, as a job input, for the package modules that shape the
job's output.

Snakemake re-runs a job when one of its inputs is newer than its outputs, and it never sees the
modules that a job's script imports, so the rules name those modules as inputs (a backend's
`code`). A storyboard still is shaped by nine of them: nine input files per job, 4,320 over a
season of 480 shots, each looked up against every rule's outputs while Snakemake builds the DAG
and again when it decides what is out of date. A stamp replaces the nine with one file:

- its modification time is the newest of its modules', and it holds the sha256 of each, so a
  job that reads it is out of date exactly when it would be with the modules themselves as
  inputs. Snakemake re-runs a job for an input that is newer than its outputs and whose checksum
  differs from the one recorded when the job ran: an edit to a module makes the stamp newer and
  changes its bytes; a module touched but not changed makes it newer with the same bytes (no
  re-run, as for the module itself); nothing edited leaves it untouched. Never "now": a stamp
  brought up to date is never newer than its newest module;
- its name carries a digest of the module list, so a module added to or dropped from the list
  changes the job's set of inputs, which Snakemake re-runs a job for, as it did for the list;
- it is written before Snakemake builds its DAG (Snakemake lists a folder once and caches the
  listing, so a file made while the DAG is built can be missed).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from .fsutil import sha256_file, write_text_atomic

SUFFIX = ".stamp"


def stamp_path(folder: str | Path, label: str, modules: Sequence[str]) -> Path:
    """Where the stamp of `modules` (paths as the rules would name them) lives under `label`."""
    digest = hashlib.sha256("\n".join(modules).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", label)
    return Path(folder) / f"{name}.{digest}{SUFFIX}"


def code_stamp(folder: str | Path, label: str, modules: Sequence[str]) -> str:
    """The stamp of `modules`, brought up to date: its path (under `folder`). Raises
    FileNotFoundError when a module is missing (the caller names the modules instead)."""
    modules = list(modules)
    newest = max(os.stat(m).st_mtime_ns for m in modules)
    target = stamp_path(folder, label, modules)
    try:
        current = target.stat().st_mtime_ns
    except FileNotFoundError:
        current = None
    if current == newest:  # no module is newer or older than when it was made: nothing to read
        return str(target)
    text = "".join(f"{sha256_file(m)}  {m}\n" for m in modules)
    if current is None:
        target.parent.mkdir(parents=True, exist_ok=True)
        # the stamps of this label's earlier module lists: nothing reads them any more
        for old in target.parent.glob(f"{target.name.split('.')[0]}.*{SUFFIX}"):
            old.unlink(missing_ok=True)
    if current is None or target.read_text() != text:
        write_text_atomic(target, text)
    # exactly the newest module's time, also when a module went back to an older one (a copy
    # kept its time): the same verdict as with the modules as inputs, both ways
    os.utime(target, ns=(newest, newest))
    return str(target)
