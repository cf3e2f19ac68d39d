"""Run-time half of the HTTP audio backends: send a job's request, read the audio it answers.

The request (URL, method, headers, rendered JSON body, how to read the reply) comes from the
job's spec (see request.py). Transport settings come from config at run time: `timeout_s`,
`connect_timeout_s`, `retries`, `backoff_s` and `token_env`, the name of the environment
variable holding the bearer token. The token is never logged: every message that could carry
it (a service echoing the header back included) is masked.

Faults: a refused connection, a timeout, a transfer cut short, HTTP 5xx, 408 and 429 are
retried with exponential backoff (Retry-After honoured up to the cap); 401/403 and other 4xx
fail at once with the service's own message. The reply is only read here; verify.py decodes
it with FFmpeg before anything is accepted.

Asynchronous services (`job.mode: async`): the request submits a task and the reply names it;
its status route is polled every `job.poll_s` until the status is one of `job.done` (the
reply settings then read the finished status document) or `job.failed` (the job fails with
the service's message), for at most `job.wait_s`. While polling, a service that is down or
answers 5xx is waited for (it may be restarting); a status route that no longer knows the
task (404: a restarted service forgot it) gets the task submitted again, `job.resubmits`
times. Ctrl-C (or SIGTERM) while waiting cancels the task through `job.cancel_url` when the
service has such a route, and says that the task was left running when it has not.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import signal
import threading
import time
from collections.abc import Container
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import SplitResult, quote, urljoin, urlsplit

import requests

from ..errors import ServiceError
from ..store.url import mask_urls_in

MAX_BACKOFF_S = 30.0
MAX_MESSAGE = 300  # characters of a service's error text quoted in our messages
RETRY_STATUS = {408, 429}  # besides every 5xx
HEARTBEAT_S = 30.0  # a waiting task is logged at least this often
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
TEXTUAL = re.compile(r"^(text/|application/(json|problem\+json|xml|xhtml|javascript))|[+/]json\b|html", re.I)


class Masker:
    """Replaces the secret with *** in any text (a service may echo the header back)."""

    def __init__(self, secret):
        self.secret = secret or None

    def __call__(self, text):
        text = mask_urls_in(text)  # a user:password@ in a URL the message quotes
        return text.replace(self.secret, "***") if self.secret else text


def json_pointer(doc: Any, pointer: str) -> Any:
    """RFC 6901: '' is the document, '/a/0/b~1c' is doc['a'][0]['b/c']. KeyError names the missing part."""
    if pointer == "":
        return doc
    node = doc
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise KeyError(f"no item {part!r} in a list of {len(node)}")
            node = node[int(part)]
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(f"no field {part!r} (fields there: {', '.join(sorted(node)) or 'none'})")
            node = node[part]
        else:
            raise KeyError(f"{part!r} is inside a {type(node).__name__}, not an object")
    return node


def fill_url(template: str, doc: dict, what: str, key: str) -> str:
    """A URL template with each {name} (a field of `doc`) or {/a/b} (a JSON pointer into it)
    replaced by its value, percent-encoded: /status/{task_id} -> /status/7f3a."""

    def value(m):
        name = m.group(1)
        try:
            found = json_pointer(doc, name if name.startswith("/") else "/" + name)
        except KeyError as e:
            raise ServiceError(
                f"{what}: {key} is {template!r}, and the reply has nothing for {{{name}}}: {e.args[0]}"
            ) from None
        if isinstance(found, (dict, list)) or found is None:
            raise ServiceError(f"{what}: {key} is {template!r}, and the reply's {name} is {found!r}, not a value")
        return quote(str(found), safe="")

    return _PLACEHOLDER.sub(value, template)


def _content_type(resp):
    return resp.headers.get("Content-Type", "").split(";")[0].strip().lower()


def _snippet(resp, mask):
    """The service's own words: a JSON error field, else the start of the text body."""
    try:
        doc = resp.json()
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        for key in ("error", "message", "detail", "title", "description"):
            if doc.get(key):
                value = doc[key]
                text = value if isinstance(value, str) else str(value)
                break
        else:
            text = resp.text
    else:
        text = resp.text if TEXTUAL.search(_content_type(resp)) or not resp.content else f"<{len(resp.content)} bytes>"
    text = " ".join(mask(text).split())
    return text[:MAX_MESSAGE] + ("..." if len(text) > MAX_MESSAGE else "") or "(no message)"


def _connection_cause(exc):
    found = re.search(r"\[Errno -?\d+\] [^'\")]+", str(exc))
    return found.group(0).strip() if found else type(exc).__name__


def _cut_cause(exc):
    found = re.search(r"IncompleteRead\([^)]*\)|InvalidChunkLength\([^)]*\)", str(exc))
    return found.group(0) if found else type(exc).__name__


def _retry_after(resp):
    value = resp.headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


class ServiceClient:
    """One service (voice or music) as config describes it: transport settings, token, messages."""

    def __init__(self, transport, stage, log=None, environ=None, key=None):
        environ = os.environ if environ is None else environ
        self.stage = stage  # "voice" or "music": names the service in messages
        self.key = key or f"{stage}.http"  # the config section, named in messages
        self.transport = transport
        self.token_env = transport.get("token_env")
        token = environ.get(self.token_env) if self.token_env else None
        self.token = token.strip() if token else None
        self.mask = Masker(self.token)
        self.log = log
        self.session = requests.Session()
        # no proxies, no ~/.netrc: netrc credentials would replace our Authorization header,
        # and a proxy from the environment would carry the request (and token) elsewhere
        self.session.trust_env = False

    def _say(self, text):
        if self.log is not None:
            print(self.mask(text), file=self.log, flush=True)

    def _auth_headers(self, url, origin):
        if not self.token:
            return {}
        # the token goes to the service's own origin only, never to a URL a reply points at elsewhere
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
            return {}
        return {"Authorization": f"Bearer {self.token}"}

    def _auth_hint(self):
        key = f"{self.key}.token_env"
        if not self.token_env:
            return (
                f"the service wants a bearer token: set {key} to the name of an environment "
                "variable and put the token in that variable"
            )
        if not self.token:
            return f"set the environment variable {self.token_env} to the service's bearer token (it is not set; {key} names it)"
        return f"the token in the environment variable {self.token_env} was refused; set it to a valid token"

    def attempt(
        self,
        method: str,
        url: str,
        what: str,
        origin: SplitResult,
        accept: Container[int] = (),
        note: str = "",
        **kwargs: Any,
    ) -> tuple[requests.Response | None, str | None]:
        """One request: (response, None) for a 2xx or an `accept`ed status, (None or the response,
        what went wrong) for a fault worth retrying; ServiceError for one that is not."""
        t = self.transport
        headers = {**kwargs.pop("headers", {}), **self._auth_headers(url, origin)}
        started = time.monotonic()
        try:
            resp = self.session.request(
                method,
                url,
                headers=headers,
                allow_redirects=True,
                timeout=(t["connect_timeout_s"], t["timeout_s"]),
                **kwargs,
            )
        except requests.ConnectTimeout:
            return None, f"no connection within {t['connect_timeout_s']} s (connect_timeout_s)"
        except requests.Timeout:
            return None, f"no answer within {t['timeout_s']} s (timeout_s)"
        except requests.ConnectionError as e:
            return None, f"could not connect ({_connection_cause(e)})"
        except requests.exceptions.ChunkedEncodingError as e:
            return None, f"the reply was cut off in transfer ({_cut_cause(e)})"
        except requests.RequestException as e:  # a bad URL and the like: retrying cannot help
            raise ServiceError(f"{what}: {self.mask(e)}; check {self.key}.url") from None
        took = time.monotonic() - started
        self._say(
            f"{method} {url} -> HTTP {resp.status_code}, {len(resp.content)} bytes, {took:.2f} s"
            + (f" ({note})" if note else "")
        )
        status = resp.status_code
        if status < 300 or status in accept:
            return resp, None
        message = _snippet(resp, self.mask)
        if status in (401, 403):
            raise ServiceError(
                f"{what}: the service refused the request (HTTP {status}: {message}); {self._auth_hint()}"
            )
        if status < 500 and status not in RETRY_STATUS:
            fix = (
                f"check {self.key}.url and method"
                if status in (404, 405)
                else f"check {self.key}.body and the story fields it uses"
            )
            raise ServiceError(f"{what}: the service rejected the request (HTTP {status}: {message}); {fix}")
        return resp, f"HTTP {status}: {message}"

    def send(
        self, method: str, url: str, what: str, origin: SplitResult, accept: Container[int] = (), **kwargs: Any
    ) -> requests.Response:
        """One request with retries; returns a 2xx (or `accept`ed) response or raises ServiceError."""
        t = self.transport
        attempts = int(t["retries"]) + 1
        last = "no attempt made"
        for attempt in range(1, attempts + 1):
            resp, last = self.attempt(
                method, url, what, origin, accept, f"attempt {attempt}/{attempts}", **dict(kwargs)
            )
            if last is None:
                return resp
            self._say(f"{method} {url} failed (attempt {attempt}/{attempts}): {last}")
            if attempt < attempts:
                delay = min(MAX_BACKOFF_S, t["backoff_s"] * 2 ** (attempt - 1))
                wait = _retry_after(resp) if resp is not None else None
                if wait is not None:
                    delay = max(delay, min(wait, MAX_BACKOFF_S))
                time.sleep(delay)
        raise ServiceError(
            f"{what}: {method} {url} failed {attempts} time(s); last: {self.mask(last)}. "
            f"Is the {self.stage} service running there? Check {self.key}.url, "
            f"raise {self.key}.retries/timeout_s"
            + (f", or use an embedded backend (backends.{self.stage})" if self.stage in ("voice", "music") else "")
        )

    # ------------------------------------------------------------------ replies

    def fetch(self, request: dict[str, Any], dest: Path | str, what: str) -> dict[str, Any]:
        """Send the spec's request (and, for an asynchronous service, wait for its task); write
        the audio it answers to `dest` (a scratch file).

        Returns {"content_type", "bytes", "source"} for the log. Nothing is checked here
        beyond the transfer and the reply's shape: verify.py decodes the file.
        """
        origin = urlsplit(request["url"])
        kwargs = {"headers": dict(request.get("headers", {}))}
        if request["method"] == "GET":
            body = request["body"]
            kwargs["params"] = (
                {k: v if isinstance(v, str) else _param(v) for k, v in body.items()} if isinstance(body, dict) else None
            )
        else:
            kwargs["json"] = request["body"]
        reply = request["reply"]
        kind = reply["type"]
        job = self.transport.get("job") or {}
        if job.get("mode") == "async":
            if kind == "audio":
                raise ServiceError(
                    f"{what}: {self.key}.job.mode is async, and a finished task's status is JSON; "
                    f"set {self.key}.reply.type to base64, url or path (and reply.pointer or "
                    "reply.url) to say where the audio is"
                )
            doc = self.run_task(request, what, origin, kwargs)
            data, ctype, source = self._from_document(doc, request, what, origin)
        else:
            resp = self.send(request["method"], request["url"], what, origin, **kwargs)
            if kind == "audio":
                data, ctype, source = self._audio_body(resp, what), _content_type(resp), "body"
            else:
                data, ctype, source = self._from_document(
                    self._json(resp, what, f"{kind} audio"), request, what, origin
                )
        Path(dest).write_bytes(data)
        info = {"content_type": ctype, "bytes": len(data), "source": self.mask(source)}
        self._say(f"{what}: {len(data)} bytes of reply audio from {info['source']}")
        return info

    def _from_document(self, doc, request, what, origin):
        """(audio bytes, content type, source) from a JSON reply, as reply settings say."""
        reply = request["reply"]
        kind, pointer = reply["type"], reply["pointer"]
        if kind == "url" and reply.get("url"):
            value = fill_url(reply["url"], doc, what, f"{self.key}.reply.url")
            where = f"{self.key}.reply.url"
        else:
            value = self._field_of(doc, pointer, what)
            where = f"the reply's {pointer}"
        if kind == "base64":
            return _b64(value, what, pointer), "", f"base64 at {pointer}"
        if kind == "url":
            url = urljoin(request["url"], value)
            if urlsplit(url).scheme not in ("http", "https"):
                raise ServiceError(
                    f"{what}: {where} is {value!r}, not an http(s) URL; "
                    f"if it is a file path, set {self.key}.reply.type: path"
                )
            got = self.send("GET", url, what + " (audio download)", origin)
            return self._audio_body(got, what), _content_type(got), url
        return _read_path(value, what, pointer, self.key), "", value

    # ------------------------------------------------------------------ asynchronous tasks

    def run_task(self, request: dict[str, Any], what: str, origin: SplitResult, kwargs: dict[str, Any]) -> Any:
        """Submit the task and wait for it; the finished status document. Resubmits a task the
        service forgot (job.resubmits times); cancels it on Ctrl-C where the service allows."""
        job = self.transport["job"]
        for submission in range(int(job["resubmits"]) + 1):
            resp = self.send(request["method"], request["url"], what, origin, **dict(kwargs))
            submitted = self._json(resp, what, "a task")
            try:
                task_id = json_pointer(submitted, job["task_id"])
            except KeyError as e:
                raise ServiceError(
                    f"{what}: the service's answer names no task at {job['task_id']}: {e.args[0]}; "
                    f"set {self.key}.job.task_id to the field holding the task's id, or "
                    f"job.mode: sync if the service answers the audio at once"
                ) from None
            if isinstance(task_id, (dict, list)) or task_id in (None, ""):
                raise ServiceError(f"{what}: the service's {job['task_id']} is {task_id!r}, not a task id")
            context = {**submitted, "task_id": task_id} if isinstance(submitted, dict) else {"task_id": task_id}
            self._say(f"{what}: submitted, task {task_id}" + (f" (submission {submission + 1})" if submission else ""))
            doc = self._interruptible(self._poll, task_id, context, request, what, origin)
            if doc is not None:
                return doc
            if submission < int(job["resubmits"]):
                self._say(f"{what}: the service no longer knows task {task_id} (restarted?); submitting it again")
        raise ServiceError(
            f"{what}: the service forgot the task {int(job['resubmits']) + 1} time(s) (its status "
            f"route answered 404 for a task it had accepted); is it restarting? Check the service, "
            f"or raise {self.key}.job.resubmits"
        )

    def _interruptible(self, fn, task_id, context, request, what, origin):
        """fn(...) with Ctrl-C, and SIGTERM as Ctrl-C, cancelling the task (when the service can)."""
        previous = None
        if threading.current_thread() is threading.main_thread():

            def stop(signum, frame):
                raise KeyboardInterrupt

            previous = signal.signal(signal.SIGTERM, stop)
        try:
            return fn(task_id, context, request, what, origin)
        except KeyboardInterrupt:
            self.cancel(task_id, context, request, what, origin)
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def cancel(
        self,
        task_id: Any,
        context: dict[str, Any],
        request: dict[str, Any],
        what: str,
        origin: SplitResult,
        why: str = "interrupted",
    ) -> bool:
        """Ask the service to cancel the task (job.cancel_url); True when it said yes."""
        job = self.transport["job"]
        if not job.get("cancel_url"):
            self._say(
                f"{what}: {why}; task {task_id} is left running on the service "
                f"({self.key}.job.cancel_url is not set: the service has no cancel route that Tower knows)"
            )
            return False
        url = urljoin(request["url"], fill_url(job["cancel_url"], context, what, f"{self.key}.job.cancel_url"))
        try:
            resp, problem = self.attempt(job["cancel_method"], url, what + " (cancel)", origin, accept=(404, 409))
        except ServiceError as e:
            resp, problem = None, str(e)
        ok = problem is None and resp is not None and resp.status_code < 300
        self._say(
            f"{what}: {why}; "
            + (
                f"task {task_id} cancelled"
                if ok
                else f"cancelling task {task_id} failed ({problem or f'HTTP {resp.status_code}'}); it may still run"
            )
        )
        return ok

    def _poll(self, task_id, context, request, what, origin):
        """The finished status document, or None when the service forgot the task (404)."""
        job = self.transport["job"]
        url = urljoin(request["url"], fill_url(job["status_url"], context, what, f"{self.key}.job.status_url"))
        done, failed = {str(v) for v in job["done"]}, {str(v) for v in job["failed"]}
        started = time.monotonic()
        deadline = started + float(job["wait_s"])
        state, said, polls, trouble = None, started, 0, None
        while True:
            resp, problem = self.attempt("GET", url, what + " (status)", origin, accept=(404,))
            polls += 1
            now = time.monotonic()
            if problem is not None:  # down, timing out, 5xx: a service restarting; keep waiting
                if problem != trouble:
                    self._say(f"{what}: task {task_id}: status route unavailable ({problem}); still waiting")
                trouble = problem
            elif resp.status_code == 404:
                self._say(f"{what}: task {task_id}: the status route answers 404 ({_snippet(resp, self.mask)})")
                return None
            else:
                if trouble is not None:
                    self._say(f"{what}: task {task_id}: status route back after {now - started:.1f} s")
                trouble = None
                doc = self._json(resp, what, "the task's status")
                try:
                    value = str(json_pointer(doc, job["status"]))
                except KeyError as e:
                    raise ServiceError(
                        f"{what}: the status of task {task_id} has nothing at {job['status']}: "
                        f"{e.args[0]}; set {self.key}.job.status to the field holding it"
                    ) from None
                if value in done:
                    self._say(f"{what}: task {task_id} {value} after {now - started:.1f} s ({polls} polls)")
                    return doc
                if value in failed:
                    raise ServiceError(
                        f"{what}: the service reports task {task_id} {value}: "
                        f"{self.mask(_failure_text(doc, job.get('error', '')))[:MAX_MESSAGE]}; "
                        "see the service's own log"
                    )
                if value != state or now - said >= HEARTBEAT_S:
                    self._say(f"{what}: task {task_id}: {value} after {now - started:.1f} s")
                    state, said = value, now
            if now >= deadline:
                self.cancel(task_id, context, request, what, origin, f"not finished within {float(job['wait_s']):g} s")
                raise _not_finished(what, task_id, job, state, trouble, self.key)
            time.sleep(max(0.0, min(float(job["poll_s"]), deadline - time.monotonic())))

    def _json(self, resp, what, holding):
        try:
            return resp.json()
        except ValueError:
            raise ServiceError(
                f"{what}: expected a JSON reply holding {holding}, got "
                f"Content-Type {_content_type(resp) or 'none'} ({_snippet(resp, self.mask)}); "
                f"if the body is the audio itself, set {self.key}.reply.type: audio"
            ) from None

    def _audio_body(self, resp, what):
        ctype = _content_type(resp)
        if TEXTUAL.search(ctype):
            raise ServiceError(
                f"{what}: the reply is not audio (Content-Type {ctype}: {_snippet(resp, self.mask)}); "
                f"if the service answers JSON, set {self.key}.reply.type to base64, url or path "
                "and reply.pointer to the field"
            )
        if not resp.content:
            raise ServiceError(
                f"{what}: the service answered HTTP {resp.status_code} with an empty body; expected audio"
            )
        return resp.content

    def _field_of(self, doc, pointer, what):
        try:
            value = json_pointer(doc, pointer)
        except KeyError as e:
            raise ServiceError(
                f"{what}: the reply has nothing at {pointer}: {e.args[0]}; "
                f"set {self.key}.reply.pointer to the field holding the audio"
            ) from None
        if not isinstance(value, str) or not value.strip():
            raise ServiceError(
                f"{what}: the reply's {pointer} is {type(value).__name__} "
                f"{self.mask(repr(value))[:80]}, expected a non-empty string"
            )
        return value.strip()


def _not_finished(what, task_id, job, state, trouble, key):
    """The ServiceError of a task that did not finish in job.wait_s."""
    last = f"last status: {state}" if state else "no status seen"
    if trouble:
        last += f"; the status route was unavailable ({trouble})"
    return ServiceError(
        f"{what}: task {task_id} did not finish within {float(job['wait_s']):g} s ({key}.job.wait_s; "
        f"{last}); raise job.wait_s if the service is just slow, or check it"
    )


def _failure_text(doc, pointer):
    """The service's reason for a failed task: the configured field, else a usual one."""
    if pointer:
        try:
            return str(json_pointer(doc, pointer))
        except KeyError:
            pass
    if isinstance(doc, dict):
        for key in ("error", "message", "detail", "reason"):
            if doc.get(key):
                return str(doc[key])
    return "(no reason given)"


def _param(value):
    return json.dumps(value)


def _b64(value, what, pointer):
    if value.startswith("data:"):  # a data: URI, e.g. data:audio/wav;base64,UklGR...
        value = value.partition(",")[2]
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ServiceError(f"{what}: the reply's {pointer} is not valid base64 ({e})") from None
    if not data:
        raise ServiceError(f"{what}: the reply's {pointer} decodes to nothing; expected audio")
    return data


def _read_path(value, what, pointer, key):
    path = Path(value)
    if not path.is_absolute():
        raise ServiceError(
            f"{what}: the reply's {pointer} is {value!r}, not an absolute path; if it is a URL, "
            f"set {key}.reply.type: url"
        )
    if not path.is_file():
        raise ServiceError(
            f"{what}: the reply names {value}, which is not a file on this machine; "
            f"the service must share a disk with the workflow, or use reply.type: url"
        )
    return path.read_bytes()


def fetch_audio(
    request: dict[str, Any],
    dest: Path | str,
    transport: dict[str, Any] | None,
    stage: str,
    what: str,
    log: TextIO | None = None,
) -> dict[str, Any]:
    """Send `request`, write the reply's audio to `dest` and accept it only if FFmpeg decodes it all.

    `dest` is a scratch file (never under audio/): a refused reply leaves nothing behind.
    Returns what the log shows: content type, bytes, source, decoded seconds, codec.
    """
    from .verify import verify_audio

    if transport is None:
        raise ServiceError(f"{what}: no {stage}.http settings were passed to the job")
    client = ServiceClient(transport, stage, log)
    try:
        info = client.fetch(request, dest, what)
        return {**info, **verify_audio(dest, what, info["content_type"])}
    except ServiceError as e:
        # one last mask over the whole message: a reply's first bytes may echo the header too
        raise ServiceError(client.mask(str(e))) from None
