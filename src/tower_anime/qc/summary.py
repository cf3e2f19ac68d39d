"""One view of an episode's gates: reports/<ep>/qc.csv (one row per item and check) and
reports/<ep>/qc.html (a contact sheet of stills and first/middle/last clip frames with the
failed checks marked, then the sound and episode tables). The HTML embeds its thumbnails,
so it can be mailed or opened from inside `snakemake --report`.

A report that is not on disk (an item stopped before its check could run) gets one row
saying so, so the same function can summarise a build that stopped at a gate.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..fsutil import write_text_atomic
from .report import failures

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["episode", "kind", "item", "check", "value", "op", "threshold", "unit", "pass", "waived", "exempt", "report"]


class _EpisodePlan(Protocol):
    """What episode_view reads of a story.plan.EpisodePlan (the story floor is above this one)."""

    @property
    def id(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def shots(self) -> list[dict[str, Any]]: ...

    @property
    def cues(self) -> list[dict[str, Any]]: ...

    @property
    def scenes(self) -> list[dict[str, Any]]: ...


def episode_view(plan: _EpisodePlan) -> dict[str, Any]:
    """What the summary needs of an episode plan, as JSON-ready data (a rule param)."""
    return {
        "episode": plan.id,
        "title": plan.title,
        "shots": [{k: row[k] for k in ("shot", "scene", "frames")} for row in plan.shots],
        "lines": [c["line"] for c in plan.cues],
        "scenes": [s["scene"] for s in plan.scenes],
    }


def expected_reports(view: dict[str, Any]) -> list[tuple[str, str, Path]]:
    """[(kind, item, report path relative to the workflow)] of every gate of one episode."""
    ep, r = view["episode"], Path("reports") / view["episode"]
    rows = []
    for shot in (row["shot"] for row in view["shots"]):
        rows += [
            ("still", f"{ep}/{shot}", r / "stills" / f"{shot}.json"),
            ("clip", f"{ep}/{shot}", r / "clips" / f"{shot}.json"),
        ]
    rows += [("voice", f"{ep}/{line}", r / "voice" / f"{line}.json") for line in view["lines"]]
    rows += [("music", f"{ep}/{scene}", r / "music" / f"{scene}.json") for scene in view["scenes"]]
    rows.append(("episode", ep, r / "episode.json"))
    return rows


def _load(path, root="."):
    """The report at path, or None when there is none or it is stale: a report whose item
    is gone (a clip its consumer refused is deleted by Snakemake; the old report stays)."""
    from .report import read_report

    if not Path(path).is_file():
        return None
    report = read_report(path)
    file = report.get("file")
    if file and not (Path(root) / file).exists():
        return None
    return report


def _cell(value):
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return value


def table(view: dict[str, Any], root: Path | str = ".") -> pd.DataFrame:
    """pandas DataFrame: one row per item and check (a missing report is one failed row)."""
    import pandas as pd

    rows = []
    for kind, item, path in expected_reports(view):
        report = _load(Path(root) / path, root)
        rel = str(path)
        if report is None:
            rows.append(
                {
                    "episode": view["episode"],
                    "kind": kind,
                    "item": item,
                    "check": "(no report)",
                    "value": None,
                    "op": "",
                    "threshold": None,
                    "unit": "",
                    "pass": False,
                    "waived": "",
                    "exempt": "not checked: an earlier gate stopped this item, or it was not built yet",
                    "report": rel,
                }
            )
            continue
        for c in report["checks"]:
            rows.append(
                {
                    "episode": view["episode"],
                    "kind": kind,
                    "item": item,
                    "check": c["metric"],
                    "value": _cell(c["value"]),
                    "op": c["op"],
                    "threshold": _cell(c["threshold"]),
                    "unit": c["unit"],
                    "pass": bool(c["pass"]),
                    "waived": c.get("waived", ""),
                    "exempt": c.get("exempt", ""),
                    "report": rel,
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def _data_uri(path):
    p = Path(path)
    if not p.is_file():
        return None
    return "data:image/jpeg;base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def _verdict(report):
    if report is None:
        return "missing"
    if failures(report):
        return "fail"
    return "waived" if any("waived" in c for c in report["checks"]) else "pass"


def _marked(report):
    """The checks worth a person's eye: failed ones and waived ones."""
    if report is None:
        return []
    return [c for c in report["checks"] if not c["pass"] or "waived" in c]


def html(view: dict, root: str | Path = ".") -> str:
    """The contact sheet of one episode's gates as self-contained HTML."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    r = Path(root) / "reports" / view["episode"]
    shots = []
    for row in view["shots"]:
        shot = row["shot"]
        still, clip = _load(r / "stills" / f"{shot}.json", root), _load(r / "clips" / f"{shot}.json", root)
        shots.append(
            {
                "shot": shot,
                "scene": row["scene"],
                "frames": row["frames"],
                "still": still,
                "clip": clip,
                "still_verdict": _verdict(still),
                "clip_verdict": _verdict(clip),
                "still_marked": _marked(still),
                "clip_marked": _marked(clip),
                "still_img": still and _data_uri(r / "thumbs" / f"{shot}.still.jpg"),
                "clip_img": clip and _data_uri(r / "thumbs" / f"{shot}.clip.jpg"),
                "takes": (still or {}).get("takes", {}).get("takes", []),
            }
        )
    sounds = []
    for kind, item, path in expected_reports(view):
        if kind in ("voice", "music"):
            rep = _load(Path(root) / path, root)
            sounds.append({"kind": kind, "item": item, "report": rep, "verdict": _verdict(rep), "marked": _marked(rep)})
    episode = _load(r / "episode.json", root)
    df = table(view, root)
    failed = ~df["pass"] & (df["waived"] == "")  # a waived check is counted as waived only
    counts = {
        "checks": len(df),
        "failed": int(failed.sum()),
        "waived": int((df["waived"] != "").sum()),
        "items_failed": int(df.loc[failed, "item"].nunique()),
    }
    # the template is qc.html.j2: select_autoescape() by default escapes only names ending in
    # .html/.xml, so a check's "<= 1.0" or a title with "<" went into the page raw
    env = Environment(
        loader=PackageLoader("tower_anime.qc", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
    )
    return env.get_template("qc.html.j2").render(
        view=view, shots=shots, sounds=sounds, episode=episode, episode_verdict=_verdict(episode), counts=counts
    )


def write_summary(
    view: dict[str, Any], csv_path: Path | str, html_path: Path | str, root: Path | str = "."
) -> pd.DataFrame:
    """Write the CSV and the HTML contact sheet of one episode's gates (view: episode_view)."""
    df = table(view, root)
    write_text_atomic(csv_path, df.to_csv(index=False))
    write_text_atomic(html_path, html(view, root))
    return df
