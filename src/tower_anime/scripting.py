"""Glue for the workflow's `script:` files: log to the job's log, print user errors once."""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO

from .errors import TowerError


def run_step(snakemake: Any, fn: Callable[[TextIO], object]) -> None:
    """Run fn(log) with stderr in snakemake.log[0]; a TowerError ends the job with its message only."""
    log = open(snakemake.log[0], "w", buffering=1) if snakemake.log else sys.stderr
    real_stderr = sys.stderr
    sys.stderr = log
    # wall-clock stamps in every job log: progress you can follow, and the evidence that two
    # GPU jobs never overlapped (tests read them back on a cluster)
    print(
        f"[tower] start {time.time():.3f} rule={snakemake.rule} host={socket.gethostname()} "
        f"slurm_job={os.environ.get('SLURM_JOB_ID', '-')}",
        file=log,
    )
    try:
        fn(log)
        print(f"[tower] end {time.time():.3f}", file=log)
    except TowerError as e:
        print(f"ERROR: {e}", file=log)
        # the terminal shows this line; the log keeps it for later
        print(f"ERROR [{snakemake.rule}]: {e}", file=real_stderr)
        sys.exit(1)
    except Exception:
        traceback.print_exc(file=log)
        raise
    finally:
        sys.stderr = real_stderr
        if log is not real_stderr:
            log.close()
    if sys.modules["__main__"].__dict__.get("snakemake") is snakemake:
        _exit_now()


def _exit_now() -> None:
    """End a finished job's process without the interpreter's teardown. Its outputs are
    written, renamed into place and closed, its threads joined and its tools waited for;
    what is left is freeing every module (numpy, scipy, Pillow, ONNX Runtime...) one object
    at a time, 20-30 ms a job that Snakemake waits for before it starts the next one."""
    end_without_teardown(0)


def end_without_teardown(code: int) -> None:
    """Run the exit handlers still registered (logging's shutdown among them), flush the
    streams and end the process with `code`, skipping only the freeing of every object.
    Shared by a job's end (above) and the snakemake command's (snakemake_patches)."""
    import atexit

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            pass
    os._exit(code)


def spec(snakemake: Any, name: str = "spec") -> Any:
    return json.loads(getattr(snakemake.params, name))


def backend_files(snakemake: Any, *own: str) -> dict:
    """The job's named inputs that its backend declared (e.g. ComfyUI's `workflow`), by name:
    every named input except the rule's own and the backend's code (rules/common.smk,
    render_inputs)."""
    return {name: path for name, path in snakemake.input.items() if name not in own and name != "renderer"}
