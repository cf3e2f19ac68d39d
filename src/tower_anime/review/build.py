"""Rebuild from the review room: a dry run first (which jobs an edit will run), then Snakemake
in a background process whose output is read line by line into a Progress the page streams.

One build at a time: the Builder refuses a second start, and Snakemake's own lock on the
folder refuses a build someone started by hand meanwhile (its error is shown like any other).
"""

import asyncio
import os
import re
import signal
import sys
import time
from collections import deque
from pathlib import Path

from ..errors import TowerError
from ..estimate import parse_dry_run

_STEPS = re.compile(r"^(\d+) of (\d+) steps \(([\d.]+)%\) done")
_TOTAL = re.compile(r"^total\s+(\d+)\s*$")
_JOB = re.compile(r"^(?:local)?rule (\w+):\s*$")
_ERROR = re.compile(r"^Error in rule (\w+):\s*$")
_FINISHED = re.compile(r"^Finished jobid: (\d+)")
_FIELD = re.compile(r"^    (\w+): (.*)$")
LOG_TAIL = 20  # lines of a failed job's log shown on the page
# Tower's lines that report and refuse nothing (a shot grown for its dialogue, a preflight that
# passed): notes on the page, never errors. Any other `Tower:` line is an error (bad input).
NOTES = ("Tower: note:", "Tower: ComfyUI preflight OK", "Tower: ComfyUI preflight: per-job")


class BuildBusy(TowerError):
    """A build is already running from this page."""


def episode_targets(ep: str) -> list[str]:
    """What a rebuild of one episode asks for: what `rule all` builds of it, and its browser preview."""
    return [f"episodes/{ep}.mkv", f"reports/{ep}/qc.html", f"build/{ep}/timeline.json", f"build/{ep}/preview.webm"]


def planned(text: str) -> list[dict]:
    """[{jobid, rule, output}] of a dry run's text (the aggregate rule `all`, without outputs, left out)."""
    return [{"jobid": j.jobid, "rule": j.rule, "output": j.outputs[0]} for j in parse_dry_run(text) if j.outputs]


def tail(path: Path, n: int = LOG_TAIL) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return []


class Progress:
    """What a Snakemake run has done so far, read from its output one line at a time."""

    def __init__(self, root: str | Path = "."):
        self.root = Path(root)
        self.total = 0
        self.done = 0
        self.running: dict[int, dict] = {}
        self.finished: list[dict] = []
        self.failures: list[dict] = []
        self.errors: list[str] = []  # Snakemake's own errors (a locked folder, a bad story)
        self.notes: list[str] = []  # Tower's notes (NOTES): shown apart, not as failures
        self.lines: deque = deque(maxlen=300)
        self._block: tuple[str, dict] | None = None

    def feed(self, line: str) -> None:
        line = line.rstrip("\n")
        self.lines.append(line)
        if self._block is not None:
            m = _FIELD.match(line)
            if m:
                self._block[1][m[1]] = m[2]
                return
            self._close()
        if m := _JOB.match(line):
            self._block = ("job", {"rule": m[1]})
        elif m := _ERROR.match(line):
            self._block = ("error", {"rule": m[1]})
        elif m := _FINISHED.match(line):
            job = self.running.pop(int(m[1]), None)
            if job:
                self.finished.append(job)
        elif m := _STEPS.match(line):
            self.done, self.total = int(m[1]), int(m[2])
        elif m := _TOTAL.match(line):
            self.total = int(m[1])
        elif line.startswith(NOTES):
            if line not in self.notes:
                self.notes.append(line)
        elif (
            line.startswith(("Error", "LockException", "WorkflowError", "MissingInputException"))
            or line.startswith("Tower:")
        ) and line not in self.errors:
            self.errors.append(line)

    def close(self) -> None:
        """The output ended: the last block is complete."""
        if self._block is not None:
            self._close()

    def _close(self) -> None:
        kind, fields = self._block
        self._block = None
        jobid = int(fields["jobid"]) if fields.get("jobid", "").isdigit() else None
        output = fields.get("output", "").split(", ")[0]
        log = fields.get("log", "").split(" (check log")[0].split(", ")[0]
        if kind == "job" and jobid is not None:
            self.running[jobid] = {"jobid": jobid, "rule": fields["rule"], "output": output, "log": log}
        elif kind == "error":
            if jobid is not None:
                self.running.pop(jobid, None)
            self.failures.append(
                {
                    "jobid": jobid,
                    "rule": fields["rule"],
                    "output": output,
                    "log": log,
                    "tail": tail(self.root / log) if log else [],
                }
            )

    def as_json(self) -> dict:
        return {
            "total": self.total,
            "done": self.done,
            "running": list(self.running.values()),
            "finished": self.finished[-50:],
            "failures": self.failures,
            "errors": self.errors,
            "notes": self.notes,
            "output": list(self.lines)[-40:],
        }


class Builder:
    """Runs Snakemake for the page: a dry run on request, one background build at a time."""

    def __init__(self, root: str | Path, snakemake_args: list[str], cores: int = 2):
        self.root = Path(root)
        self.args = list(snakemake_args)
        self.cores = cores
        self.progress: Progress | None = None
        self.status = "idle"  # idle | running | done | failed | stopped
        self.targets: list[str] = []
        self.started = self.ended = None
        self.returncode: int | None = None
        self.version = 0  # bumped on every change; the page's stream waits on it
        self._changed = asyncio.Event()
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None

    def command(self, targets: list[str], dry_run: bool = False) -> list[str]:
        cmd = [sys.executable, "-m", "snakemake", *targets, "--cores", str(self.cores), *self.args]
        return cmd + (["-n"] if dry_run else ["--keep-going"])

    @property
    def running(self) -> bool:
        return self.status == "running"

    async def dry_run(self, targets: list[str]) -> list[dict]:
        """The jobs a build of `targets` would run now (Snakemake's own plan)."""
        proc = await asyncio.create_subprocess_exec(
            *self.command(targets, dry_run=True),
            cwd=self.root,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self._env(),
        )
        out, _ = await proc.communicate()
        text = out.decode(errors="replace")
        if proc.returncode != 0:
            raise TowerError("the dry run failed:\n" + "\n".join(text.strip().splitlines()[-25:]))
        return planned(text)

    async def start(self, targets: list[str]) -> None:
        if self.running:
            raise BuildBusy("a build is already running; wait for it to end (or stop it) before starting another")
        self.progress = Progress(self.root)
        self.targets = list(targets)
        self.status, self.started, self.ended, self.returncode = "running", time.time(), None, None
        # its own process group, so that a stop reaches Snakemake and the jobs it started
        self._proc = await asyncio.create_subprocess_exec(
            *self.command(targets),
            cwd=self.root,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self._env(),
            start_new_session=True,
        )
        self._task = asyncio.create_task(self._follow())
        self._bump()

    def stop(self) -> bool:
        """Ask a running build to stop (SIGINT, as Ctrl-C: Snakemake ends its jobs and unlocks)."""
        if not self.running or self._proc is None:
            return False
        try:
            os.killpg(self._proc.pid, signal.SIGINT)
        except ProcessLookupError:
            return False
        self.status = "stopping"
        self._bump()
        return True

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def _follow(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        async for raw in self._proc.stdout:
            self.progress.feed(raw.decode(errors="replace"))
            self._bump()
        self.returncode = await self._proc.wait()
        self.progress.close()
        stopped = self.status == "stopping"
        self.status = "stopped" if stopped else ("done" if self.returncode == 0 else "failed")
        self.ended = time.time()
        self._bump()

    def _env(self) -> dict:
        env = dict(os.environ)
        env.pop("TOWER_REVIEW_TOKEN", None)  # the jobs have no use for the page's token
        return env

    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed(self, seen: int, timeout: float = 15.0) -> None:
        """Return when the state is newer than `seen`, or after `timeout` (a keep-alive)."""
        if self.version != seen:
            return
        event = self._changed
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def as_json(self) -> dict:
        return {
            "status": self.status,
            "version": self.version,
            "targets": self.targets,
            "started": self.started,
            "ended": self.ended,
            "returncode": self.returncode,
            **(
                self.progress.as_json()
                if self.progress
                else {
                    "total": 0,
                    "done": 0,
                    "running": [],
                    "finished": [],
                    "failures": [],
                    "errors": [],
                    "notes": [],
                    "output": [],
                }
            ),
        }
