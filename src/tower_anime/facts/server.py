"""`tower-anime facts serve`: the facts knowledge base as a Model Context Protocol server on
stdio (the default) or over streamable HTTP (`--http`, on 127.0.0.1 unless told otherwise), so
an assistant reads and writes the same facts as the CLI and the workflow.

Tools: search_facts, list_facts, add_fact, character_sheet. Each call opens the database
afresh (cheap for SQLite, a few ms for PostgreSQL), so it always sees the latest facts and
holds no transaction between calls.

Bounded (Limits, from config `facts.server` or `facts serve` flags): the query's characters
and words, the results per search, the time per call (the database stops the statement) and
the bytes per message. Malformed JSON-RPC is answered by the layer in stdio.py on stdio, and
by the SDK's streamable HTTP transport over HTTP, where a body over max_message_bytes is
refused (413) before it is read, and a Host or Origin header other than the server's own
address is refused (403: DNS rebinding protection).
"""

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field

from ..errors import TowerError
from .context import fold, style_bible
from .files import make_fact
from .stdio import DEFAULT_MAX_MESSAGE_BYTES, INVALID_PARAMS
from .store import _WORD, add_facts, facts_about, list_facts, search_facts

if TYPE_CHECKING:
    from ..store.url import DatabaseURL

# extra time the server waits for a call beyond the database's own bound before it gives up
# on the call (the thread is left to finish; the database has stopped the statement by then)
GRACE_S = 2.0


@dataclass(frozen=True)
class Limits:
    """What one request may ask of the server (config `facts.server`; defaults in the schema)."""

    max_query_chars: int = 1000
    max_query_words: int = 32
    max_results: int = 50
    timeout_s: float = 10.0
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES

    @classmethod
    def from_config(cls, config: dict, **overrides: Any) -> "Limits":
        """The config's `facts.server` values, then the overrides that are not None."""
        section = (config.get("facts") or {}).get("server") or {}
        values = {f.name: section[f.name] for f in fields(cls) if f.name in section}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class InvalidArguments(TowerError):
    """A tool's arguments break a bound: answered as JSON-RPC -32602 Invalid params."""


INSTRUCTIONS = (
    "Facts about the Tower anime production: characters, style bible, models, services and "
    "workflow, as subject - predicate - object. Search before you add; adding a known fact "
    "changes nothing."
)


class FactsService:
    """The tools' logic, without the protocol: one method per tool, TowerError on bad input."""

    def __init__(self, url, config: dict, limits: Limits | None = None, characters: Callable[[], dict] | None = None):
        self.url = url
        self.config = config
        # the story's characters, from whoever runs the server (the CLI): the facts floor does
        # not reach up into the story's loading
        self.characters = characters or dict
        self.limits = limits or Limits()
        self._open = set()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _db(self, create=False) -> Iterator[Any]:
        """A connection for one call, closed at its end; interrupt_all() can stop its statement."""
        from ..store import connect

        with connect(self.url, create=create) as db:
            with self._lock:
                self._open.add(db)
            try:
                yield db
            finally:
                with self._lock:
                    self._open.discard(db)

    def interrupt_all(self) -> None:
        """Stop every statement in progress (the server is going away)."""
        with self._lock:
            for db in list(self._open):
                db.interrupt()

    def prepare(self) -> None:
        """Create or migrate the schema once at start: the server writes facts. On SQLite,
        WAL journal mode: readers then never block a writer (`facts add` while a search runs)."""
        from ..store import migrate

        with self._db(create=True) as db:
            migrate(db)
            if db.dialect == "sqlite":
                db.rows("PRAGMA journal_mode = WAL")

    def check_query(self, query: str) -> None:
        """InvalidArguments when the query is longer than the bounds allow (checked before any work)."""
        lim = self.limits
        if len(query) > lim.max_query_chars:
            raise InvalidArguments(
                f"search_facts: the query has {len(query)} characters; at most "
                f"{lim.max_query_chars} are allowed (facts.server.max_query_chars)"
            )
        words = 0
        for words, _ in enumerate(_WORD.finditer(query), 1):
            if words > lim.max_query_words:
                raise InvalidArguments(
                    f"search_facts: the query has more than {lim.max_query_words} words; "
                    f"at most {lim.max_query_words} are allowed (facts.server.max_query_words)"
                )

    def search(self, query: str, limit: int = 10) -> list[dict]:
        """Ranked search within the bounds: `limit` is capped at max_results."""
        self.check_query(query)
        if limit < 1:
            raise InvalidArguments(f"search_facts: limit must be at least 1, got {limit}")
        with self._db() as db:
            return search_facts(db, query, min(limit, self.limits.max_results), self.limits.timeout_s)

    def list(self, subject: str | None = None) -> list[dict[str, Any]]:
        with self._db() as db, db.deadline(self.limits.timeout_s):
            return list_facts(db, subject)

    def add(self, subject: str, predicate: str, obj: str, source: str = "mcp") -> dict[str, Any]:
        fact = make_fact(subject, predicate, obj, source or "mcp", where="add_fact arguments")
        with self._db() as db, db.deadline(self.limits.timeout_s):
            added = add_facts(db, [fact])
        return {"added": bool(added), "subject": fact.subject, "predicate": fact.predicate, "object": fact.object}

    def _characters(self):
        try:
            return self.characters()
        except TowerError:
            return {}  # no story here: facts alone still make a sheet

    def character_sheet(self, character: str) -> dict[str, Any]:
        characters = self._characters()
        key = fold(character)
        cid = next((c for c, v in characters.items() if key in (fold(c), fold(v["name"]))), None)
        subjects = {character} if cid is None else {cid, characters[cid]["name"]}
        style_subject = (self.config.get("facts") or {}).get("style_subject", "Style Bible")
        with self._db() as db, db.deadline(self.limits.timeout_s):
            facts = facts_about(db, subjects)
            style = style_bible(facts_about(db, [style_subject]), style_subject)
        if cid is None and not facts:
            raise TowerError(
                f"no character or fact subject {character!r}; characters in the story: "
                f"{sorted(v['name'] for v in characters.values())}"
            )
        sheet = {"id": cid, "name": characters[cid]["name"] if cid else character}
        if cid:
            c = characters[cid]
            sheet.update({k: c[k] for k in ("description", "palette", "voice", "lora", "reference_image") if k in c})
        sheet["facts"] = [
            {"predicate": f.predicate, "object": f.object} for f in sorted(facts, key=lambda f: (f.predicate, f.object))
        ]
        sheet["style"] = style
        return sheet


def build_server(service: FactsService) -> Any:
    """The MCP server (the SDK's MCPServer) with the four tools, bounded by service.limits."""
    import anyio
    import anyio.to_thread
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
    from mcp.shared.exceptions import MCPError
    from pydantic import ValidationError

    lim = service.limits

    class FactsServer(MCPServer):
        async def call_tool(self, name, arguments, context=None):
            """Bad arguments (an unknown tool, a wrong type, a bound broken) are JSON-RPC
            -32602 Invalid params; the SDK itself reports them as a tool result with isError."""
            if name not in TOOLS:
                raise MCPError(INVALID_PARAMS, f"Invalid params: unknown tool {name!r}; tools: {sorted(TOOLS)}")
            query = (arguments or {}).get("query")
            if name == "search_facts" and isinstance(query, str):
                try:  # before the schema's maxLength check, for a message that names the setting
                    service.check_query(query)
                except InvalidArguments as e:
                    raise MCPError(INVALID_PARAMS, f"Invalid params: {e}") from None
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as e:
                cause = e.__cause__
                if isinstance(cause, ValidationError) and not isinstance(e, UnexpectedToolError):
                    problems = "; ".join(
                        f"{'.'.join(str(p) for p in err['loc']) or '(arguments)'}: {err['msg']}"
                        for err in cause.errors()
                    )
                    raise MCPError(INVALID_PARAMS, f"Invalid params: {name} arguments: {problems}") from None
                raise

    server = FactsServer("tower-facts", instructions=INSTRUCTIONS)

    async def call(fn: Callable, *args: Any) -> Any:
        """Run one call in a worker thread, bounded in time; TowerError becomes the tool's error."""
        try:
            # the database stops the statement at lim.timeout_s; this bound catches the rest
            # (connecting, Python work) and abandons the thread rather than wait for it
            with anyio.fail_after(lim.timeout_s + GRACE_S):
                return await anyio.to_thread.run_sync(functools.partial(fn, *args), abandon_on_cancel=True)
        except InvalidArguments as e:
            raise MCPError(INVALID_PARAMS, f"Invalid params: {e}") from None
        except TowerError as e:
            raise ToolError(str(e)) from None  # the message reaches the client; no traceback
        except TimeoutError:
            raise ToolError(
                f"no answer within {lim.timeout_s + GRACE_S:g} s (facts.server.timeout_s "
                f"= {lim.timeout_s:g}); try fewer words or a smaller limit"
            ) from None

    @server.tool(
        description=(
            "Ranked full-text search over subject, predicate and object; best match first. "
            f"query: at most {lim.max_query_chars} characters and {lim.max_query_words} words. "
            f"limit: how many facts, at most {lim.max_results} (a larger limit gives {lim.max_results}). "
            f"A search that takes longer than {lim.timeout_s:g} s is stopped with an error."
        )
    )
    async def search_facts(
        query: Annotated[str, Field(max_length=lim.max_query_chars)], limit: Annotated[int, Field(ge=1)] = 10
    ) -> list[dict[str, Any]]:
        return await call(service.search, query, limit)

    @server.tool()
    async def list_facts(subject: str = "") -> list[dict[str, Any]]:
        """All facts, or those about one subject (any case)."""
        return await call(service.list, subject or None)

    @server.tool()
    async def add_fact(subject: str, predicate: str, object: str, source: str = "mcp") -> dict[str, Any]:
        """Add a fact (subject, predicate, object). A fact already known is not added twice."""
        return await call(service.add, subject, predicate, object, source)

    @server.tool()
    async def character_sheet(character: str) -> dict[str, Any]:
        """A character by id or name: description, palette, voice, LoRA, their facts and the style bible."""
        return await call(service.character_sheet, character)

    TOOLS = {"search_facts", "list_facts", "add_fact", "character_sheet"}
    return server


async def _serve_stdio(server: Any, service: FactsService) -> None:
    from mcp.server.stdio import stdio_server

    from .stdio import CheckedLines, LineWriter, wire

    source, out = wire()
    writer = LineWriter(out)
    try:
        async with stdio_server(
            stdin=CheckedLines(source, writer, service.limits.max_message_bytes), stdout=writer
        ) as (read_stream, write_stream):
            # MCPServer.run_stdio_async takes no streams; its low-level server is what it runs
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    finally:
        service.interrupt_all()  # input closed mid-call: stop the statement, exit now


def serve(
    url: "str | DatabaseURL", config: dict, limits: Limits | None = None, characters: Callable[[], dict] | None = None
) -> None:
    """Run until the client closes stdin. Nothing else may write to stdout: it is the protocol.
    characters(): the story's characters for the character_sheet tool."""
    import anyio

    service = FactsService(url, config, limits or Limits.from_config(config), characters)
    service.prepare()
    anyio.run(_serve_stdio, build_server(service), service)


def http_app(service: FactsService, host: str, port: int) -> Any:
    """The streamable HTTP app at /mcp: bounded body size, and only the server's own Host/Origin."""
    from mcp.server.transport_security import TransportSecuritySettings

    names = {host, "127.0.0.1", "localhost"} if host in ("127.0.0.1", "localhost") else {host}
    hosts = sorted(f"{name}:{port}" for name in names)
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=[f"http://{h}" for h in hosts]
    )
    return build_server(service).streamable_http_app(
        streamable_http_path="/mcp",
        max_request_body_size=service.limits.max_message_bytes,
        transport_security=security,
        host=host,
    )


def serve_http(
    url: "str | DatabaseURL",
    config: dict,
    limits: Limits | None = None,
    characters: Callable[[], dict] | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,
) -> None:
    """Serve MCP over streamable HTTP at http://host:port/mcp until interrupted. No
    authentication: keep it on 127.0.0.1 (the default) or behind something that adds it."""
    import sys

    import uvicorn

    service = FactsService(url, config, limits or Limits.from_config(config), characters)
    service.prepare()
    app = http_app(service, host, port)
    print(f"tower-facts: MCP over streamable HTTP at http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    try:
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)).run()
    finally:
        service.interrupt_all()
