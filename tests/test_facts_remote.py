"""Facts to and from the user's knowledge base (the Echo Brain double of tests/user_services.py,
on 127.0.0.1): push and pull, idempotent, --dry-run, 409, the token never shown; the MCP facts
server over streamable HTTP with its bounds; `services check`."""

import json
import subprocess
import sys
import urllib.request

import anyio
import pytest
from conftest import ROOT
from postgres_server import free_port
from user_services import AceStep, EchoBrain

from tower_anime.cli import main
from tower_anime.config import validate_config
from tower_anime.facts.files import Fact
from tower_anime.knowledge_base import KnowledgeBase

TOKEN = "kb-jwt-4e7a-secret"


@pytest.fixture
def kb(monkeypatch):
    monkeypatch.setenv("TOWER_KB_TOKEN", TOKEN)
    with EchoBrain(token=TOKEN) as service:
        yield service


def run(capsys, *args):
    code = main(["--config", str(ROOT / "tests" / "data" / "config.yaml"), *args])
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err
    return code, out.out, out.err


def test_push_is_idempotent_and_dry_run_sends_nothing(kb, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    url = kb.url("/api/knowledge")
    kb.add(
        "Luna Chen",
        "character_type",
        "AI researcher, silver hair, holographic tattoos, lab coat, conspiracy discoverer",
    )  # one they have already
    code, out, _ = run(capsys, "facts", "push", "--url", url, "--dry-run")
    assert code == 0 and "(dry run: nothing changed)" in out and not kb.calls("/api/knowledge/facts", "POST")
    would = out.count("\n  + ")
    code, out, _ = run(capsys, "facts", "push", "--url", url)
    assert code == 0 and f"{would} added" in out
    posts = kb.calls("/api/knowledge/facts", "POST")
    assert len(posts) == would and all(set(p[3]) == {"subject", "predicate", "object", "confidence"} for p in posts)
    assert all(p[2]["Authorization"] == f"Bearer {TOKEN}" for p in posts)
    code, out, _ = run(capsys, "facts", "push", "--url", url)
    assert code == 0 and " 0 added" in out and len(kb.calls("/api/knowledge/facts", "POST")) == would
    # the API's own 409 for a fact it holds counts as held, not as an error
    settings = validate_config({"knowledge_base": {"url": url}})["knowledge_base"]
    assert KnowledgeBase(settings).add(Fact("Luna Chen", "character_type", kb.facts[1]["object"]), 0.9) is False


def test_pull_into_the_facts_database_then_again_adds_nothing(kb, capsys, tmp_path):
    url, db = kb.url("/api/knowledge"), f"sqlite:///{tmp_path / 'f.db'}"
    for i in range(7):
        kb.add("Nexus Corp", "floor", f"floor {i} of the tower")
    kb.add("Nexus Corp", "motto", "x" * 1200)  # longer than Tower takes
    code, out, _ = run(capsys, "facts", "pull", "--url", url, "--database", db, "--dry-run")
    assert code == 0 and "7 would add" in out and "skipped: knowledge base fact 8: object" in out
    assert not (tmp_path / "f.db").exists()
    code, out, _ = run(capsys, "facts", "pull", "--url", url, "--database", db)
    assert code == 0 and "7 added" in out
    code, out, _ = run(capsys, "facts", "pull", "--url", url, "--database", db)
    assert code == 0 and "7 already there, 0 added" in out
    code, out, _ = run(capsys, "facts", "list", "--subject", "nexus corp", "--json", "--database", db)
    rows = json.loads(out)
    assert len(rows) == 7 and {r["source"] for r in rows} == {"knowledge base: api"}
    code, out, _ = run(capsys, "facts", "pull", "--url", url, "--to-file", str(tmp_path / "kb.yaml"))
    assert code == 0 and "7 fact(s), 1 skipped written to" in out and (tmp_path / "kb.yaml").is_file()


def test_paging_reads_every_fact(kb):
    for i in range(8):
        kb.add("S", "p", f"o{i}")
    settings = validate_config({"knowledge_base": {"url": kb.url("/api/knowledge"), "page_size": 3}})["knowledge_base"]
    assert len(KnowledgeBase(settings).facts()) == 8
    assert [c[1].split("offset=")[1] for c in kb.calls("/api/knowledge/facts?")] == ["0", "3", "6"]


def test_a_refused_token_names_the_variable_and_never_shows_it(kb, capsys, monkeypatch):
    monkeypatch.setenv("TOWER_KB_TOKEN", "wrong-" + TOKEN[::-1])
    code, _, err = run(capsys, "facts", "push", "--url", kb.url("/api/knowledge"), "--dry-run")
    assert code == 1 and "HTTP 401: Not authenticated" in err
    assert "the token in the environment variable TOWER_KB_TOKEN was refused" in err and TOKEN[::-1] not in err


# --- MCP over streamable HTTP ---------------------------------------------------------------


def test_mcp_facts_server_over_streamable_http(tmp_path):
    from mcp import Client

    port, db = free_port(), f"sqlite:///{tmp_path / 'mcp.db'}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tower_anime.cli",
            "--config",
            "tests/data/config.yaml",
            "facts",
            "serve",
            "--http",
            "--port",
            str(port),
            "--database",
            db,
            "--max-query-words",
            "3",
            "--max-message-bytes",
            "2048",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"at http://127.0.0.1:{port}/mcp" in proc.stderr.readline()
        url = f"http://127.0.0.1:{port}/mcp"
        for _ in range(100):  # until uvicorn listens
            try:
                urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=0.5)
            except urllib.error.HTTPError:
                break
            except OSError:
                anyio.run(anyio.sleep, 0.1)

        async def steps():
            async with Client(url) as client:
                added = await client.call_tool(
                    "add_fact", {"subject": "Luna Chen", "predicate": "prop", "object": "a cracked tablet"}
                )
                hits = await client.call_tool("search_facts", {"query": "cracked tablet"})
                too_many = None
                try:
                    await client.call_tool("search_facts", {"query": "one two three four"})
                except Exception as e:  # the SDK raises the JSON-RPC error
                    too_many = str(e)
                return added, hits, too_many

        added, hits, too_many = anyio.run(steps)
        assert added.structured_content["added"] is True
        assert hits.structured_content["result"][0]["object"] == "a cracked tablet"
        assert too_many and "more than 3 words" in too_many

        def post(body, host=f"127.0.0.1:{port}"):
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json, text/event-stream",
                    "Host": host,
                },
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        assert post(b"x" * 4096) == 413  # facts.server.max_message_bytes
        assert post(b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', host="evil.example:80") in (403, 421)
    finally:
        proc.terminate()
        proc.wait(10)


# --- services check --------------------------------------------------------------------------


def test_services_check_reports_each_service_and_masks_secrets(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("TOWER_KB_TOKEN", TOKEN)
    with EchoBrain(token=TOKEN) as echo, AceStep(work_s=0.3) as ace:
        cfg = tmp_path / "services.yaml"
        cfg.write_text(
            json.dumps(
                {
                    "backends": {"voice": "http", "music": "http"},
                    "voice": {
                        "http": {
                            "url": echo.url("/api/echo/voice/synthesize"),
                            "token_env": None,
                            "body": '{"text": {{ text|tojson }}, "speaker_id": {{ speaker_index }}, '
                            '"length_scale": {{ length_scale }}}',
                        }
                    },
                    "music": {
                        "http": {
                            **json.loads(
                                json.dumps(
                                    __import__("yaml").safe_load(
                                        (ROOT / "config" / "services" / "ace-step-music.yaml").read_text()
                                    )["music"]["http"]
                                )
                            ),
                            "url": ace.url("/generate"),
                        }
                    },
                    "knowledge_base": {"url": echo.url("/api/knowledge")},
                }
            )
        )
        # poll quickly in the test
        doc = json.loads(cfg.read_text())
        doc["music"]["http"]["job"]["poll_s"] = 0.1
        cfg.write_text(json.dumps(doc))
        echo.add("Tower Anime Production", "uses_video_model", "LTX Video 2B")
        code, out, _ = run(
            capsys,
            "services",
            "check",
            "--configfile",
            str(cfg),
            "--all",
            "--database",
            "postgresql://tower:s3cr3t-pw@127.0.0.1:1/tower",
        )
    print(out)
    lines = {
        line.split()[0] + (" " + line.split()[1] if line.startswith("knowledge") else ""): line
        for line in out.splitlines()
    }
    assert "OK" in lines["voice"] and "auth: none (token_env: null)" in lines["voice"]
    assert "sample ('Tower connection check.'):" in lines["voice"] and "pcm_s16le audio" in lines["voice"]
    assert "OK" in lines["music"] and "asynchronous" in lines["music"] and "sample (5 s cue):" in lines["music"]
    assert (
        "OK" in lines["knowledge base"] and "auth: bearer token from $TOWER_KB_TOKEN (set)" in lines["knowledge base"]
    )
    assert "1 fact(s) there" in lines["knowledge base"]
    assert "FAIL" in lines["database"] and "tower:***@127.0.0.1:1" in lines["database"]
    assert "s3cr3t-pw" not in out and code == 1
