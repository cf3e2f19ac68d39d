"""The ComfyUI wire protocol (HTTP + websocket), as the real server speaks it: HTTP routes,
the websocket's progress messages, history and /view. Nothing here knows about shots or Snakemake.

Failures are typed: Unreachable (no connection), Transient (connection reset, 5xx, the
websocket dropped: worth a retry), PromptRejected (400 from /prompt), ExecutionFailed /
OutOfMemory / Interrupted (from the websocket), JobTimeout.
"""
import json
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
import websocket

from .errors import (ComfyUIError, ExecutionFailed, Interrupted, JobTimeout, OutputGone, Transient, Unreachable,
                     execution_failed, prompt_rejected)

# How often a quiet websocket is backed up by a look at /history (a missed message, or a
# socket that is not the one the server routes our client_id to, must not hang a job).
POLL_SECONDS = 5.0


class ComfyUIClient:
    def __init__(self, url, connect_timeout=5.0, read_timeout=120.0, client_id=None):
        self.url = url.rstrip("/")
        self.client_id = client_id or uuid.uuid4().hex
        self.timeout = (connect_timeout, read_timeout)
        self.session = requests.Session()
        self.session.trust_env = False   # a proxy from the environment must not see local traffic

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
            raise Transient(f"connection to {self.url} failed during {method} {path}: {reason}") from e
        except requests.Timeout as e:
            raise Transient(f"{method} {self.url}{path}: no answer within {self.timeout[1]} s") from e
        if resp.status_code >= 500:
            raise Transient(f"{method} {self.url}{path} answered {resp.status_code}: {resp.text[:300].strip()}")
        return resp

    def _json(self, method, path, **kw):
        resp = self._request(method, path, **kw)
        if resp.status_code != 200:
            raise ComfyUIError(f"{method} {self.url}{path} answered {resp.status_code}: {resp.text[:300].strip()} "
                               "(is this a ComfyUI server, and a recent one?)")
        try:
            return resp.json()
        except ValueError:
            raise Transient(f"{method} {self.url}{path} answered something that is not JSON: {resp.text[:200]!r}") from None

    def system_stats(self):
        """The health check: versions and devices (GET /system_stats)."""
        return self._json("GET", "/system_stats")

    def object_info(self):
        return self._json("GET", "/object_info")

    def queue(self):
        """{"running": [prompt ids], "pending": [prompt ids]}."""
        q = self._json("GET", "/queue")
        return {"running": [item[1] for item in q.get("queue_running", [])],
                "pending": [item[1] for item in q.get("queue_pending", [])]}

    def history(self, prompt_id):
        """The finished history entry of a prompt, or None (unknown or not finished: `{}`)."""
        return self._json("GET", f"/history/{prompt_id}").get(prompt_id)

    def upload_image(self, path, name=None):
        """Upload an input image; returns the value for LoadImage's `image` input.

        Same content under the same name keeps the name; other content gets `name (1).png`,
        so the name the server answers is the one to use.
        """
        path = Path(path)
        with open(path, "rb") as f:
            resp = self._request("POST", "/upload/image",
                                 files={"image": (name or path.name, f, "image/png")},
                                 data={"type": "input", "overwrite": "false"})
        if resp.status_code != 200:
            raise ComfyUIError(f"upload of {path} to {self.url} answered {resp.status_code}: {resp.text[:200]!r}")
        body = resp.json()
        return f"{body['subfolder']}/{body['name']}" if body.get("subfolder") else body["name"]

    def submit(self, graph, prompt_id, template=None):
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

    def interrupt(self, prompt_id):
        """Stop our prompt if it runs and drop it if it waits, so the card is freed.
        Given a prompt_id, the server interrupts only that prompt, never someone else's."""
        quick = (2.0, 5.0)
        self._request("POST", "/interrupt", json={"prompt_id": prompt_id}, timeout=quick)
        self._request("POST", "/queue", json={"delete": [prompt_id]}, timeout=quick)

    def download(self, item, dest):
        """Stream one output file (`{"filename", "subfolder", "type"}` from history) to dest."""
        params = {"filename": item["filename"], "subfolder": item.get("subfolder", ""), "type": item.get("type", "output")}
        try:
            resp = self.session.get(self.url + "/view", params=params, timeout=self.timeout, stream=True)
        except requests.RequestException as e:
            raise Transient(f"download of {item['filename']} from {self.url} failed: {_reason(e)}") from e
        with resp:
            if resp.status_code == 404:
                raise OutputGone(f"{self.url} no longer has {params['subfolder']}/{params['filename']} (deleted on the server)")
            if resp.status_code >= 500:
                raise Transient(f"GET {self.url}/view answered {resp.status_code}")
            if resp.status_code != 200:
                raise Transient(f"GET {self.url}/view {params} answered {resp.status_code}")
            try:
                with open(dest, "wb") as f:
                    for chunk in resp.iter_content(1 << 20):
                        f.write(chunk)
            except requests.RequestException as e:
                raise Transient(f"download of {item['filename']} from {self.url} broke off: {_reason(e)}") from e

    # --- websocket --------------------------------------------------------------------

    def connect(self):
        """The websocket for our client_id; open it before submitting so no event is missed."""
        parts = urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        try:
            return websocket.create_connection(f"{scheme}://{parts.netloc}{parts.path}/ws?clientId={self.client_id}",
                                               timeout=self.timeout[0], enable_multithread=False)
        except ConnectionRefusedError as e:
            raise Unreachable(self.url, _reason(e)) from e
        except (OSError, websocket.WebSocketException) as e:
            raise Transient(f"websocket to {self.url} failed: {_reason(e)}") from e

    def follow(self, ws, prompt_id, graph, deadline, log, what):
        """Log the prompt's progress until it ends; return its history entry.

        Ends on `executing` with node null (history is stored by then), or when /history has
        the entry (checked whenever the socket is quiet). Errors arrive as `execution_error`.
        """
        classes = {k: v.get("class_type", "?") for k, v in graph.items()}
        last_check = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise JobTimeout(f"{what}: prompt {prompt_id} did not finish in time on {self.url}; "
                                 "raise comfyui.timeouts.job or look at the server's console")
            ws.settimeout(max(0.05, min(POLL_SECONDS, deadline - now)))
            try:
                opcode, data = ws.recv_data()
            except websocket.WebSocketTimeoutException:
                opcode, data = None, None
            except (websocket.WebSocketConnectionClosedException, OSError, websocket.WebSocketException) as e:
                raise Transient(f"lost the websocket to {self.url} while {what} ran (server restart?): {_reason(e)}") from e
            if opcode is None or time.monotonic() - last_check >= POLL_SECONDS:
                last_check = time.monotonic()
                entry = self.check_prompt(prompt_id)
                if entry is not None:
                    return entry
            if opcode != websocket.ABNF.OPCODE_TEXT:
                continue   # quiet, or a binary frame (a preview)
            msg = json.loads(data)
            kind, body = msg.get("type"), msg.get("data") or {}
            if body.get("prompt_id") not in (None, prompt_id):
                continue
            done = False
            if kind == "execution_start":
                print(f"comfyui: {what}: started on {self.url}", file=log, flush=True)
            elif kind == "execution_cached":
                nodes = body.get("nodes") or []
                if nodes and len(nodes) >= len(graph):
                    print(f"comfyui: {what}: identical graph, the server reuses its cached result", file=log, flush=True)
                elif nodes:
                    print(f"comfyui: {what}: {len(nodes)} node(s) cached", file=log, flush=True)
            elif kind == "executing":
                node = body.get("node")
                if node is not None:
                    print(f"comfyui: {what}: node {node} ({classes.get(node, '?')})", file=log, flush=True)
                elif body.get("prompt_id") == prompt_id:
                    done = True   # the last message of a run: history is stored by now
            elif kind == "progress":
                node = body.get("node")
                print(f"comfyui: {what}: node {node} ({classes.get(node, '?')}) step {body.get('value')}/{body.get('max')}",
                      file=log, flush=True)
            elif kind == "execution_success":
                done = True
            elif kind == "execution_error":
                raise execution_failed(body, self.url, what)
            elif kind == "execution_interrupted":
                raise Interrupted(f"{what}: prompt {prompt_id} was interrupted on {self.url} at node "
                                  f"{body.get('node_id')} ({body.get('node_type')}), not by Tower (the UI's Cancel?)")
            if done:
                entry = self._await_history(prompt_id)
                if entry is not None:
                    return entry

    def check_prompt(self, prompt_id):
        """The finished entry, None while the prompt waits or runs; Transient when the server
        has forgotten it (a restart empties the queue and the history)."""
        queued = self.queue()   # first the queue, then history: a prompt leaves the queue
        entry = self.history(prompt_id)   # only after its history entry is stored
        if entry and _finished(entry):
            return entry
        if prompt_id not in queued["running"] + queued["pending"]:
            raise Transient(f"{self.url} no longer knows prompt {prompt_id} (server restarted?)")
        return None

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


def history_error(entry, url, what):
    """The failure recorded in a finished history entry (when its websocket message was missed)."""
    status = entry.get("status") or {}
    if status.get("status_str") == "success":
        return None
    for event, data in status.get("messages") or []:
        if event == "execution_error":
            return execution_failed(data, url, what)
        if event == "execution_interrupted":
            return Interrupted(f"{what}: the prompt was interrupted on {url}")
    return ExecutionFailed(f"{what}: ComfyUI at {url} reports status {status.get('status_str')!r} without an error message")


def output_files(entry, node_id):
    """Files the save node wrote: `images` (SaveImage, core SaveVideo) or `gifs` (VHS)."""
    out = (entry.get("outputs") or {}).get(node_id) or {}
    return [item for key in ("images", "gifs", "videos") for item in out.get(key, [])
            if isinstance(item, dict) and item.get("type", "output") == "output" and item.get("filename")]


def _reason(exc):
    text = str(exc)
    for marker in ("Connection refused", "Connection reset", "Name or service not known", "timed out",
                   "Remote end closed", "Connection aborted"):
        if marker in text:
            return marker
    return text[:200] or type(exc).__name__
