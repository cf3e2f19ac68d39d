"""What the review page shows of one episode, as plain data: scenes, and in each its music cue
and its shots (still, clip, takes, QC checks, dialogue with its voices, the director's mark),
then the delivered episode (the preview, its chapters and subtitles, the episode checks).

Files are named by their path in the project with a version that changes when the file
does (its size and mtime), so the page asks for a new file exactly when a build made one."""

import hashlib
import json
from pathlib import Path

from ..check import Checked
from ..qc.report import failures

# the folders the page may serve files from (everything a build writes that people look at)
SERVED = ("stills", "clips", "audio", "build", "subs", "episodes", "reports", "logs")


def file_version(path: str | Path) -> str | None:
    """A short token of a file's size and mtime, or None when it does not exist."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return None
    return hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:10]


def file_ref(path: str | Path) -> dict | None:
    """{path, url} of an output that exists (url with its version for cache busting), else None."""
    version = file_version(path)
    if version is None:
        return None
    return {"path": str(path), "version": version, "url": f"/files/{path}?v={version}"}


def read_json(path: str | Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def verdict(report: dict | None) -> str:
    """pass, fail, waived (a failed check a person accepted) or missing (not checked yet)."""
    if report is None:
        return "missing"
    if failures(report):
        return "fail"
    return "waived" if any("waived" in c for c in report.get("checks", [])) else "pass"


def checks(report: dict | None, kind: str, item: str) -> list:
    """The report's checks for the page: each with its state and what a waiver would name."""
    rows = []
    for c in (report or {}).get("checks", []):
        state = "waived" if "waived" in c else ("pass" if c["pass"] else "fail")
        rows.append(
            {
                "metric": c["metric"],
                "value": c["value"],
                "op": c["op"],
                "threshold": c["threshold"],
                "unit": c.get("unit", ""),
                "state": state,
                "reason": c.get("waived", ""),
                "exempt": c.get("exempt", ""),
                "kind": kind,
                "item": item,
            }
        )
    return rows


def _takes(ep: str, shot: str) -> list:
    record = read_json(Path("reports") / ep / "stills" / f"{shot}.takes.json") or {}
    promoted = record.get("promoted")
    return [
        {
            "take": t["take"],
            "seed": t["seed"],
            "pass": t.get("pass"),
            "failed": t.get("failed", []),
            "promoted": t["take"] == promoted,
        }
        for t in record.get("takes", [])
    ]


def _camera(spec: dict) -> str:
    cam = spec["camera"]
    return f"{cam['move']} ({cam['framing']})"


def episode_board(checked: Checked, ep: str, notes: dict) -> dict:
    """The page's data for episode `ep` of a checked project (paths relative to the project)."""
    plan = checked.plans[ep]
    doc = checked.story.episodes[ep]
    characters = checked.story.characters
    fps = plan.fps
    reports = Path("reports") / ep
    cues = {c["line"]: c for c in plan.cues}
    rows = {r["shot"]: r for r in plan.shots}
    scene_rows = {s["scene"]: s for s in plan.scenes}
    scenes = []
    for scene in doc["scenes"]:
        sid = scene["id"]
        music_report = read_json(reports / "music" / f"{sid}.json")
        shots = []
        for shot in scene["shots"]:
            hid = shot["id"]
            spec = plan.stills[hid]
            still_report = read_json(reports / "stills" / f"{hid}.json")
            clip_report = read_json(reports / "clips" / f"{hid}.json")
            lines = []
            for i, line in enumerate(shot.get("dialogue") or []):
                lid = f"{hid}_l{i + 1}"
                voice_report = read_json(reports / "voice" / f"{lid}.json")
                lines.append(
                    {
                        "line": lid,
                        "speaker": line["speaker"],
                        "name": characters.get(line["speaker"], {}).get("name", line["speaker"]),
                        "text": line["text"],
                        "start": (cues.get(lid) or {}).get("earliest"),
                        "audio": file_ref(Path("audio") / ep / "voice" / f"{lid}.wav"),
                        "verdict": verdict(voice_report),
                        "checks": checks(voice_report, "voice", f"{ep}/{lid}"),
                    }
                )
            row = rows[hid]
            shots.append(
                {
                    "shot": hid,
                    "frames": row["frames"],
                    "start": round(row["start_frame"] / fps, 2),
                    "seconds": round(row["frames"] / fps, 2),
                    "camera": _camera(spec),
                    "action": spec["action"],
                    "seed": spec["seed"],
                    "characters": [c["name"] for c in spec["characters"]],
                    "still": file_ref(Path("stills") / ep / f"{hid}.png"),
                    "clip": file_ref(Path("clips") / ep / f"{hid}.mp4"),
                    "still_verdict": verdict(still_report),
                    "clip_verdict": verdict(clip_report),
                    "checks": checks(still_report, "still", f"{ep}/{hid}") + checks(clip_report, "clip", f"{ep}/{hid}"),
                    "takes": _takes(ep, hid),
                    "lines": lines,
                    "mark": notes.get(hid) or {},
                }
            )
        srow = scene_rows[sid]
        scenes.append(
            {
                "scene": sid,
                "title": scene["title"],
                "mood": scene["mood"],
                "cue": scene.get("music", ""),
                "location": scene["location"],
                "time_of_day": scene["time_of_day"],
                "start": round(srow["start_frame"] / fps, 2),
                "seconds": round(srow["frames"] / fps, 2),
                "music": file_ref(Path("audio") / ep / "music" / f"{sid}.wav"),
                "music_verdict": verdict(music_report),
                "music_checks": checks(music_report, "music", f"{ep}/{sid}"),
                "shots": shots,
            }
        )
    episode_report = read_json(reports / "episode.json")
    build = Path("build") / ep
    return {
        "episode": ep,
        "title": plan.title,
        "seconds": round(plan.duration, 2),
        "fps": fps,
        "scenes": scenes,
        "episodes": list(checked.plans),
        "delivered": file_ref(Path("episodes") / f"{ep}.mkv"),
        "master": file_ref(build / "master.mkv"),
        "preview": file_ref(build / "preview.webm"),
        "subtitles": file_ref(build / "preview.vtt"),
        "chapters_track": file_ref(build / "chapters.vtt"),
        "chapters": [{"title": s["title"], "start": round(s["start_frame"] / fps, 3)} for s in plan.scenes],
        "episode_verdict": verdict(episode_report),
        "episode_checks": checks(episode_report, "episode", ep),
        "qc_sheet": file_ref(reports / "qc.html"),
    }


def file_versions(board: dict) -> dict:
    """{path: version} of every file the board shows: what the page compares after a build."""
    out = {}

    def walk(value):
        if isinstance(value, dict):
            if "url" in value and "version" in value:
                out[value["path"]] = value["version"]
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(board)
    return out
