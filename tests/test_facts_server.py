"""`tower-anime facts serve`: the MCP server spawned over stdio and driven by the SDK's own
client, on SQLite and on PostgreSQL."""

import json
import os
import queue
import subprocess
import sys
import threading
import time

import anyio
import pytest
from conftest import ROOT
from mcp import Client, StdioServerParameters

from tower_anime.facts import add_facts, make_fact
from tower_anime.store import connect, migrate

CONFIG = ROOT / "tests" / "data" / "config.yaml"


def result(call):
    """A tool's structured result (the SDK wraps non-object results in {"result": ...})."""
    assert not call.is_error, call.content
    data = call.structured_content
    return data["result"] if set(data) == {"result"} else data


async def session(database_url, steps):
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tower_anime.cli", "--config", str(CONFIG), "facts", "serve", "--database", database_url],
        cwd=str(ROOT),
        env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    async with Client(server) as client:
        return await steps(client)


def run(database_url, steps):
    return anyio.run(session, database_url, steps)


def test_tools_search_add_and_character_sheet(database_url, capsys):
    async def steps(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"search_facts", "add_fact", "character_sheet", "list_facts"} <= set(tools)
        assert tools["add_fact"].input_schema["required"] == ["subject", "predicate", "object"]

        added = result(
            await client.call_tool(
                "add_fact",
                {"subject": "Luna Chen", "predicate": "signature_prop", "object": "a cracked holographic tablet"},
            )
        )
        again = result(
            await client.call_tool(
                "add_fact",
                {"subject": "Luna Chen", "predicate": "signature_prop", "object": "a cracked holographic tablet"},
            )
        )
        await client.call_tool("add_fact", {"subject": "Style Bible", "predicate": "lens", "object": "35mm anamorphic"})
        await client.call_tool(
            "add_fact", {"subject": "Viktor Kozlov", "predicate": "office", "object": "penthouse of the Nexus tower"}
        )
        hits = result(await client.call_tool("search_facts", {"query": "holographic tablet"}))
        sheet = result(await client.call_tool("character_sheet", {"character": "luna"}))
        by_name = result(await client.call_tool("character_sheet", {"character": "LUNA CHEN"}))
        listed = result(await client.call_tool("list_facts", {"subject": "viktor kozlov"}))
        missing = await client.call_tool("character_sheet", {"character": "nobody"})
        bad = await client.call_tool("add_fact", {"subject": " ", "predicate": "p", "object": "o"})
        return added, again, hits, sheet, by_name, listed, missing, bad

    added, again, hits, sheet, by_name, listed, missing, bad = run(database_url, steps)
    assert added["added"] is True and again["added"] is False
    assert hits[0]["subject"] == "Luna Chen" and hits[0]["object"] == "a cracked holographic tablet"
    # the sheet joins the story's character (tests/data/config.yaml -> config/characters.yaml) and her facts
    assert sheet["id"] == "luna" and sheet["name"] == "Luna Chen"
    assert sheet["palette"]["accent"] == "#b04dff" and sheet["voice"]["espeak_voice"] == "en-us+f3"
    assert sheet["facts"] == [{"predicate": "signature_prop", "object": "a cracked holographic tablet"}]
    assert sheet["style"] == [{"predicate": "lens", "object": "35mm anamorphic"}]
    assert by_name == sheet
    assert [(f["predicate"], f["object"]) for f in listed] == [("office", "penthouse of the Nexus tower")]
    assert missing.is_error and "no character or fact subject 'nobody'" in missing.content[0].text
    assert "Luna Chen" in missing.content[0].text
    assert bad.is_error and "add_fact arguments: subject: got ' '" in bad.content[0].text
    # the same knowledge as the CLI's
    from tower_anime.cli import main

    assert main(["facts", "search", "tablet", "--json", "--database", database_url]) == 0
    assert [(h["subject"], h["source"]) for h in json.loads(capsys.readouterr().out)] == [("Luna Chen", "mcp")]


# --- a raw client: lines in, lines out, as any MCP client speaks to the server -----------


class Raw:
    """`tower-anime facts serve` as a subprocess; raw lines written, replies read by id."""

    def __init__(self, database_url, *flags):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tower_anime.cli",
                "--config",
                str(CONFIG),
                "facts",
                "serve",
                "--database",
                database_url,
                *flags,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(ROOT),
            env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")},
        )
        self.replies = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.next_id = 100

    def _read(self):
        for line in self.proc.stdout:
            self.replies.put(json.loads(line))

    def send(self, raw: bytes):
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def reply(self, timeout=10):
        return self.replies.get(timeout=timeout)

    def request(self, method, params=None, timeout=10):
        self.next_id += 1
        self.send(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}).encode())
        got = self.reply(timeout)
        assert got["id"] == self.next_id, got
        return got

    def initialize(self):
        got = self.request(
            "initialize",
            {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
        )
        assert "result" in got, got
        self.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        return self

    def tool(self, name, arguments, timeout=10):
        return self.request("tools/call", {"name": name, "arguments": arguments}, timeout)

    def close(self):
        """Close stdin (EOF) and wait for the exit; its code and the seconds it took."""
        start = time.monotonic()
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return code, time.monotonic() - start


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'facts.db'}"


def tool_data(reply):
    assert "result" in reply and not reply["result"].get("isError"), reply
    data = reply["result"]["structuredContent"]
    return data["result"] if set(data) == {"result"} else data


def fill(database_url, n, words=30):
    """n facts that all share the same `words` words: every search for them is slow."""
    text = " ".join(f"w{i}" for i in range(words))
    with connect(database_url, create=True) as db:
        migrate(db)
        with db.transaction():
            db.execute(
                "INSERT INTO facts (subject, predicate, object, source, created) "
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                "SELECT 'Extra ' || i, 'note', ? || ' ' || i, 'test', '2024-01-01 00:00:00' FROM n",
                (n, text),
            )
    return text


def test_malformed_json_rpc_gets_the_error_the_specification_names(sqlite_url):
    raw = Raw(sqlite_url).initialize()
    cases = [
        (b"{not json", -32700, None),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"', -32700, None),  # cut short
        (b'\xff\xfe{"jsonrpc": "2.0", "id": 2, "method": "ping"}', -32700, None),  # not UTF-8
        (b"[]", -32600, None),
        (b'[{"jsonrpc": "2.0", "id": 3, "method": "ping"}]', -32600, None),  # batches: not in MCP
        (b'"ping"', -32600, None),
        (b'{"jsonrpc": "2.0", "id": 4}', -32600, 4),  # no method
        (b'{"id": 5, "method": "ping"}', -32600, 5),  # no jsonrpc
        (b'{"jsonrpc": "1.0", "id": 6, "method": "ping"}', -32600, 6),
        (b'{"jsonrpc": "2.0", "id": 7, "method": 42}', -32600, 7),
        (b'{"jsonrpc": "2.0", "id": 8, "method": "tools/list", "params": [1]}', -32600, 8),
        (b'{"jsonrpc": "2.0", "id": {"a": 1}, "method": "ping"}', -32600, None),  # unreadable id
    ]
    for line, code, rid in cases:
        raw.send(line)
        got = raw.reply()
        assert got["jsonrpc"] == "2.0" and got["id"] == rid and got["error"]["code"] == code, (line, got)
        assert got["error"]["message"].startswith("Parse error" if code == -32700 else "Invalid Request"), got
    wrong_type = raw.tool("search_facts", {"query": 5})
    assert wrong_type["error"]["code"] == -32602 and "query" in wrong_type["error"]["message"]
    missing = raw.tool("add_fact", {"subject": "Luna Chen"})
    assert missing["error"]["code"] == -32602 and "predicate" in missing["error"]["message"]
    unknown = raw.tool("no_such_tool", {})
    assert unknown["error"]["code"] == -32602 and "no_such_tool" in unknown["error"]["message"]
    assert raw.request("ping")["result"] == {}  # still serving
    assert raw.close()[0] == 0


def test_query_length_words_and_result_count_are_bounded(database_url):
    with connect(database_url, create=True) as db:
        migrate(db)
        add_facts(db, [make_fact("Luna Chen", f"note{i}", f"tablet {i}", "test") for i in range(8)])
    raw = Raw(database_url, "--max-results", "5").initialize()
    tools = {t["name"]: t for t in raw.request("tools/list")["result"]["tools"]}
    assert "at most 1000 characters and 32 words" in tools["search_facts"]["description"]
    assert "at most 5" in tools["search_facts"]["description"]

    start = time.monotonic()
    huge = raw.tool("search_facts", {"query": "tablet " * 1_500_000})  # 10.5 MB
    assert time.monotonic() - start < 5
    assert huge["error"]["code"] == -32602
    assert "10500000 characters; at most 1000" in huge["error"]["message"]
    assert "facts.server.max_query_chars" in huge["error"]["message"]
    wordy = raw.tool("search_facts", {"query": "a " * 40})
    assert wordy["error"]["code"] == -32602 and "more than 32 words" in wordy["error"]["message"]
    assert raw.tool("search_facts", {"query": "tablet", "limit": 0})["error"]["code"] == -32602

    assert len(tool_data(raw.tool("search_facts", {"query": "tablet", "limit": 1000}))) == 5  # capped
    assert len(tool_data(raw.tool("search_facts", {"query": "tablet", "limit": 2}))) == 2
    assert len(tool_data(raw.tool("search_facts", {"query": "tablet " * 32}))) == 5  # at the bound
    assert raw.close()[0] == 0


def test_a_slow_search_is_stopped_at_the_time_bound(database_url):
    words = fill(database_url, 100_000)
    raw = Raw(database_url, "--timeout", "0.02").initialize()
    start = time.monotonic()
    slow = raw.tool("search_facts", {"query": words})
    took = time.monotonic() - start
    assert slow["result"]["isError"], slow
    assert "stopped after 0.02 s (the time bound)" in slow["result"]["content"][0]["text"]
    assert took < 2.5, took  # the bound plus the server's grace
    # the database is left usable: a quick call right after works
    assert tool_data(raw.tool("add_fact", {"subject": "Luna Chen", "predicate": "p", "object": "o"}))["added"]
    assert raw.close()[0] == 0


def test_a_writer_is_not_blocked_by_a_search_and_eof_ends_the_server(sqlite_url):
    words = fill(sqlite_url, 200_000)
    raw = Raw(sqlite_url, "--timeout", "60").initialize()
    # warm up, and measure how long the search takes
    start = time.monotonic()
    assert tool_data(raw.tool("search_facts", {"query": words, "limit": 1}, timeout=60))
    search_s = time.monotonic() - start
    assert search_s > 0.4, f"the search took only {search_s:.2f} s: too fast to overlap a writer"

    raw.next_id += 1
    raw.send(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": raw.next_id,
                "method": "tools/call",
                "params": {"name": "search_facts", "arguments": {"query": words}},
            }
        ).encode()
    )
    time.sleep(0.1 * search_s)
    start = time.monotonic()
    with connect(sqlite_url) as db:  # another connection, writing while the search reads
        db.conn.execute("PRAGMA busy_timeout = 0")  # fail at once if the file is locked
        assert add_facts(db, [make_fact("Luna Chen", "rides", "a tram", "writer")]) == 1
    write_s = time.monotonic() - start
    assert raw.replies.empty(), "the search answered before the writer finished: no overlap shown"
    assert write_s < 0.5 * search_s, (write_s, search_s)
    assert tool_data(raw.reply(timeout=60))

    # input closed while a search is running: the server stops it and exits at once
    raw.send(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 999,
                "method": "tools/call",
                "params": {"name": "search_facts", "arguments": {"query": words}},
            }
        ).encode()
    )
    time.sleep(0.1 * search_s)
    code, took = raw.close()
    assert code == 0 and took < 3, (code, took, raw.proc.stderr.read()[-2000:])


def test_eof_on_an_idle_server_exits_promptly(sqlite_url):
    raw = Raw(sqlite_url).initialize()
    code, took = raw.close()
    assert code == 0 and took < 3, (code, took)
