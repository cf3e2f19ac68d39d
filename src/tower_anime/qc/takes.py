"""Retakes around any stills/clips backend: backend.render -> check -> retry with the next seed.

A take that fails its checks is rendered again with seed+1, up to `qc.takes` takes; every
take's report is kept (reports/<ep>/<stage>/<shot>.take<N>.json) and the best take (a
passing one first; see report.score) becomes the output. When no take passes, the best
failing take is still promoted: its QC rule writes a failed report and the consumer
refuses it, so the item stops at the gate with its reports on disk like any other.

The thresholds come from the current config but are not a param of the render rules, so
changing one re-runs the checks and not the renders (README: Quality gates, Retakes).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO

from .. import backends
from ..backends import Backend
from ..fsutil import sha256_file, write_json_atomic
from .report import failures, score, write_report


def take_report_path(takes_path: Path | str, n: int) -> Path:
    """reports/<ep>/stills/<shot>.takes.json -> reports/<ep>/stills/<shot>.take<n>.json"""
    p = Path(takes_path)
    return p.with_name(p.name.replace(".takes.json", f".take{n}.json"))


def _clear_old_takes(takes_path):
    p = Path(takes_path)
    stem = p.name.replace(".takes.json", "")
    for old in p.parent.glob(f"{stem}.take*.json"):
        if old.name[len(stem) + 5 : -5].isdigit():  # <stem>.take<N>.json only
            old.unlink()


def render_with_takes(
    backend: Backend,
    check: Callable[[Path, dict], dict],
    spec: dict,
    inputs: tuple,
    out_path: str | Path,
    takes_path: str | Path,
    takes: int = 1,
    render_all: bool = False,
    seed_key: str = "seed",
    log: TextIO | None = None,
    **runtime,
) -> dict:
    """Render `spec` into out_path with backend.render(spec, *inputs, path, log=log, **runtime),
    retrying failed takes with the next seed (when the backend is seeded).

    check(path, spec) returns a take's QC report. Returns the takes summary, also written to
    takes_path.
    """
    out = Path(out_path)
    _clear_old_takes(takes_path)
    base = spec.get(seed_key, 0)
    if takes <= 1 or not backend.seeded:
        # nothing to choose between: the QC rule checks the one take
        backend.render(spec, *inputs, out, log=log, **runtime)
        summary = {"takes": [{"take": 1, "seed": base, "checked": False}], "promoted": 1, "seed": base}
        write_json_atomic(takes_path, summary)
        return summary
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.stem}.takes.tmp", dir=out.parent))
    rows = []
    try:
        for n in range(1, takes + 1):
            take_spec = {**spec, seed_key: base + n - 1}
            path = work / f"take{n}{out.suffix}"
            backend.render(take_spec, *inputs, path, log=log, **runtime)
            report = check(path, take_spec)
            report.update(take=n, seed=take_spec[seed_key], file=f"take {n} of {out} (not kept unless promoted)")
            write_report(take_report_path(takes_path, n), report)
            rows.append((score(report), n, path, report))
            failed = ", ".join(f"{c['metric']}={c['value']}" for c in failures(report)) or "none"
            if log:
                print(
                    f"take {n} (seed {take_spec[seed_key]}): {'pass' if report['pass'] else 'FAIL'}; "
                    f"failed checks: {failed}",
                    file=log,
                    flush=True,
                )
            if report["pass"] and not render_all:
                break
        best = max(rows, key=lambda r: (r[0], -r[1]))  # best score; the earlier take on a tie
        os.replace(best[2], out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = {
        "takes": [
            {
                "take": n,
                "seed": r["seed"],
                "checked": True,
                "pass": r["pass"],
                "failed": [c["metric"] for c in failures(r)],
                "report": str(take_report_path(takes_path, n)),
            }
            for _, n, _, r in rows
        ],
        "promoted": best[1],
        "seed": best[3]["seed"],
    }
    write_json_atomic(takes_path, summary)
    if log:
        print(f"promoted take {best[1]} (seed {best[3]['seed']}) of {len(rows)} to {out}", file=log, flush=True)
    return summary


def waivers(qc: dict) -> list[dict]:
    return qc.get("waive", [])


def still_with_takes(
    spec: dict,
    out_path: str | Path,
    takes_path: str | Path,
    qc: dict,
    log: TextIO | None = None,
    root: str | Path = ".",
    **runtime: Any,
) -> dict:
    """The stills stage with retakes: the spec's stills backend, checked by qc.still.
    runtime goes to the backend as it is."""
    from .still import still_report

    check = partial(still_report, cfg=qc["still"], waivers=waivers(qc), root=root)
    return render_with_takes(
        backends.get("stills", spec["backend"]),
        check,
        spec,
        (),
        out_path,
        takes_path,
        qc["takes"],
        qc["render_all_takes"],
        log=log,
        **runtime,
    )


def clip_with_takes(
    spec: dict,
    still_path: str | Path,
    out_path: str | Path,
    takes_path: str | Path,
    qc: dict,
    log: TextIO | None = None,
    **runtime,
) -> dict:
    """The clips stage with retakes: the spec's clips backend, checked by qc.clip.
    A clip backend reads its seed from spec['seed'] (the still's seed when not set)."""
    from .clip import clip_report

    spec = {**spec, "seed": spec.get("seed", spec["still"].get("seed", 0))}
    # the bytes the clip is made from, read before rendering (see still_changed)
    still_sha256 = sha256_file(still_path)
    check = partial(clip_report, cfg=qc["clip"], still_path=still_path, waivers=waivers(qc))
    summary = render_with_takes(
        backends.get("clips", spec["backend"]),
        check,
        spec,
        (still_path,),
        out_path,
        takes_path,
        qc["takes"],
        qc["render_all_takes"],
        log=log,
        **runtime,
    )
    summary["still_sha256"] = still_sha256
    write_json_atomic(takes_path, summary)
    return summary


def still_changed(still: str | Path, clip: str | Path, takes_path: str | Path) -> bool:
    """Whether `still` is not the still `clip` was made from: it is newer than the clip (one
    stat each) and its bytes differ from the sha256 in the clip's takes record (or the record
    has none). A still touched or copied with its bytes unchanged is no change; nothing
    built yet is none either (the clip is made anyway)."""
    try:
        if Path(still).stat().st_mtime <= Path(clip).stat().st_mtime:
            return False
    except FileNotFoundError:
        return False
    try:
        recorded = json.loads(Path(takes_path).read_text()).get("still_sha256")
    except (OSError, ValueError):
        recorded = None
    return recorded != sha256_file(still)
