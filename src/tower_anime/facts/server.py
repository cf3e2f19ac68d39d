"""`tower-anime facts serve`: the facts knowledge base as a Model Context Protocol server on
stdio, so an assistant reads and writes the same facts as the CLI and the workflow.

Tools: search_facts, list_facts, add_fact, character_sheet. Each call opens the database
afresh (cheap for SQLite, a few ms for PostgreSQL) and so always sees the latest facts.
"""
from typing import Any

from ..errors import TowerError
from .context import fold, style_bible
from .files import make_fact
from .store import add_facts, facts_about, list_facts, search_facts

INSTRUCTIONS = ("Facts about the Tower anime production: characters, style bible, models, services and "
                "workflow, as subject - predicate - object. Search before you add; adding a known fact "
                "changes nothing.")


class FactsService:
    """The tools' logic, without the protocol: one method per tool, TowerError on bad input."""

    def __init__(self, url, config):
        self.url = url
        self.config = config

    def _db(self, create=False):
        from ..store import connect

        return connect(self.url, create=create)

    def prepare(self):
        """Create or migrate the schema once at start: the server writes facts."""
        from ..store import migrate

        with self._db(create=True) as db:
            migrate(db)

    def search(self, query, limit=10):
        with self._db() as db:
            return search_facts(db, query, max(1, min(int(limit), 100)))

    def list(self, subject=None):
        with self._db() as db:
            return list_facts(db, subject)

    def add(self, subject, predicate, obj, source="mcp"):
        fact = make_fact(subject, predicate, obj, source or "mcp", where="add_fact arguments")
        with self._db() as db:
            added = add_facts(db, [fact])
        return {"added": bool(added), "subject": fact.subject, "predicate": fact.predicate, "object": fact.object}

    def _characters(self):
        from ..story.source import load_configured_story

        try:
            return load_configured_story(self.config).characters
        except TowerError:
            return {}  # no story here: facts alone still make a sheet

    def character_sheet(self, character):
        characters = self._characters()
        key = fold(character)
        cid = next((c for c, v in characters.items() if key in (fold(c), fold(v["name"]))), None)
        subjects = {character} if cid is None else {cid, characters[cid]["name"]}
        style_subject = (self.config.get("facts") or {}).get("style_subject", "Style Bible")
        with self._db() as db:
            facts = facts_about(db, subjects)
            style = style_bible(facts_about(db, [style_subject]), style_subject)
        if cid is None and not facts:
            raise TowerError(f"no character or fact subject {character!r}; characters in the story: "
                             f"{sorted(v['name'] for v in characters.values())}")
        sheet = {"id": cid, "name": characters[cid]["name"] if cid else character}
        if cid:
            c = characters[cid]
            sheet.update({k: c[k] for k in ("description", "palette", "voice", "lora", "reference_image") if k in c})
        sheet["facts"] = [{"predicate": f.predicate, "object": f.object}
                          for f in sorted(facts, key=lambda f: (f.predicate, f.object))]
        sheet["style"] = style
        return sheet


def build_server(service):
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("tower-facts", instructions=INSTRUCTIONS)

    def call(fn, *args):
        try:
            return fn(*args)
        except TowerError as e:
            raise ToolError(str(e)) from None  # the message reaches the client; no traceback

    @server.tool()
    def search_facts(query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Ranked full-text search over subject, predicate and object; best match first."""
        return call(service.search, query, limit)

    @server.tool()
    def list_facts(subject: str = "") -> list[dict[str, Any]]:
        """All facts, or those about one subject (any case)."""
        return call(service.list, subject or None)

    @server.tool()
    def add_fact(subject: str, predicate: str, object: str, source: str = "mcp") -> dict[str, Any]:
        """Add a fact (subject, predicate, object). A fact already known is not added twice."""
        return call(service.add, subject, predicate, object, source)

    @server.tool()
    def character_sheet(character: str) -> dict[str, Any]:
        """A character by id or name: description, palette, voice, LoRA, their facts and the style bible."""
        return call(service.character_sheet, character)

    return server


def serve(url, config):
    """Run until the client closes stdin. Nothing else may write to stdout: it is the protocol."""
    service = FactsService(url, config)
    service.prepare()
    build_server(service).run("stdio")
