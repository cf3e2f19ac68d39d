"""QC reports: every metric with its value, threshold and verdict, kept on disk as JSON.

A report is written even when checks fail; the *consumer* of an item refuses a failed
report (require_pass), so a bad item stops only what depends on it and the report stays.
"""
import json
import operator
from pathlib import Path

from ..errors import GateFailed
from ..fsutil import write_json_atomic

_OPS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt}


def check(metric, value, op, threshold, unit=""):
    """One measured check; `value op threshold` must hold."""
    ok = value is not None and _OPS[op](value, threshold)
    return {"metric": metric, "value": value, "op": op, "threshold": threshold, "unit": unit, "pass": bool(ok)}


def make_report(kind, item, checks, extra=None):
    return {"kind": kind, "item": item, "pass": all(c["pass"] for c in checks), "checks": checks, **(extra or {})}


def write_report(path, report):
    write_json_atomic(path, report)


def failures(report):
    return [c for c in report["checks"] if not c["pass"]]


def describe_failure(report, c, path):
    unit = f" {c['unit']}" if c["unit"] else ""
    return (f"QC gate failed: {report['kind']} {report['item']}: {c['metric']} = {c['value']}{unit} "
            f"(required {c['op']} {c['threshold']}{unit}); report: {path}")


def require_pass(report_paths):
    """Raise GateFailed listing every failed check of every report given."""
    messages = []
    for path in report_paths:
        report = json.loads(Path(path).read_text())
        messages += [describe_failure(report, c, path) for c in failures(report)]
    if messages:
        raise GateFailed("\n".join(messages))
