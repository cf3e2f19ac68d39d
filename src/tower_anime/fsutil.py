"""Atomic, verified outputs: write to a temporary name beside the target, check that the
file is complete, and only then rename it to its real name.

A killed job therefore never leaves a half-written file under its real name, a write that
failed quietly (a full disk under a tool that still exits 0) is caught before the rename,
and Snakemake never mistakes a truncated file for a finished one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import TowerError

# errors that mean "this write did not happen", whatever wrote the file
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG}


class OutputError(TowerError):
    """An output could not be written completely; nothing was left under its real name.
    The message names the file, what was wrong, the likely cause and the fix."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _free(folder: Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 2**20:.1f} MiB free there"
    except OSError:
        return "free space unknown"


def _cannot_write(target: Path, e: OSError) -> OutputError:
    from .verify_output import likely_cause

    reason = e.strerror or str(e)
    return OutputError(
        f"cannot write {target}: {reason} (folder {target.parent}, {_free(target.parent)}); "
        f"nothing was left under that name. Likely cause and fix: {likely_cause(reason)}"
    )


def folder_problem(folder: str | Path) -> str | None:
    """Why no file can be written into `folder` (made when missing), in one line that names the
    path and the fix, or None: something that is not a folder where it or a folder above it
    should be (`reports` a file: every job and even a dry run would stop with a traceback), a
    link to nowhere, or a folder that cannot be written (a read-only mount, `chattr +i`, no
    write permission): the folder itself, or the deepest folder above it that exists, where
    it would be made. The workflow asks it of every output folder before the DAG
    (rules/common.smk). It writes nothing unless a folder looks unwritable, and then only to
    learn why, with a file that is removed at once."""
    found = _folder_problem(Path(folder))
    return None if found is None else found[1]


def folder_problems(folders: Iterable[str | Path]) -> list[str]:
    """folder_problem of each folder, each culprit once (`reports` a file is one line, not
    one per folder under it)."""
    found: dict[Path, str] = {}
    for folder in folders:
        problem = _folder_problem(Path(folder))
        if problem is not None:
            found.setdefault(*problem)
    return list(found.values())


def _folder_problem(folder: Path) -> tuple[Path, str] | None:
    """(the culprit, the line) for folder_problem."""
    here = Path(folder.anchor) if folder.is_absolute() else Path()
    for part in folder.parts[1:] if folder.is_absolute() else folder.parts:
        step = here / part
        try:
            mode = step.stat().st_mode
        except FileNotFoundError:
            if step.is_symlink():
                return step, (
                    f"{step} is a link to {os.readlink(step)}, which does not exist: make that folder "
                    "or remove the link, then run again"
                )
            break  # made when a job writes into it: the folder above must be writable
        except OSError as e:
            return step, f"cannot use {step}: {e.strerror or e}; make it a readable folder, then run again"
        if not stat.S_ISDIR(mode):
            what = "a file" if stat.S_ISREG(mode) else "something else (a pipe, a socket or a device)"
            link = f" (a link to {os.readlink(step)})" if step.is_symlink() else ""
            return step, (
                f"{step} is {what}{link}, not a folder: move it away (Tower writes into {step}/), then run again"
            )
        here = step
    if os.access(here, os.W_OK | os.X_OK):
        return None
    try:  # why not: the error a real write gets (EROFS, EPERM, EACCES)
        fd, probe = tempfile.mkstemp(prefix=".tower-probe.", dir=here)
    except OSError as e:
        from .verify_output import likely_cause

        reason = e.strerror or str(e)
        return here, (
            f"cannot write {folder}: {reason} (folder {here}, {_free(here)}). "
            f"Likely cause and fix: {likely_cause(reason)}"
        )
    os.close(fd)
    os.unlink(probe)
    return None


def _nearly_full(folder: Path) -> bool:
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return False
    return usage.free < min(64 * 2**20, usage.total // 50)


def _incomplete(target: Path, problem: str) -> OutputError:
    from .verify_output import likely_cause

    # a tool that hit a full disk may say nothing at all: the free space tells
    cause = likely_cause("No space left on device" if _nearly_full(target.parent) else problem)
    return OutputError(
        f"{target} was not written completely: {problem}; nothing was left under that name "
        f"({_free(target.parent)}). Likely cause and fix: {cause}"
    )


def _remove_stale(target: Path, suffix: str) -> None:
    """Temporary files of this target left by a killed job (same name pattern as mkstemp's)."""
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.[a-z0-9_]{{8}}\.tmp{re.escape(suffix)}")
    for p in target.parent.glob(f".{_glob_escape(target.stem)}.*.tmp{_glob_escape(suffix)}"):
        if pattern.fullmatch(p.name):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _sync(path: str | Path) -> None:
    """fsync a file or folder: a full disk or a failing device shows up here at the latest."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _begin(target: Path, suffix: str | None) -> Path:
    suffix = target.suffix if suffix is None else suffix
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target, suffix)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{suffix}", dir=target.parent)
    except OSError as e:  # a read-only folder, a full disk, a missing mount
        raise _cannot_write(target, e) from None
    os.close(fd)
    return Path(tmp)


def _verify(tmp: Path, target: Path, check: Callable[[Path], None] | None) -> None:
    from .verify_output import IncompleteOutput

    _sync(tmp)
    if check is not None:
        try:
            check(tmp)
        except IncompleteOutput as e:
            raise _incomplete(target, str(e)) from None


def _commit(tmp: Path, target: Path) -> None:
    # mkstemp creates 0600; give the finished file the mode a plain open() would
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)
    with contextlib.suppress(OSError):  # the rename itself, on disk (not every filesystem allows it)
        _sync(target.parent)


@contextlib.contextmanager
def atomic_paths(
    targets: Sequence[str | Path], check: Callable[[Path], None] | Sequence | None = None, suffix: str | None = None
) -> Iterator[list[Path]]:
    """Yield temporary paths beside `targets`; when the block ends, sync each one, run
    `check` on it (one callable for all, or one per target, or None), and only when every
    file passed rename them all to their real names.

    The temporary names keep the targets' extensions (FFmpeg picks the container from
    them) unless `suffix` is given. On any exception, or a check that fails, every
    temporary file is removed and nothing takes a real name. A write error (a full disk,
    a read-only folder, EIO) or a failed check is raised as OutputError, naming the file,
    what was wrong, the likely cause and the fix.
    """
    targets = [Path(t) for t in targets]
    checks = list(check) if isinstance(check, (list, tuple)) else [check] * len(targets)
    tmps: list[Path] = []
    try:
        for t in targets:
            tmps.append(_begin(t, suffix))
        yield tmps
        for tmp, target, c in zip(tmps, targets, checks):
            try:
                _verify(tmp, target, c)
            except OSError as e:
                raise _cannot_write(target, e) from None
        for tmp, target in zip(tmps, targets):
            _commit(tmp, target)
    except OSError as e:
        if e.errno in _WRITE_ERRNOS:  # the block's own writes (Pillow, open().write) failed
            raise _cannot_write(targets[0], e) from None
        raise
    except OutputError:
        raise
    except TowerError as e:
        from .verify_output import write_errors

        if write_errors(str(e)):  # a tool reported a failed write (media.run): say what was kept
            raise OutputError(f"{e}\n  nothing was left under {', '.join(map(str, targets))}") from None
        raise
    finally:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


@contextlib.contextmanager
def atomic_path(
    target: str | Path, suffix: str | None = None, check: Callable[[Path], None] | None = None
) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to `target` once the block
    ended without an exception and `check(tmp)` (see verify_output) found it complete.
    On any failure the temporary file is removed (see atomic_paths)."""
    with atomic_paths([target], check, suffix) as (tmp,):
        yield tmp


def _same_bytes(data: bytes) -> Callable[[Path], None]:
    def check(path: Path) -> None:
        from .verify_output import IncompleteOutput

        back = Path(path).read_bytes()
        if back != data:
            raise IncompleteOutput(
                f"{len(back)} of {len(data)} bytes read back" + (" (different bytes)" if len(back) == len(data) else "")
            )

    return check


def write_bytes_atomic(target: str | Path, data: bytes) -> None:
    """Write, fsync and read back `data`; a short write, ENOSPC or EIO leaves nothing."""
    with atomic_path(target, check=_same_bytes(data)) as tmp:
        with open(tmp, "wb") as f:
            if f.write(data) != len(data):
                raise OSError(errno.EIO, "short write")


def write_text_atomic(target: str | Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_json_atomic(target: str | Path, data: Any) -> None:
    import json

    write_text_atomic(target, json.dumps(data, indent=2, sort_keys=True) + "\n")


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
