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
"""
import base64
import binascii
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests

from ..errors import ServiceError
from ..store.url import mask_urls_in

MAX_BACKOFF_S = 30.0
MAX_MESSAGE = 300            # characters of a service's error text quoted in our messages
RETRY_STATUS = {408, 429}    # besides every 5xx
TEXTUAL = re.compile(r"^(text/|application/(json|problem\+json|xml|xhtml|javascript))|[+/]json\b|html", re.I)


class Masker:
    """Replaces the secret with *** in any text (a service may echo the header back)."""

    def __init__(self, secret):
        self.secret = secret or None

    def __call__(self, text):
        text = mask_urls_in(text)  # a user:password@ in a URL the message quotes
        return text.replace(self.secret, "***") if self.secret else text


def json_pointer(doc, pointer):
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

    def __init__(self, transport, stage, log=None, environ=None):
        environ = os.environ if environ is None else environ
        self.stage = stage                       # "voice" or "music": names config keys in messages
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
        key = f"{self.stage}.http.token_env"
        if not self.token_env:
            return (f"the service wants a bearer token: set {key} to the name of an environment "
                    "variable and put the token in that variable")
        if not self.token:
            return f"set the environment variable {self.token_env} to the service's bearer token (it is not set; {key} names it)"
        return f"the token in the environment variable {self.token_env} was refused; set it to a valid token"

    def send(self, method, url, what, origin, **kwargs):
        """One request with retries; returns a 2xx response or raises ServiceError."""
        t = self.transport
        attempts = int(t["retries"]) + 1
        headers = {**kwargs.pop("headers", {}), **self._auth_headers(url, origin)}
        last = "no attempt made"
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            wait = None
            try:
                resp = self.session.request(method, url, headers=headers, allow_redirects=True,
                                            timeout=(t["connect_timeout_s"], t["timeout_s"]), **kwargs)
            except requests.ConnectTimeout:
                last = f"no connection within {t['connect_timeout_s']} s (connect_timeout_s)"
            except requests.Timeout:
                last = f"no answer within {t['timeout_s']} s (timeout_s)"
            except requests.ConnectionError as e:
                last = f"could not connect ({_connection_cause(e)})"
            except requests.exceptions.ChunkedEncodingError as e:
                last = f"the reply was cut off in transfer ({_cut_cause(e)})"
            except requests.RequestException as e:  # a bad URL and the like: retrying cannot help
                raise ServiceError(f"{what}: {self.mask(e)}; check {self.stage}.http.url") from None
            else:
                took = time.monotonic() - started
                self._say(f"{method} {url} -> HTTP {resp.status_code}, {len(resp.content)} bytes, "
                          f"{took:.2f} s (attempt {attempt}/{attempts})")
                status = resp.status_code
                if status < 300:
                    return resp
                message = _snippet(resp, self.mask)
                if status in (401, 403):
                    raise ServiceError(f"{what}: the service refused the request (HTTP {status}: {message}); "
                                       f"{self._auth_hint()}")
                if status < 500 and status not in RETRY_STATUS:
                    fix = (f"check {self.stage}.http.url and method" if status in (404, 405) else
                           f"check {self.stage}.http.body and the story fields it uses")
                    raise ServiceError(f"{what}: the service rejected the request (HTTP {status}: {message}); {fix}")
                last = f"HTTP {status}: {message}"
                wait = _retry_after(resp)
            self._say(f"{method} {url} failed (attempt {attempt}/{attempts}): {last}")
            if attempt < attempts:
                delay = min(MAX_BACKOFF_S, t["backoff_s"] * 2 ** (attempt - 1))
                if wait is not None:
                    delay = max(delay, min(wait, MAX_BACKOFF_S))
                time.sleep(delay)
        raise ServiceError(f"{what}: {method} {url} failed {attempts} time(s); last: {self.mask(last)}. "
                           f"Is the {self.stage} service running there? Check {self.stage}.http.url, "
                           f"raise {self.stage}.http.retries/timeout_s, or use an embedded backend "
                           f"(backends.{self.stage})")

    # ------------------------------------------------------------------ replies

    def fetch(self, request, dest, what):
        """Send the spec's request; write the audio it answers to `dest` (a scratch file).

        Returns {"content_type", "bytes", "source"} for the log. Nothing is checked here
        beyond the transfer and the reply's shape: verify.py decodes the file.
        """
        origin = urlsplit(request["url"])
        kwargs = {"headers": dict(request.get("headers", {}))}
        if request["method"] == "GET":
            body = request["body"]
            kwargs["params"] = {k: v if isinstance(v, str) else _param(v) for k, v in body.items()} \
                if isinstance(body, dict) else None
        else:
            kwargs["json"] = request["body"]
        resp = self.send(request["method"], request["url"], what, origin, **kwargs)
        reply = request["reply"]
        kind = reply["type"]
        if kind == "audio":
            data, ctype, source = self._audio_body(resp, what), _content_type(resp), "body"
        else:
            value = self._field(resp, reply["pointer"], kind, what)
            if kind == "base64":
                data, ctype, source = _b64(value, what, reply["pointer"]), "", f"base64 at {reply['pointer']}"
            elif kind == "url":
                url = urljoin(request["url"], value)
                if urlsplit(url).scheme not in ("http", "https"):
                    raise ServiceError(f"{what}: the reply's {reply['pointer']} is {value!r}, not an http(s) URL; "
                                       f"if it is a file path, set {self.stage}.http.reply.type: path")
                got = self.send("GET", url, what + " (audio download)", origin)
                data, ctype, source = self._audio_body(got, what), _content_type(got), url
            else:
                data, ctype, source = _read_path(value, what, reply["pointer"], self.stage), "", value
        Path(dest).write_bytes(data)
        info = {"content_type": ctype, "bytes": len(data), "source": self.mask(source)}
        self._say(f"{what}: {len(data)} bytes of reply audio from {info['source']}")
        return info

    def _audio_body(self, resp, what):
        ctype = _content_type(resp)
        if TEXTUAL.search(ctype):
            raise ServiceError(f"{what}: the reply is not audio (Content-Type {ctype}: {_snippet(resp, self.mask)}); "
                               f"if the service answers JSON, set {self.stage}.http.reply.type to base64, url or path "
                               "and reply.pointer to the field")
        if not resp.content:
            raise ServiceError(f"{what}: the service answered HTTP {resp.status_code} with an empty body; "
                               "expected audio")
        return resp.content

    def _field(self, resp, pointer, kind, what):
        try:
            doc = resp.json()
        except ValueError:
            raise ServiceError(f"{what}: expected a JSON reply holding {kind} audio at {pointer}, got "
                               f"Content-Type {_content_type(resp) or 'none'} ({_snippet(resp, self.mask)}); "
                               f"if the body is the audio itself, set {self.stage}.http.reply.type: audio") from None
        try:
            value = json_pointer(doc, pointer)
        except KeyError as e:
            raise ServiceError(f"{what}: the reply has nothing at {pointer}: {e.args[0]}; "
                               f"set {self.stage}.http.reply.pointer to the field holding the audio") from None
        if not isinstance(value, str) or not value.strip():
            raise ServiceError(f"{what}: the reply's {pointer} is {type(value).__name__} "
                               f"{self.mask(repr(value))[:80]}, expected a non-empty string")
        return value.strip()


def _param(value):
    return json.dumps(value)


def _b64(value, what, pointer):
    if value.startswith("data:"):          # a data: URI, e.g. data:audio/wav;base64,UklGR...
        value = value.partition(",")[2]
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as e:
        raise ServiceError(f"{what}: the reply's {pointer} is not valid base64 ({e})") from None
    if not data:
        raise ServiceError(f"{what}: the reply's {pointer} decodes to nothing; expected audio")
    return data


def _read_path(value, what, pointer, stage):
    path = Path(value)
    if not path.is_absolute():
        raise ServiceError(f"{what}: the reply's {pointer} is {value!r}, not an absolute path; if it is a URL, "
                           f"set {stage}.http.reply.type: url")
    if not path.is_file():
        raise ServiceError(f"{what}: the reply names {value}, which is not a file on this machine; "
                           f"the service must share a disk with the workflow, or use reply.type: url")
    return path.read_bytes()


def fetch_audio(request, dest, transport, stage, what, log=None):
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
