"""QC reports: every metric with its value, threshold and verdict, kept on disk as JSON.

A report is written even when checks fail; the *consumer* of an item refuses a failed
report (require_pass), so a bad item stops only what depends on it and the report stays.
A person may accept a failed check with a written reason (a waiver, `qc.waive` in config);
the report records it and the gate lets the item through.
"""

from __future__ import annotations

import json
import math
import operator
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import GateFailed, TowerError
from ..fsutil import OutputError, folder_problem, write_json_atomic, write_text_atomic
from .hints import hint

_OPS = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
    "between": lambda v, t: t[0] <= v <= t[1],
}


def check(metric: str, value: Any, op: str, threshold: Any, unit: str = "", **extra: Any) -> dict[str, Any]:
    """One measured check; `value op threshold` must hold (`between`: lo <= value <= hi).

    extra keys are recorded as they are, e.g. exempt="why this check does not apply".
    """
    try:
        ok = value is not None and _OPS[op](value, threshold)
    except TypeError:  # a measurement of the wrong type (e.g. None inside a tuple) fails
        ok = False
    return {
        "metric": metric,
        "value": value,
        "op": op,
        "threshold": threshold,
        "unit": unit,
        "pass": bool(ok) or bool(extra.get("exempt")),
        **extra,
    }


def make_report(
    kind: str, item: str, checks: list[dict], extra: dict | None = None, waivers: Iterable[dict] = ()
) -> dict[str, Any]:
    """A report whose verdict counts a waived check as accepted (the waiver is recorded)."""
    report = {"kind": kind, "item": item, "checks": checks, **(extra or {})}
    apply_waivers(report, waivers)
    return report


def apply_waivers(report: dict, waivers: Iterable[dict]) -> dict:
    """Mark failed checks that a person waived, record every waiver, recompute the verdict.

    waivers: [{kind, item, check, reason}], already filtered or not (others are ignored).
    """
    mine = [w for w in waivers if w["kind"] == report["kind"] and w["item"] == report["item"]]
    for c in report["checks"]:
        c.pop("waived", None)
        for w in mine:
            if w["check"] == c["metric"] and not c["pass"]:
                c["waived"] = w["reason"]
    report["waivers"] = [
        {
            "check": w["check"],
            "reason": w["reason"],
            "used": any(c["metric"] == w["check"] and "waived" in c for c in report["checks"]),
        }
        for w in mine
    ]
    report["pass"] = not failures(report)
    return report


def write_report(path: Path | str, report: dict) -> None:
    write_json_atomic(path, report)


# --- a refused render is made again ------------------------------------------------------
# A gate's report is an output of its check, which reads the render: the render rule cannot
# also take the report as an input (a cycle). So each gate keeps a verdict file beside its
# report (<report>.verdict, no rule makes it: the render rule's input function creates it
# empty when it is missing). The check rewrites it after every check, with a time stamp, so
# its bytes change. The render rule takes it as an input: ancient() while the gate accepts
# the item, plain while the gate refuses it and no current waiver accepts the failed checks.
# Snakemake then sees an input newer than the render, with bytes other than it recorded, and
# makes the render again on the next run (rules/common.smk: refusal). The set of input paths
# stays the same either way, so accepting an item (a waiver) re-runs nothing but its check.


def verdict_path(report_path: str | Path) -> Path:
    """reports/<ep>/clips/<shot>.json -> reports/<ep>/clips/<shot>.verdict"""
    return Path(report_path).with_suffix(".verdict")


def write_gate_report(path: str | Path, report: dict) -> None:
    """Write an item's gate report and its verdict file (see verdict_path)."""
    write_report(path, report)
    lines = [f"{'pass' if report['pass'] else 'refused'} {time.time_ns()}"]
    lines += [describe_check(c) for c in failures(report)]
    write_text_atomic(verdict_path(path), "\n".join(lines) + "\n")


def ensure_verdict(report_path: str | Path) -> str:
    """The verdict file of a gate, created empty when missing (before the item's first check)."""
    verdict = verdict_path(report_path)
    try:
        if not verdict.exists():
            verdict.parent.mkdir(parents=True, exist_ok=True)
            verdict.touch()
    except OSError as e:  # a file where a folder should be, a read-only folder: one line, no traceback
        problem = folder_problem(verdict.parent)
        raise OutputError(problem or f"cannot write {verdict}: {e.strerror or e}; make its folder writable") from None
    return str(verdict)


def refused(report_path: str | Path, waivers: list[dict]) -> bool:
    """Whether the gate refuses its item now: its last check failed and no waiver in the
    current config accepts every failed check. A damaged report counts as refused (making
    the item again writes a new one); an item never checked is not refused."""
    try:
        if not verdict_path(report_path).read_text().startswith("refused"):
            return False
    except OSError:
        return False
    try:
        report = json.loads(Path(report_path).read_text())
    except (OSError, ValueError):
        return True
    return not apply_waivers(report, waivers)["pass"]


def read_report(path: Path | str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise TowerError(f"cannot read the QC report {path}: {e}; delete it and run again") from None


def failures(report: dict) -> list[dict]:
    """Checks that failed and were not waived: what stops the item."""
    return [c for c in report["checks"] if not c["pass"] and "waived" not in c]


def _show(value):
    if isinstance(value, float):
        return str(round(value, 6))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return f"[{_show(value[0])}, {_show(value[1])}]"
    return str(value)


def describe_check(c: dict) -> str:
    """`metric = value unit (required op threshold unit)`"""
    unit = f" {c['unit']}" if c["unit"] else ""
    return f"{c['metric']} = {_show(c['value'])}{unit} (required {c['op']} {_show(c['threshold'])}{unit})"


def describe_failure(report: dict, c: dict, path: str | Path) -> str:
    """The refusal of one failed check: the item, the measurement, the report, and on a
    second line its likely cause and fix (qc/hints.py)."""
    return (
        f"QC gate failed: {report['kind']} {report['item']}: {describe_check(c)}; report: {path}\n"
        f"  likely cause and fix: {hint(report['kind'], c['metric'])}"
    )


def _stray_waivers(report: dict) -> list[str]:
    """A waiver of this item that names no check of its report (a typo waives nothing)."""
    metrics = [c["metric"] for c in report["checks"]]
    return [
        f"  qc.waive names the check {w['check']!r} for {report['kind']} {report['item']}, which its report "
        f"does not have, so it waives nothing; the failed checks are {[c['metric'] for c in failures(report)]}"
        for w in report.get("waivers") or []
        if not w["used"] and w["check"] not in metrics
    ]


def require_pass(report_paths: list[str | Path]) -> None:
    """Raise GateFailed listing every failed (unwaived) check of every report given."""
    messages = []
    for path in report_paths:
        report = read_report(path)
        failed = failures(report)
        messages += [describe_failure(report, c, path) for c in failed]
        if failed:
            messages += _stray_waivers(report)
    if messages:
        raise GateFailed(
            "\n".join(messages) + "\n  the refused item is made again on the next run, unless a waiver "
            "(qc.waive) accepts the check"
        )


def score(report: dict) -> tuple[bool, int, float]:
    """Sort key for picking the best of several takes: passing first, then fewer failed
    checks, then the largest worst-case relative margin to a numeric threshold."""
    margins = []
    for c in report["checks"]:
        if c.get("exempt") or not isinstance(c["value"], (int, float)) or isinstance(c["value"], bool):
            continue
        thr, v = c["threshold"], c["value"]
        if c["op"] == "between":
            lo, hi = thr
            margin = min(v - lo, hi - v) / max(abs(hi - lo), 1e-9)
        elif c["op"] in ("<=", "<", ">=", ">") and isinstance(thr, (int, float)):
            sign = 1 if c["op"] in (">=", ">") else -1
            margin = sign * (v - thr) / max(abs(thr), 1e-9)
        else:
            continue
        margins.append(max(-1.0, min(1.0, margin)) if math.isfinite(margin) else -1.0)
    return (report["pass"], -len(failures(report)), min(margins) if margins else 0.0)
