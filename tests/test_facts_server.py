"""`tower-anime facts serve`: the MCP server spawned over stdio and driven by the SDK's own
client, on SQLite and on PostgreSQL."""
import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters

from conftest import ROOT

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
        cwd=str(ROOT), env={"PYTHONPATH": os.environ.get("PYTHONPATH", "")})
    async with Client(server) as client:
        return await steps(client)


def run(database_url, steps):
    return anyio.run(session, database_url, steps)


def test_tools_search_add_and_character_sheet(database_url, capsys):
    async def steps(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert {"search_facts", "add_fact", "character_sheet", "list_facts"} <= set(tools)
        assert tools["add_fact"].input_schema["required"] == ["subject", "predicate", "object"]

        added = result(await client.call_tool("add_fact", {"subject": "Luna Chen", "predicate": "signature_prop",
                                                           "object": "a cracked holographic tablet"}))
        again = result(await client.call_tool("add_fact", {"subject": "Luna Chen", "predicate": "signature_prop",
                                                           "object": "a cracked holographic tablet"}))
        await client.call_tool("add_fact", {"subject": "Style Bible", "predicate": "lens", "object": "35mm anamorphic"})
        await client.call_tool("add_fact", {"subject": "Viktor Kozlov", "predicate": "office",
                                            "object": "penthouse of the Nexus tower"})
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
