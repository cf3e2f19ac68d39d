"""JSON-RPC over stdio for the facts server: every line is checked before the `mcp` SDK sees it.

The SDK's stdio transport hands a line it cannot parse to its session as an exception, which
logs it and answers nothing (mcp 2.3; the `on_stream_exception` hook gets the exception but
not the line, so it cannot name the request's id). A client that sends such a line waits for
ever. This layer answers it as JSON-RPC 2.0 says instead:

- not UTF-8, or not JSON:                         -32700 Parse error, id null
- not one request object (a batch, a number, no or a wrong `jsonrpc`, a `method` that is
  not a string, `params` that are not an object, an id that is not a string or integer,
  a line longer than the bound):                  -32600 Invalid Request, with the id when
                                                  it can be read, else null

Lines that pass go to the SDK unchanged; its replies and these errors share one writer, so
lines never interleave. End of input ends the iteration, and so the server.
"""

import json
import os
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class LineWriter:
    """The wire: whole lines, one at a time (the SDK's replies and this layer's errors)."""

    def __init__(self, out: BinaryIO):
        self._out = out
        self._lock = anyio.Lock()

    def _write_line(self, text: str) -> None:
        self._out.write(text.encode("utf-8"))
        self._out.flush()

    async def write(self, text: str) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._write_line, text)

    async def flush(self) -> None:
        pass  # every write is flushed

    async def error(self, code: int, message: str, request_id: Any = None) -> None:
        reply = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
        await self.write(json.dumps(reply, ensure_ascii=False) + "\n")


def _readable_id(message: Any) -> Any:
    """The request's id when it is a valid one (string or integer), else None (null)."""
    if isinstance(message, dict):
        rid = message.get("id")
        if isinstance(rid, str) or (isinstance(rid, int) and not isinstance(rid, bool)):
            return rid
    return None


def check_message(message: Any) -> str | None:
    """What is wrong with the shape of one decoded JSON-RPC message (None: nothing)."""
    if isinstance(message, list):
        return "batches are not supported: send one JSON-RPC object per line"
    if not isinstance(message, dict):
        return f"expected a JSON-RPC object, got a JSON {type(message).__name__}"
    if message.get("jsonrpc") != "2.0":
        return 'the member "jsonrpc" must be exactly "2.0"'
    if "id" in message and _readable_id(message) is None and not ("method" not in message and message["id"] is None):
        return 'the member "id" must be a string or an integer'
    if "method" in message:
        if not isinstance(message["method"], str):
            return 'the member "method" must be a string'
        if "params" in message and not isinstance(message["params"], dict):
            return 'the member "params" must be an object'
        return None
    if "id" in message and ("result" in message) != ("error" in message):
        return None  # a client's reply to a server request
    return 'a request needs a "method" (a string)'


class CheckedLines:
    """The lines of `source` that are well-formed JSON-RPC messages, as text for the SDK;
    the others are answered on `writer` and dropped."""

    def __init__(self, source: BinaryIO, writer: LineWriter, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES):
        self._source = source
        self._writer = writer
        self._max = max_bytes

    def _read_line(self) -> tuple[bytes, bool]:
        """(line, too_long); b"" at end of input. An over-long line is read to its end and dropped."""
        line = self._source.readline(self._max + 1)
        if len(line) <= self._max or line.endswith(b"\n"):
            return line, False
        while line and not line.endswith(b"\n"):
            line = self._source.readline(1 << 16)
        return b"-", True

    async def _lines(self) -> AsyncIterator[str]:
        from mcp_types import jsonrpc_message_adapter

        while True:
            # abandon_on_cancel: a server stopping for another reason must not wait for input
            raw, too_long = await anyio.to_thread.run_sync(self._read_line, abandon_on_cancel=True)
            if not raw:
                return  # end of input: the session ends, and so the server
            if too_long:
                await self._writer.error(
                    INVALID_REQUEST,
                    f"Invalid Request: a message may be at most {self._max} bytes (facts.server.max_message_bytes)",
                )
                continue
            if not raw.strip():
                continue  # a blank line carries no message; nothing to answer
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                await self._writer.error(PARSE_ERROR, f"Parse error: not UTF-8 (byte {e.start})")
                continue
            try:
                message = json.loads(text)
            except ValueError as e:
                await self._writer.error(PARSE_ERROR, f"Parse error: {e}")
                continue
            problem = check_message(message)
            if problem is None:
                try:  # the SDK's own envelope check, so that nothing passed on is dropped there
                    jsonrpc_message_adapter.validate_python(message, by_name=False)
                except ValueError as e:
                    problem = f"not a JSON-RPC message: {str(e).splitlines()[0]}"
            if problem is not None:
                await self._writer.error(INVALID_REQUEST, f"Invalid Request: {problem}", _readable_id(message))
                continue
            yield text

    def __aiter__(self) -> AsyncIterator[str]:
        return self._lines()


def wire() -> tuple[BinaryIO, BinaryIO]:
    """(input, output) of the protocol: fd 0, and fd 1 taken for the protocol alone; fd 1 is
    pointed at stderr so that stray prints (a library's, a child's) cannot break a reply."""
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    return os.fdopen(os.dup(0), "rb"), out
