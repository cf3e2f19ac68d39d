"""The user's own services as test doubles on 127.0.0.1 (ephemeral ports), wire for wire as
their public code shows them (README: Connecting your own services):

EchoBrain     POST /api/echo/voice/synthesize {"text" (1-5000 chars), "speaker_id": int|null,
              "length_scale": float = 1.0} -> the WAV itself (audio/wav, 22 050 Hz mono 16-bit,
              headers X-Echo-Text-Length and X-Echo-Audio-Length), 400 on empty or too-long
              text, no auth; speaker_id is accepted and IGNORED: one voice for everybody.
              POST /api/echo/voice/synthesize/base64 -> {"audio_base64", "format": "wav",
              "text_length", "audio_bytes"}.
              /api/knowledge: GET /facts?subject=&search=&limit(<=500)&offset= -> {"facts": [{id,
              subject, predicate, object, confidence, created_at, source}], "total", "limit",
              "offset"}; GET /facts/{id}; POST /facts {subject, predicate, object, confidence=0.9}
              (409 when it exists); PUT and DELETE /facts/{id}; GET /subjects; GET /about/{subject}.
StudioVoice   POST /api/voice/synthesize {"character_slug", "text", "engine"} -> {"output_path"
              (a path on that host), "engine_used", "duration_seconds", "job_id"}; the WAV at
              GET /api/voice/synthesis/{job_id}/audio. A voice per slug.
AceStep       POST /generate {"prompt", "lyrics", "duration", "format", "instrumental",
              "infer_steps", "guidance_scale", "seed"?} -> {"task_id", "status"}; GET
              /status/{task_id} -> {"task_id", "status": queued|processing|completed|failed,
              "output_path" when completed, "error" when failed}; 48 kHz stereo WAV of about the
              duration asked. Per task, queued behaviours: "fail" (the task fails), "hang" (it never
              finishes); restart() stops the server for a while, keeping or forgetting its tasks.

Errors are FastAPI's shape: {"detail": ...}, 422 for a body of the wrong types. Every request is
recorded as (method, path, headers, body).
"""

import base64
import io
import json
import re
import socket
import subprocess
import tempfile
import threading
import time
import uuid
import wave
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np


def espeak_wav(text, voice="en-us", speed=1.0, rate=22050):
    """espeak-ng speech as WAV bytes at `rate` (mono 16-bit)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw, out = Path(tmp) / "raw.wav", Path(tmp) / "out.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(round(165 * speed)), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-i",
                str(raw),
                "-ar",
                str(rate),
                "-ac",
                "1",
                "-c:a",
                "pcm_s16le",
                "-fflags",
                "+bitexact",
                str(out),
            ],
            check=True,
        )
        return out.read_bytes()


def wav_bytes(samples, rate, channels):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return buf.getvalue()


def music_wav(seconds, seed=0, rate=48000):
    """Stereo chords pulsing at 100 bpm, `seconds` long (deterministic per seed)."""
    t = np.arange(round(seconds * rate)) / rate
    root = 196.0 * 2 ** ((seed % 5) / 12)
    env = 0.55 + 0.45 * np.exp(-6 * ((t % 0.6) / 0.6))
    x = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 1.2, 1.5)) / 3 * 0.4 * env
    pcm = np.clip(x, -1, 1) * 32767
    return wav_bytes(np.repeat(pcm, 2), rate, 2)


class LoopbackService:
    """A small HTTP server on 127.0.0.1: routes are (method, regex) -> handler(req, match)."""

    routes: list = []

    def __init__(self, token=None):
        self.token = token  # None: no auth; else Bearer <token> required where checked
        self.requests = []
        self.lock = threading.Lock()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tower-{type(self).__name__.lower()}-"))
        self.port = 0
        self.server = None
        self.connections = set()  # open client sockets: a restart drops them, as a real one does
        self._start()

    def _start(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                service.connections.add(self.connection)

            def finish(self):
                service.connections.discard(self.connection)
                super().finish()

            def _any(self):
                length = int(self.headers.get("Content-Length", 0) or 0)
                raw = self.rfile.read(length) if length else b""
                service._dispatch(self, raw)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self, down_s, forget=False):
        """Go away for down_s seconds (connections refused), then come back on the same port."""

        def cycle():
            self.stop()
            if forget:
                self.forget()
            time.sleep(down_s)
            self._start()

        threading.Thread(target=cycle, daemon=True).start()

    def forget(self):
        """What a restart loses (in-memory state)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}{path}"

    def calls(self, path_prefix="", method=None):
        return [r for r in self.requests if r[1].startswith(path_prefix) and (method is None or r[0] == method)]

    # --- plumbing ---------------------------------------------------------------------

    def _dispatch(self, h, raw):
        parts = urlsplit(h.path)
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                return self.send_json(h, 422, {"detail": [{"msg": "JSON decode error", "type": "json_invalid"}]})
        with self.lock:
            self.requests.append((h.command, h.path, dict(h.headers), body))
        for method, pattern, name, auth in self.routes:
            m = re.fullmatch(pattern, parts.path)
            if m and method == h.command:
                if auth and self.token and h.headers.get("Authorization") != f"Bearer {self.token}":
                    return self.send_json(h, 401, {"detail": "Not authenticated"})
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                try:
                    return getattr(self, name)(h, m, body, query)
                except (BrokenPipeError, ConnectionResetError):
                    return None
        return self.send_json(h, 404, {"detail": "Not Found"})

    @staticmethod
    def send(h, status, data, ctype, headers=None):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, str(v))
        h.end_headers()
        h.wfile.write(data)

    def send_json(self, h, status, doc):
        self.send(h, status, json.dumps(doc).encode(), "application/json")


def _invalid(field, msg):
    return {"detail": [{"loc": ["body", field], "msg": msg, "type": "value_error"}]}


class EchoBrain(LoopbackService):
    """Echo Brain: its voice routes (no auth) and its knowledge base REST API."""

    routes = [
        ("POST", r"/api/echo/voice/synthesize", "synthesize", False),
        ("POST", r"/api/echo/voice/synthesize/base64", "synthesize_b64", False),
        ("GET", r"/api/knowledge/facts", "list_facts", True),
        ("POST", r"/api/knowledge/facts", "create_fact", True),
        ("GET", r"/api/knowledge/facts/(\d+)", "get_fact", True),
        ("PUT", r"/api/knowledge/facts/(\d+)", "update_fact", True),
        ("DELETE", r"/api/knowledge/facts/(\d+)", "delete_fact", True),
        ("GET", r"/api/knowledge/subjects", "subjects", True),
        ("GET", r"/api/knowledge/about/(.+)", "about", True),
    ]

    def __init__(self, token=None):
        self.facts = {}
        self.next_id = 1
        super().__init__(token)

    # --- voice ------------------------------------------------------------------------

    def _speech(self, h, body):
        body = body or {}
        text = body.get("text")
        if not isinstance(text, str):
            self.send_json(h, 422, _invalid("text", "Field required"))
            return None
        if not text.strip() or len(text) > 5000:
            self.send_json(h, 400, {"detail": "Text must be 1-5000 characters"})
            return None
        speaker = body.get("speaker_id")
        if speaker is not None and (not isinstance(speaker, int) or isinstance(speaker, bool)):
            self.send_json(h, 422, _invalid("speaker_id", "Input should be a valid integer"))
            return None
        scale = body.get("length_scale", 1.0)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            self.send_json(h, 422, _invalid("length_scale", "Input should be a valid number"))
            return None
        # Piper en_US-lessac-medium: one voice; speaker_id accepted and ignored
        return espeak_wav(text, "en-us", 1.0 / float(scale)), text

    def synthesize(self, h, m, body, query):
        got = self._speech(h, body)
        if got:
            wav, text = got
            self.send(h, 200, wav, "audio/wav", {"X-Echo-Text-Length": len(text), "X-Echo-Audio-Length": len(wav)})

    def synthesize_b64(self, h, m, body, query):
        got = self._speech(h, body)
        if got:
            wav, text = got
            self.send_json(
                h,
                200,
                {
                    "audio_base64": base64.b64encode(wav).decode(),
                    "format": "wav",
                    "text_length": len(text),
                    "audio_bytes": len(wav),
                },
            )

    # --- knowledge base ---------------------------------------------------------------

    def add(self, subject, predicate, obj, confidence=0.9, source="api"):
        fid = self.next_id
        self.next_id += 1
        self.facts[fid] = {
            "id": fid,
            "subject": subject,
            "predicate": predicate,
            "object": obj,
            "confidence": confidence,
            "source": source,
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        return self.facts[fid]

    def list_facts(self, h, m, body, query):
        try:
            limit, offset = int(query.get("limit", 100)), int(query.get("offset", 0))
        except ValueError:
            return self.send_json(h, 422, {"detail": "limit and offset are integers"})
        if not 1 <= limit <= 500 or offset < 0:
            return self.send_json(
                h, 422, {"detail": [{"loc": ["query", "limit"], "msg": "Input should be less than or equal to 500"}]}
            )
        rows = sorted(self.facts.values(), key=lambda f: f["id"])
        if query.get("subject"):
            rows = [f for f in rows if f["subject"].lower() == query["subject"].lower()]
        if query.get("search"):
            needle = query["search"].lower()
            rows = [f for f in rows if needle in f"{f['subject']} {f['predicate']} {f['object']}".lower()]
        self.send_json(
            h, 200, {"facts": rows[offset : offset + limit], "total": len(rows), "limit": limit, "offset": offset}
        )

    def create_fact(self, h, m, body, query):
        body = body or {}
        for field in ("subject", "predicate", "object"):
            if not isinstance(body.get(field), str) or not body[field]:
                return self.send_json(h, 422, _invalid(field, "Field required"))
        triple = (body["subject"], body["predicate"], body["object"])
        if any((f["subject"], f["predicate"], f["object"]) == triple for f in self.facts.values()):
            return self.send_json(h, 409, {"detail": "Fact already exists"})
        self.send_json(h, 200, self.add(*triple, float(body.get("confidence", 0.9))))

    def get_fact(self, h, m, body, query):
        fact = self.facts.get(int(m.group(1)))
        return self.send_json(h, 200, fact) if fact else self.send_json(h, 404, {"detail": "Fact not found"})

    def update_fact(self, h, m, body, query):
        fact = self.facts.get(int(m.group(1)))
        if not fact:
            return self.send_json(h, 404, {"detail": "Fact not found"})
        fact.update({k: v for k, v in (body or {}).items() if k in ("subject", "predicate", "object", "confidence")})
        self.send_json(h, 200, fact)

    def delete_fact(self, h, m, body, query):
        if self.facts.pop(int(m.group(1)), None) is None:
            return self.send_json(h, 404, {"detail": "Fact not found"})
        self.send_json(h, 200, {"deleted": True})

    def subjects(self, h, m, body, query):
        counts = {}
        for f in self.facts.values():
            counts[f["subject"]] = counts.get(f["subject"], 0) + 1
        self.send_json(h, 200, {"subjects": [{"subject": s, "count": n} for s, n in sorted(counts.items())]})

    def about(self, h, m, body, query):
        subject = unquote(m.group(1))
        rows = [f for f in self.facts.values() if f["subject"].lower() == subject.lower()]
        self.send_json(h, 200, {"subject": subject, "facts": rows})


class StudioVoice(LoopbackService):
    """The anime studio's voice API: JSON naming a file on its host, and an audio route."""

    routes = [
        ("POST", r"/api/voice/synthesize", "synthesize", True),
        ("GET", r"/api/voice/synthesis/([0-9a-f-]+)/audio", "audio", True),
    ]
    VOICES = {"akira": "en-us+m3", "luna": "en-us+f3", "viktor": "en-us+m7"}

    def __init__(self, token=None):
        self.jobs = {}
        super().__init__(token)

    def synthesize(self, h, m, body, query):
        body = body or {}
        if not isinstance(body.get("text"), str) or not isinstance(body.get("character_slug"), str):
            return self.send_json(h, 422, _invalid("text", "Field required"))
        engine = body.get("engine") or "edge-tts"
        if engine not in ("rvc", "sovits", "f5-tts", "edge-tts"):
            return self.send_json(h, 422, _invalid("engine", "Input should be 'rvc', 'sovits', 'f5-tts' or 'edge-tts'"))
        wav = espeak_wav(body["text"], self.VOICES.get(body["character_slug"], "en-us"), 1.0, 24000)
        job = str(uuid.uuid4())
        path = self.tmp / f"{job}.wav"
        path.write_bytes(wav)
        self.jobs[job] = path
        with wave.open(str(path)) as w:
            seconds = w.getnframes() / w.getframerate()
        self.send_json(
            h,
            200,
            {
                "output_path": f"/opt/tower-anime/voice/{job}.wav",
                "engine_used": engine,
                "duration_seconds": round(seconds, 3),
                "job_id": job,
            },
        )

    def audio(self, h, m, body, query):
        path = self.jobs.get(m.group(1))
        if not path:
            return self.send_json(h, 404, {"detail": "Job not found"})
        self.send(h, 200, path.read_bytes(), "audio/wav")


class AceStep(LoopbackService):
    """The ACE-Step music generator: tasks that take `work_s` seconds, polled for their status."""

    routes = [("POST", r"/generate", "generate", False), ("GET", r"/status/([0-9a-f]+)", "status", False)]

    def __init__(self, work_s=0.6):
        self.work_s = work_s
        self.tasks = {}
        self.behaviour = deque()  # per submitted task: "fail", "hang" or "ok"
        super().__init__(None)

    def forget(self):
        self.tasks.clear()

    def generate(self, h, m, body, query):
        body = body or {}
        if not isinstance(body.get("prompt"), str) or not isinstance(body.get("duration"), (int, float)):
            return self.send_json(h, 422, _invalid("prompt", "Field required"))
        task = uuid.uuid4().hex[:16]
        self.tasks[task] = {
            "started": time.monotonic(),
            "body": body,
            "behaviour": self.behaviour.popleft() if self.behaviour else "ok",
        }
        self.send_json(h, 200, {"task_id": task, "status": "queued"})

    def status(self, h, m, body, query):
        task_id = m.group(1)
        task = self.tasks.get(task_id)
        if task is None:
            return self.send_json(h, 404, {"detail": f"Task {task_id} not found"})
        age = time.monotonic() - task["started"]
        doc = {"task_id": task_id, "status": "queued" if age < self.work_s / 3 else "processing"}
        if task["behaviour"] == "hang" or age < self.work_s:
            return self.send_json(h, 200, doc)
        if task["behaviour"] == "fail":
            return self.send_json(h, 200, {**doc, "status": "failed", "error": "CUDA out of memory"})
        path = self.tmp / f"{task_id}.wav"
        if not path.exists():
            body = task["body"]
            path.write_bytes(music_wav(float(body["duration"]) * 0.98, int(body.get("seed") or 0)))
        self.send_json(h, 200, {**doc, "status": "completed", "output_path": str(path)})
