"""The ComfyUI wire protocol (HTTP + websocket), as the real server speaks it: HTTP routes,
the websocket's progress messages, history and /view. Nothing here knows about shots or Snakemake.

Failures are typed: Unreachable (no connection), Transient (connection reset, 5xx, the
websocket dropped: worth a retry), PromptRejected (400 from /prompt), ExecutionFailed /
OutOfMemory / Interrupted (from the websocket), JobTimeout.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import requests
import websocket

from ..store.url import mask_url
from .errors import (
    ComfyUIError,
    ExecutionFailed,
    Interrupted,
    JobTimeout,
    OutputGone,
    Transient,
    Unreachable,
    execution_failed,
    prompt_rejected,
)

# How often a quiet websocket is backed up by a look at /history (a missed message, or a
# socket that is not the one the server routes our client_id to, must not hang a job).
POLL_SECONDS = 5.0
# While our prompt waits behind other clients' prompts, the queue position is logged when it
# changes and at least this often (a wait of 70 s behind another client's prompt was seen).
WAIT_LOG_SECONDS = 30.0

# Server versions that changed what a client can rely on (from the server's code):
# from 0.3.44 a prompt_id sent with POST /prompt is kept (before, the server makes its own,
# so the id in its answer is the one to follow); from 0.3.56 POST /interrupt with a
# prompt_id stops only that prompt (before, it stops whatever runs, another client's too).
PROMPT_ID_SINCE = (0, 3, 44)
TARGETED_INTERRUPT_SINCE = (0, 3, 56)


def server_version(stats: dict) -> tuple[int, ...] | None:
    """(major, minor, patch) from /system_stats' comfyui_version; None when not reported
    (servers older than the field count as old)."""
    text = str(((stats or {}).get("system") or {}).get("comfyui_version") or "")
    parts = re.findall(r"\d+", text)[:3]
    return tuple(int(x) for x in parts) if parts else None


def targets_interrupt(version: tuple[int, ...] | None) -> bool:
    """Whether POST /interrupt can name the one prompt to stop on a server of this version."""
    return version is not None and version >= TARGETED_INTERRUPT_SINCE


class ComfyUIClient:
    def __init__(self, url, connect_timeout=5.0, read_timeout=120.0, client_id=None, version=None):
        self.url = url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = (connect_timeout, read_timeout)
        self.version = version  # (major, minor, patch) from /system_stats, None: unknown (old)
        self.session = requests.Session()
        self.session.trust_env = False  # a proxy from the environment must not see local traffic

    # --- HTTP -------------------------------------------------------------------------

    def _request(self, method, path, timeout=None, **kw):
        """The response of any status below 500; Unreachable, Transient (5xx, reset) otherwise."""
        try:
            resp = self.session.request(method, self.url + path, timeout=timeout or self.timeout, **kw)
        except requests.ConnectTimeout as e:
            raise Unreachable(self.url, f"no answer within {self.timeout[0]} s") from e
        except requests.ConnectionError as e:
            reason = _reason(e)
            if "refused" in reason.lower() or "name or service" in reason.lower():
                raise Unreachable(self.url, reason) from e
            raise Transient(f"connection to {self.url} failed during {method} {path}: {reason}", down=True) from e
        except requests.Timeout as e:
            raise Transient(f"{method} {self.url}{path}: no answer within {self.timeout[1]} s") from e
        if resp.status_code >= 500:
            raise Transient(f"{method} {self.url}{path} answered {resp.status_code}: {resp.text[:300].strip()}")
        return resp

    def _json(self, method, path, **kw):
        resp = self._request(method, path, **kw)
        if resp.status_code != 200:
            raise ComfyUIError(
                f"{method} {self.url}{path} answered {resp.status_code}: {resp.text[:300].strip()} "
                "(is this a ComfyUI server, and a recent one?)"
            )
        try:
            return resp.json()
        except ValueError:
            raise Transient(
                f"{method} {self.url}{path} answered something that is not JSON: {resp.text[:200]!r}"
            ) from None

    def system_stats(self) -> dict[str, Any]:
        """The health check: versions and devices (GET /system_stats)."""
        return self._json("GET", "/system_stats")

    def object_info(self) -> dict[str, Any]:
        return self._json("GET", "/object_info")

    def queue(self) -> dict[str, Any]:
        """{"running": [prompt ids], "pending": [prompt ids], "ahead": {prompt id: prompts
        ahead of it}}. Pending prompts run in the order of their number (the answer's list is
        not sorted)."""
        q = self._json("GET", "/queue")
        running = [item[1] for item in q.get("queue_running", [])]
        pending = sorted(q.get("queue_pending", []), key=lambda item: item[0])
        ahead = {item[1]: len(running) + i for i, item in enumerate(pending)}
        return {"running": running, "pending": [item[1] for item in pending], "ahead": ahead}

    def free(self) -> None:
        """POST /free: unload the models and free the card's memory (the server does it when
        its worker is next idle, so before a prompt queued after this call)."""
        resp = self._request("POST", "/free", json={"unload_models": True, "free_memory": True})
        if resp.status_code != 200:
            raise ComfyUIError(f"POST {self.url}/free answered {resp.status_code}")

    def history(self, prompt_id: str) -> dict[str, Any] | None:
        """The finished history entry of a prompt, or None (unknown or not finished: `{}`)."""
        return self._json("GET", f"/history/{prompt_id}").get(prompt_id)

    def upload_image(self, path: Path | str, name: str | None = None) -> str:
        """Upload an input image; returns the value for LoadImage's `image` input.

        Same content under the same name keeps the name; other content gets `name (1).png`,
        so the name the server answers is the one to use.
        """
        path = Path(path)
        with open(path, "rb") as f:
            resp = self._request(
                "POST",
                "/upload/image",
                files={"image": (name or path.name, f, "image/png")},
                data={"type": "input", "overwrite": "false"},
            )
        if resp.status_code != 200:
            raise ComfyUIError(f"upload of {path} to {self.url} answered {resp.status_code}: {resp.text[:200]!r}")
        body = resp.json()
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else body["name"]

    def submit(self, graph: dict[str, Any], prompt_id: str, template: str | None = None) -> tuple[str, int | None]:
        """POST /prompt with our client_id (the websocket routes events by it)."""
        body = {"prompt": graph, "client_id": self.client_id, "prompt_id": prompt_id}
        resp = self._request("POST", "/prompt", json=body)
        if resp.status_code == 400:
            try:
                detail = resp.json()
            except ValueError:
                detail = {"error": {"type": "bad_request", "message": resp.text[:300]}}
            raise prompt_rejected(detail, self.url, template, graph)
        if resp.status_code != 200:
            raise Transient(f"POST {self.url}/prompt answered {resp.status_code}: {resp.text[:300]!r}")
        answer = resp.json()
        return answer.get("prompt_id", prompt_id), answer.get("number")

    def interrupt(self, prompt_id: str) -> bool:
        """Drop our prompt if it waits, and stop it if it runs where the server can stop one
        prompt (0.3.56 and later: POST /interrupt with its id stops only it). An older server
        would stop whatever runs, another client's prompt included, so it gets no /interrupt.
        True when an interrupt was sent. It takes effect at the next sampler step or node
        boundary, not at once (wait_stopped)."""
        quick = (2.0, 5.0)
        self._request("POST", "/queue", json={"delete": [prompt_id]}, timeout=quick)
        if not targets_interrupt(self.version):
            return False
        self._request("POST", "/interrupt", json={"prompt_id": prompt_id}, timeout=quick)
        return True

    def wait_stopped(self, prompt_id: str, seconds: float) -> bool:
        """True once the prompt neither runs nor waits on the server (within `seconds`)."""
        end = time.monotonic() + seconds
        while True:
            q = self.queue()
            if prompt_id not in q["running"] + q["pending"]:
                return True
            if time.monotonic() >= end:
                return False
            time.sleep(0.2)

    def download(self, item: dict[str, Any], dest: Path | str) -> None:
        """Stream one output file (`{"filename", "subfolder", "type"}` from history) to dest."""
        params = {
            "filename": item["filename"],
            "subfolder": item.get("subfolder", ""),
            "type": item.get("type", "output"),
        }
        try:
            resp = self.session.get(self.url + "/view", params=params, timeout=self.timeout, stream=True)
        except requests.RequestException as e:
            raise Transient(f"download of {item['filename']} from {self.url} failed: {_reason(e)}", down=True) from e
        with resp:
            if resp.status_code == 404:
                raise OutputGone(
                    f"{self.url} no longer has {params['subfolder']}/{params['filename']} (deleted on the server)"
                )
            if resp.status_code >= 500:
                raise Transient(f"GET {self.url}/view answered {resp.status_code}")
            if resp.status_code != 200:
                raise Transient(f"GET {self.url}/view {params} answered {resp.status_code}")
            try:
                with open(dest, "wb") as f:
                    for chunk in resp.iter_content(1 << 20):
                        f.write(chunk)
            except requests.RequestException as e:
                raise Transient(
                    f"download of {item['filename']} from {self.url} broke off: {_reason(e)}", down=True
                ) from e

    # --- websocket --------------------------------------------------------------------

    def connect(self) -> websocket.WebSocket:
        """The websocket for our client_id; open it before submitting so no event is missed."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        try:
            return websocket.create_connection(
                f"{scheme}://{parts.netloc}{parts.path}/ws?clientId={self.client_id}",
                timeout=self.timeout[0],
                enable_multithread=False,
            )
        except ConnectionRefusedError as e:
            raise Unreachable(self.url, _reason(e)) from e
        except (OSError, websocket.WebSocketException) as e:
            raise Transient(f"websocket to {self.url} failed: {_reason(e)}", down=True) from e

    def follow(
        self, ws: websocket.WebSocket, prompt_id: str, graph: dict[str, Any], deadline: float, log: TextIO, what: str
    ) -> dict[str, Any]:
        """Log the prompt's progress until it ends; return its history entry.

        Ends on `executing` with node null (history is stored by then), or when /history has
        the entry (checked whenever the socket is quiet). Errors arrive as `execution_error`.
        """
        classes = {k: v.get("class_type", "?") for k, v in graph.items()}
        last_check = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise JobTimeout(
                    f"{what}: prompt {prompt_id} did not finish in time on {self.url}; "
                    "raise comfyui.timeouts.job or look at the server's console"
                )
            ws.settimeout(max(0.05, min(POLL_SECONDS, deadline - now)))
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                opcode, data = None, None
            except (websocket.WebSocketConnectionClosedException, OSError, websocket.WebSocketException) as e:
                raise Transient(
                    f"lost the websocket to {self.url} while {what} ran (server restart?): {_reason(e)}", down=True
                ) from e
            if opcode is None or time.monotonic() - last_check >= POLL_SECONDS:
                last_check = time.monotonic()
                entry = self.check_prompt(prompt_id, log, what)
                if entry is not None:
                    return entry
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue  # quiet, or a binary frame (a preview)
            msg = json.loads(data)
            kind, body = msg.get("type"), msg.get("data") or {}
            if body.get("prompt_id") not in (None, prompt_id):
                continue
            done = False
            if kind == "execution_start":
                self._wait_state()["started"] = True
                print(f"comfyui: {what}: started on {mask_url(self.url)}", file=log, flush=True)
            elif kind == "execution_cached":
                nodes = body.get("nodes") or []
                if nodes and len(nodes) >= len(graph):
                    print(
                        f"comfyui: {what}: identical graph, the server reuses its cached result", file=log, flush=True
                    )
                elif nodes:
                    print(f"comfyui: {what}: {len(nodes)} node(s) cached", file=log, flush=True)
            elif kind == "executing":
                node = body.get("node")
                if node is not None:
                    print(f"comfyui: {what}: node {node} ({classes.get(node, '?')})", file=log, flush=True)
                elif body.get("prompt_id") == prompt_id:
                    done = True  # the last message of a run: history is stored by now
            elif kind == "progress":
                node = body.get("node")
                print(
                    f"comfyui: {what}: node {node} ({classes.get(node, '?')}) step {body.get('value')}/{body.get('max')}",
                    file=log,
                    flush=True,
                )
            elif kind == "execution_success":
                done = True
            elif kind == "execution_error":
                raise execution_failed(body, self.url, what)
            elif kind == "execution_interrupted":
                raise Interrupted(
                    f"{what}: prompt {prompt_id} was interrupted on {self.url} at node "
                    f"{body.get('node_id')} ({body.get('node_type')}), not by Tower (the UI's Cancel?)"
                )
            if done:
                entry = self._await_history(prompt_id)
                if entry is not None:
                    return entry

    def check_prompt(self, prompt_id: str, log: TextIO | None = None, what: str = "job") -> dict[str, Any] | None:
        """The finished entry, None while the prompt waits or runs; Transient when the server
        has forgotten it (a restart empties the queue and the history). With a log, a prompt
        that waits behind others logs how many are ahead (when it changes, and every
        WAIT_LOG_SECONDS)."""
        queued = self.queue()  # first the queue, then history: a prompt leaves the queue
        entry = self.history(prompt_id)  # only after its history entry is stored
        if entry and _finished(entry):
            return entry
        if prompt_id not in queued["running"] + queued["pending"]:
            raise Transient(f"{self.url} no longer knows prompt {prompt_id} (server restarted?)", down=True)
        if log is not None:
            self.log_position(queued, prompt_id, log, what)
        return None

    def _wait_state(self):
        if getattr(self, "waiting", None) is None:
            self.waiting = {"started": False, "ahead": None, "said": 0.0}
        return self.waiting

    def log_position(self, queued: dict[str, Any], prompt_id: str, log: TextIO, what: str) -> None:
        """`waiting: N prompt(s) ahead` while our prompt is pending (see check_prompt)."""
        state = self._wait_state()
        ahead = queued["ahead"].get(prompt_id)
        if ahead is None or state["started"]:
            return
        now = time.monotonic()
        if ahead != state["ahead"] or now - state["said"] >= WAIT_LOG_SECONDS:
            print(
                f"comfyui: {what}: waiting: {ahead} prompt(s) ahead on {mask_url(self.url)} (other clients' work)",
                file=log,
                flush=True,
            )
            state["ahead"], state["said"] = ahead, now

    def _await_history(self, prompt_id, seconds=10.0):
        end = time.monotonic() + seconds
        while True:
            entry = self.history(prompt_id)
            if entry and _finished(entry):
                return entry
            if time.monotonic() >= end:
                return None
            time.sleep(0.1)


def _finished(entry):
    status = entry.get("status") or {}
    return status.get("completed") or status.get("status_str") in ("success", "error")


def history_error(entry: dict[str, Any], url: str, what: str) -> ComfyUIError | None:
    """The failure recorded in a finished history entry (when its websocket message was missed)."""
    status = entry.get("status") or {}
    if status.get("status_str") == "success":
        return None
    for event, data in status.get("messages") or []:
        if event == "execution_error":
            return execution_failed(data, url, what)
        if event == "execution_interrupted":
            return Interrupted(f"{what}: the prompt was interrupted on {url}")
    return ExecutionFailed(
        f"{what}: ComfyUI at {url} reports status {status.get('status_str')!r} without an error message"
    )


def output_files(entry: dict[str, Any], node_id: str) -> list[dict[str, Any]]:
    """Files the save node wrote: `images` (SaveImage, core SaveVideo) or `gifs` (VHS)."""
    out = (entry.get("outputs") or {}).get(node_id) or {}
    return [
        item
        for key in ("images", "gifs", "videos")
        for item in out.get(key, [])
        if isinstance(item, dict) and item.get("type", "output") == "output" and item.get("filename")
    ]


def _reason(exc):
    text = str(exc)
    for marker in (
        "Connection refused",
        "Connection reset",
        "Name or service not known",
        "timed out",
        "Remote end closed",
        "Connection aborted",
    ):
        if marker in text:
            return marker
    return text[:200] or type(exc).__name__
