"""`tower-anime services check`: for each service the config uses (voice and music over HTTP,
the knowledge base, the story/facts database; ComfyUI points to its own preflight), one line:
whether it is reachable, how it is authenticated, and what one small sample request answered.

Tokens are never printed: auth is reported by the name of the variable and whether it is set,
URLs are masked (user:password@ becomes user:***@), and every service message goes through the
HTTP client's masking.
"""

from __future__ import annotations

import io
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .errors import TowerError
from .store.url import mask_url

SAMPLE_TEXT = "Tower connection check."


@dataclass
class Result:
    service: str
    status: str  # OK, FAIL, WARN (not needed to build) or SKIP
    target: str  # the masked URL
    notes: list[str]

    def line(self) -> str:
        return f"{self.service:<15} {self.status:<4}  {self.target}  " + "; ".join(self.notes)


def reachable(url: str, timeout: float) -> str | None:
    """None when a TCP connection to the URL's host and port opens, else why not."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return None
    except OSError as e:
        return f"cannot connect to {parts.hostname}:{port} ({e.strerror or type(e).__name__})"


def auth_note(token_env: str | None, environ: dict | None = None) -> str:
    """How requests are authenticated, by the variable's name only."""
    environ = os.environ if environ is None else environ
    if not token_env:
        return "auth: none (token_env: null)"
    if environ.get(token_env, "").strip():
        return f"auth: bearer token from ${token_env} (set)"
    return f"auth: ${token_env} not set, no Authorization header sent"


def _voice_context(config: dict) -> dict:
    return {
        "text": SAMPLE_TEXT,
        "line": "check",
        "episode": "check",
        "scene": "check",
        "shot": "check",
        "speaker": "check",
        "speaker_index": 0,
        "name": "Check",
        "voice_id": "check",
        "emotion": "neutral",
        "speed": 1.0,
        "length_scale": 1.0,
        "pitch": 0,
        "sample_rate": config["output"]["sample_rate"],
    }


def _music_context(config: dict) -> dict:
    return {
        "episode": "check",
        "scene": "check",
        "title": "Connection check",
        "mood": "calm",
        "cue": "a short connection check",
        "tempo": 90,
        "duration": 5.0,
        "seed": 1,
        "sample_rate": config["output"]["sample_rate"],
    }


def _check_audio(stage: str, config: dict, sample: bool) -> Result:
    from .audio.request import service_request
    from .audio.service import fetch_audio

    http = config[stage]["http"]
    notes = []
    down = reachable(http["url"], float(http["connect_timeout_s"]))
    target = mask_url(http["url"])
    if down:
        return Result(stage, "FAIL", target, [down, f"check {stage}.http.url and that the service runs"])
    notes += ["reachable", auth_note(http["token_env"])]
    if http.get("job", {}).get("mode") == "async":
        notes.append(f"asynchronous (polls {http['job']['status_url']} every {http['job']['poll_s']:g} s)")
    if not sample:
        return Result(stage, "OK", target, notes)
    context = _voice_context(config) if stage == "voice" else _music_context(config)
    log = io.StringIO()
    try:
        request = service_request(http, context, "the sample request", "config", f"{stage}.http")
        with tempfile.TemporaryDirectory(prefix="tower-check-") as tmp:
            info = fetch_audio(request, Path(tmp) / "reply", http, stage, f"{stage} sample", log)
    except TowerError as e:
        return Result(stage, "FAIL", target, notes + [f"sample request failed: {' '.join(str(e).split())}"])
    what = f"{info['seconds']:.2f} s of {info['codec']} audio"
    notes.append(f"sample ({SAMPLE_TEXT!r}): {what}" if stage == "voice" else f"sample (5 s cue): {what}")
    return Result(stage, "OK", target, notes)


def _check_knowledge_base(config: dict, sample: bool) -> Result:
    from .knowledge_base import KnowledgeBase

    settings = config["knowledge_base"]
    kb = KnowledgeBase(settings)
    down = reachable(settings["url"], float(settings["connect_timeout_s"]))
    if down:  # only `facts push` and `facts pull` need it: a warning, not a failure
        return Result(
            "knowledge base", "WARN", kb.display, [down, "check knowledge_base.url (needed by facts push/pull)"]
        )
    notes = ["reachable", auth_note(settings["token_env"])]
    if sample:
        try:
            resp = kb.client.send(
                "GET", f"{kb.base}/facts", "knowledge base sample", kb.origin, params={"limit": 1, "offset": 0}
            )
            total = resp.json().get("total")
        except (TowerError, ValueError, AttributeError) as e:
            return Result(
                "knowledge base", "FAIL", kb.display, notes + [f"sample request failed: {' '.join(str(e).split())}"]
            )
        notes.append(f"sample (GET /facts?limit=1): {total} fact(s) there")
    return Result("knowledge base", "OK", kb.display, notes)


def _check_database(config: dict, sample: bool, database: str | None, schema: str | None) -> Result:
    from .store import connect, resolve_url
    from .store.migrate import applied_versions, latest_version

    try:
        url = resolve_url(config, "story", database, schema)
    except TowerError as e:
        return Result("database", "FAIL", "(database URL)", [str(e)])
    try:
        db = connect(url)
    except TowerError as e:
        return Result("database", "FAIL", url.masked, [" ".join(str(e).split())])
    with db:
        notes = (
            ["reachable", "auth: as the URL or ~/.pgpass says (never shown)"]
            if url.dialect == "postgresql"
            else ["SQLite file"]
        )
        if url.dialect == "postgresql":
            notes.append(f"schema {url.schema}")
        if not sample:
            return Result("database", "OK", url.masked, notes)
        try:
            applied = applied_versions(db)
            if not applied:
                return Result(
                    "database", "FAIL", url.masked, notes + ["no Tower tables yet: run `tower-anime db init`"]
                )
            want = latest_version(db.dialect)
            counts = {t: db.value(f"SELECT count(*) AS n FROM {t}") for t in ("characters", "episodes", "facts")}
        except TowerError as e:
            return Result("database", "FAIL", url.masked, notes + [" ".join(str(e).split())])
        state = f"version {max(applied):04d}" + ("" if max(applied) >= want else f" (needs {want:04d}: run db init)")
        notes.append(
            f"sample: {state}, {counts['characters']} characters, {counts['episodes']} episode(s), "
            f"{counts['facts']} facts"
        )
        return Result("database", "OK" if max(applied) >= want else "FAIL", url.masked, notes)


def _check_comfyui(config: dict) -> Result:
    servers = config["comfyui"]["servers"]
    down = [d for d in (reachable(s, float(config["comfyui"]["timeouts"]["connect"])) for s in servers) if d]
    notes = [
        f"{len(servers) - len(down)}/{len(servers)} server(s) reachable",
        *down,
        "nodes and models are checked by the workflow's preflight when a run starts (comfyui.preflight)",
    ]
    return Result("comfyui", "FAIL" if down else "OK", ", ".join(mask_url(s) for s in servers), notes)


def check_services(
    config: dict, sample: bool = True, everything: bool = False, database: str | None = None, schema: str | None = None
) -> list[Result]:
    """One Result per service; those the config does not use are SKIP unless `everything`."""
    backends = config["backends"]
    uses = {
        "voice": backends["voice"] == "http",
        "music": backends["music"] == "http",
        "knowledge base": True,
        "database": database is not None or "database" in (config["story"]["source"], config["facts"]["source"]),
        "comfyui": "comfyui" in (backends["stills"], backends["clips"]),
    }
    results = []
    for name, used in uses.items():
        if not (used or everything):
            why = {
                "voice": "backends.voice is not http",
                "music": "backends.music is not http",
                "database": "story.source and facts.source are not database",
                "comfyui": "backends.stills and backends.clips are not comfyui",
            }[name]
            results.append(Result(name, "SKIP", "-", [f"not used ({why}); --all checks it anyway"]))
        elif name in ("voice", "music"):
            results.append(_check_audio(name, config, sample))
        elif name == "knowledge base":
            results.append(_check_knowledge_base(config, sample))
        elif name == "database":
            results.append(_check_database(config, sample, database, schema))
        else:
            results.append(_check_comfyui(config))
    return results
