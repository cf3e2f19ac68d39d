"""One job per ComfyUI server at a time, across the separate processes Snakemake starts.

Each still/clip job is its own Python process, so the jobs agree on servers through the
file system: one lock file per server URL in comfyui.lock_dir, held with fcntl.flock for as
long as the job uses that server. The kernel drops a flock when its process ends, however
it ends (kill -9 included), so a crashed job never leaves a server locked. `--resources
gpu=N` (N = number of servers) keeps Snakemake from starting more GPU jobs than there are
servers; the locks decide which job gets which server, and also hold when two Snakemake
runs share the lock folder. flock is reliable on local disks; keep lock_dir off NFS.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import JobTimeout, Unreachable


def lock_file(lock_dir: Path | str, url: str) -> Path:
    """A readable, collision-free lock file name per server URL."""
    host = re.sub(r"[^A-Za-z0-9]+", "_", url.split("://", 1)[-1]).strip("_")[:60]
    return Path(lock_dir) / f"{host}-{hashlib.sha1(url.encode()).hexdigest()[:10]}.lock"


def _try_lock(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _note_holder(fd, what):
    """Who holds the lock, for a person looking into lock_dir (the lock itself is the flock)."""
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} {what} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())


@contextlib.contextmanager
def lease(
    servers: Sequence[str],
    lock_dir: Path | str,
    health: Callable[[str], Any],
    log: TextIO,
    what: str = "job",
    wait_seconds: float = 86400.0,
    poll: float = 0.5,
) -> Iterator[tuple[str, Any]]:
    """Yield (url, health info) of a free, healthy server, locked for this process.

    Servers are tried in the listed order; one that is down is skipped with a warning.
    Raises Unreachable when every server is down, JobTimeout when none frees up in time.
    """
    Path(lock_dir).mkdir(parents=True, exist_ok=True)
    down = {}
    deadline = time.monotonic() + wait_seconds
    waiting_said = False
    while True:
        for url in servers:
            if url in down:
                continue
            fd = _try_lock(lock_file(lock_dir, url))
            if fd is None:
                continue  # another job holds this server
            try:
                try:
                    info = health(url)
                except Unreachable as e:
                    down[url] = e
                    print(f"WARNING: comfyui: server {url} is down ({e.reason}); skipping it", file=log, flush=True)
                    continue
                _note_holder(fd, what)
                yield url, info
                return
            finally:
                os.ftruncate(fd, 0)
                os.close(fd)  # closing the descriptor releases the flock
        if all(u in down for u in servers):
            if len(servers) == 1:
                raise down[servers[0]]
            raise Unreachable(", ".join(servers), "every listed server is down")
        if time.monotonic() >= deadline:
            raise JobTimeout(
                f"{what}: no ComfyUI server became free in {wait_seconds:.0f} s; every one of "
                f"{servers} was busy with other jobs (run with --resources gpu={len(servers)} or fewer)"
            )
        if not waiting_said:
            print(f"comfyui: {what}: waiting for a free server (all busy with other jobs)", file=log, flush=True)
            waiting_said = True
        time.sleep(poll)


def _model_file(lock_dir, url):
    return lock_file(lock_dir, url).with_suffix(".model")


def last_model(lock_dir: Path | str, url: str) -> str | None:
    """The model the last Tower job on this server asked for (written by note_model), or None.
    Read and written by the job that holds the server's lock, so no two jobs race on it."""
    try:
        return _model_file(lock_dir, url).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def note_model(lock_dir: Path | str, url: str, model: str) -> None:
    """Record the model a job on this server asked for (see last_model)."""
    path = _model_file(lock_dir, url)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(model + "\n", encoding="utf-8")
    os.replace(tmp, path)
