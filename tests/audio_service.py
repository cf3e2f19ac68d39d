"""A voice and music service for the tests, on 127.0.0.1 with an ephemeral port.

It speaks the wire format that src/tower_anime/schemas/config.schema.yaml describes by default:
  POST /api/voice/synthesize  {"text", "voice_id", "speed", "pitch", "emotion", "format"}
       -> real speech from espeak-ng (the voice id picks an espeak voice), audio/wav
  POST /api/music/generate    {"mood", "tempo", "duration", "scene_id", ..., "format"}
       -> a chord loop at the tempo, `music_seconds` long whatever the duration asked
Both check `Authorization: Bearer <token>` when the service has a token. How each endpoint
answers is set per endpoint (`reply`: audio, base64, url or path), and faults are queued per
endpoint, each consumed by one request: "slow", "500", "503", "408", "429", "400", "401",
"not-audio", "garbage", "truncated", "empty", "echo" (text labelled audio/wav that quotes the
Authorization header), "cut" (the connection drops mid-body), "short" (the first half of the
encoded file, sent whole: its header still declares the full length).
"""

import base64
import json
import subprocess
import tempfile
import threading
import time
import uuid
import wave
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

VOICES = {"akira": "en-us+m3", "luna": "en-us+f3", "viktor": "en-us+m7"}
RATE = 24000


def speak(text, voice_id, speed, pitch):
    """WAV bytes of espeak-ng speaking `text` (mono 22.05 kHz 16-bit)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "speech.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                VOICES.get(voice_id, "en-us"),
                "-s",
                str(round(165 * speed)),
                "-p",
                str(max(0, min(99, round(50 + 4 * pitch)))),
                "-w",
                str(out),
                text,
            ],
            check=True,
            capture_output=True,
        )
        return out.read_bytes()


def chord_loop(seconds, tempo):
    """WAV bytes of a stereo A-minor chord pulsing on the beat (deterministic)."""
    t = np.arange(round(seconds * RATE)) / RATE
    beat = 60.0 / float(tempo)
    env = 0.55 + 0.45 * np.exp(-6 * ((t % beat) / beat))
    x = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) / 3 * 0.4 * env
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    return wav_bytes(np.repeat(pcm, 2).tobytes(), channels=2)


def wav_bytes(pcm, channels=1, rate=RATE):
    import io

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def transcode(wav, fmt):
    """The reply in the format asked for (wav as is; mp3/ogg through FFmpeg)."""
    if fmt in (None, "wav"):
        return wav, "audio/wav"
    codec = {"mp3": ("libmp3lame", "mp3", "audio/mpeg"), "ogg": ("libopus", "ogg", "audio/ogg")}[fmt]
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", "-c:a", codec[0], "-f", codec[1], "pipe:1"],
        input=wav,
        capture_output=True,
        check=True,
    )
    return proc.stdout, codec[2]


def half_mp3(wav):
    """The first half of an MP3 written to a file: the encoder goes back to fill in its Xing
    header (the frame count, so the full duration), which it cannot do on a pipe."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "in.wav").write_bytes(wav)
        subprocess.run(["ffmpeg", "-v", "error", "-i", "in.wav", "-c:a", "libmp3lame", "out.mp3"], cwd=tmp, check=True)
        data = (Path(tmp) / "out.mp3").read_bytes()
    return data[: len(data) // 2]


class AudioService:
    """Start with `with AudioService(token=...) as svc:`; svc.url(path) gives the address."""

    def __init__(self, token=None, music_seconds=3.0, slow_s=1.0):
        self.token = token
        self.music_seconds = music_seconds
        self.slow_s = slow_s
        self.reply = {"voice": "audio", "music": "audio"}
        self.faults = defaultdict(deque)
        self.requests = []  # (endpoint, method, path, headers, body) of every request
        self.files = {}  # id -> (bytes, content type) for url replies
        self.tmp = Path(tempfile.mkdtemp(prefix="tower-svc-"))
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def inject(self, endpoint, *faults):
        self.faults[endpoint].extend(faults)

    def calls(self, endpoint):
        return [r for r in self.requests if r[0] == endpoint]

    # ---------------------------------------------------------------- the HTTP side

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path.startswith("/files/"):
                    service._record("files", self, None)
                    if not service._authorised(self):
                        return service._send_json(self, 401, {"error": "missing or invalid bearer token"})
                    found = service.files.get(self.path.rsplit("/", 1)[1])
                    if not found:
                        return service._send_json(self, 404, {"error": "no such file"})
                    return service._send(self, 200, found[0], found[1])
                return service._send_json(self, 404, {"error": f"no route {self.path}"})

            def do_POST(self):
                endpoint = {"/api/voice/synthesize": "voice", "/api/music/generate": "music"}.get(self.path)
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length) if length else b""
                if endpoint is None:
                    return service._send_json(self, 404, {"error": f"no route {self.path}"})
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    return service._send_json(self, 400, {"error": "body is not JSON"})
                service._record(endpoint, self, body)
                try:
                    service._answer(self, endpoint, body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

        return Handler

    def _record(self, endpoint, handler, body):
        with self.lock:
            self.requests.append((endpoint, handler.command, handler.path, dict(handler.headers), body))

    def _authorised(self, handler):
        return not self.token or handler.headers.get("Authorization") == f"Bearer {self.token}"

    def _send(self, handler, status, data, ctype, length=None, headers=None):
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data) if length is None else length))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
        if length is not None:
            handler.close_connection = True

    def _send_json(self, handler, status, doc, headers=None):
        self._send(handler, status, json.dumps(doc).encode(), "application/json", headers=headers)

    def _answer(self, handler, endpoint, body):
        with self.lock:
            fault = self.faults[endpoint].popleft() if self.faults[endpoint] else None
        if fault == "slow":
            time.sleep(self.slow_s)
        if fault == "401" or not self._authorised(handler):
            # like some real services, the message echoes what it got: the client must mask it
            got = handler.headers.get("Authorization", "nothing")
            return self._send_json(handler, 401, {"error": f"invalid bearer token (got {got})"})
        if fault in ("500", "503"):
            extra = {"Retry-After": "0"} if fault == "503" else None
            return self._send_json(handler, int(fault), {"error": "model worker crashed"}, headers=extra)
        if fault == "408":
            return self._send_json(handler, 408, {"error": "request timeout"})
        if fault == "429":
            return self._send_json(handler, 429, {"error": "too many requests"}, headers={"Retry-After": "0"})
        if fault == "400":
            return self._send_json(handler, 400, {"detail": "voice_id 'nobody' is not installed"})
        if fault == "not-audio":
            page = b"<html><body><h1>Gateway</h1>upstream said hello</body></html>"
            return self._send(handler, 200, page, "text/html")
        if fault == "empty":
            return self._send(handler, 200, b"", "audio/wav")
        if fault == "echo":  # an error text labelled as audio, quoting the request's header
            text = f"Auth: {handler.headers.get('Authorization')} upstream failed"
            return self._send(handler, 200, text.encode(), "audio/wav")
        if endpoint == "voice":
            audio = speak(body["text"], body.get("voice_id"), float(body.get("speed", 1)), float(body.get("pitch", 0)))
        else:
            audio = chord_loop(self.music_seconds, body.get("tempo", 100))
        if fault == "garbage":
            audio = bytes(range(256)) * 64
        if fault == "truncated":
            audio = audio[: len(audio) // 2]  # the header still announces the whole file
        if fault == "short":
            audio, ctype = half_mp3(audio), "audio/mpeg"
        else:
            audio, ctype = (
                transcode(audio, body.get("format")) if fault not in ("garbage", "truncated") else (audio, "audio/wav")
            )
        if fault == "cut":
            return self._send(handler, 200, audio[: len(audio) // 2], ctype, length=len(audio))
        mode = self.reply[endpoint]
        if mode == "audio":
            return self._send(handler, 200, audio, ctype)
        if mode == "base64":
            return self._send_json(
                handler, 200, {"result": {"audio": base64.b64encode(audio).decode(), "content_type": ctype}}
            )
        if mode == "url":
            key = uuid.uuid4().hex
            self.files[key] = (audio, ctype)
            return self._send_json(handler, 200, {"status": "done", "url": f"/files/{key}"})
        path = self.tmp / f"{uuid.uuid4().hex}.wav"
        path.write_bytes(audio)
        return self._send_json(handler, 200, {"status": "done", "file": {"path": str(path)}})
