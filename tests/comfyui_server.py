"""A small ComfyUI test double on 127.0.0.1: the real server's wire protocol
(as observed on ComfyUI 0.3.64) without a GPU.

It speaks the same HTTP shapes and status codes, sends the same websocket messages in the
same order to the socket of the prompt's client_id, validates graphs against node
definitions (unknown class, missing input, value not in list, out of range, type mismatch,
missing input image), caches nodes by their inputs like ComfyUI (an identical graph runs
nothing and history points at the old file), and its SaveImage / SaveVideo /
VHS_VideoCombine nodes write real PNG and H.264 MP4 files of the size, length and rate the
graph asks for (LTX rounds length to 8k+1 and sizes to 32, as the model does). The pictures
are photographs that scikit-image ships (skimage.data), cropped and scaled: a still is a crop
of the one photograph of a person there (the astronaut, a stand-in for a character render;
`photos` picks others), and a clip is a slow push-in and pan over its input image. Nothing
is shaped for Tower's quality gates.

Shapes the real server has and a naive double would not (ComfyUI 0.3.64): the top-level
`details` of a validation error is empty; a dropdown of more than 20 options comes back in a
node error as "(list of length N)" with `input_config` null; nodes of the newer schema
(CreateVideo, SaveVideo) send their dropdowns as ["COMBO", {"options": [...]}], which the
server does not check at submit time (a bad value fails when it runs); a `progress_state`
and, with `previews`, a binary preview frame on every sampler step; an interrupt takes effect
at the next sampler step or node boundary (`slow_nodes` makes a node run long without steps,
as the T5 encoder does); a restart takes seconds (`RestartRule.down_for`).

Versions (`version`): before 0.3.44 a client-chosen prompt_id is ignored (the server makes
its own and answers it); before 0.3.56 /interrupt stops whatever runs, whoever sent it.
`missing_nodes` removes node classes (a server without the core video nodes).

Faults for tests: `fail_when` (an execution error, e.g. out of memory, at a node),
`restart_when` (drop every socket, forget queue, history and cache, refuse connections for
a moment, come back on the same port), `stop()` (down). Everything it receives is recorded
in `received`, `interrupts`, `frees`, `uploads` and `max_outstanding`, and every prompt it runs in
`executions` (prompt id, start, end, status: the card's busy intervals, wall clock).

Run it by hand: python tests/comfyui_server.py --port 8188 --root /tmp/comfy
"""

import argparse
import asyncio
import hashlib
import json
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from aiohttp import WSMsgType, web
from PIL import Image, PngImagePlugin

VERSION = "0.3.64"
PROMPT_ID_SINCE = (0, 3, 44)  # a client-chosen prompt_id is kept from this version on
TARGETED_INTERRUPT_SINCE = (0, 3, 56)  # /interrupt {"prompt_id"} stops only that prompt
SAMPLERS = ["euler", "euler_ancestral", "heun", "dpm_2", "dpmpp_2m", "dpmpp_sde", "lcm", "res_multistep"]
SCHEDULERS = ["simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal"]
DEFAULT_MODELS = {
    "checkpoints": ["v1-5-pruned-emaonly.safetensors", "ltx-2/ltxv-2b-0.9.8-distilled.safetensors"],
    "loras": ["mei_working_v1.safetensors", "akira_v2.safetensors"],
    "text_encoders": ["t5xxl_fp16.safetensors"],
}


def INT(default=0, min=0, max=0xFFFFFFFFFFFFFFFF, step=1):
    return ["INT", {"default": default, "min": min, "max": max, "step": step}]


def FLOAT(default=0.0, min=0.0, max=100.0, step=0.01):
    return ["FLOAT", {"default": default, "min": min, "max": max, "step": step}]


def BOOL(default=True):
    return ["BOOLEAN", {"default": default}]


def STRING(default="", multiline=False):
    return ["STRING", {"default": default, "multiline": multiline}]


def COMBO(source):
    return ("combo", source)  # resolved against the server's files when asked


def COMBO_V3(options):
    """A dropdown of the newer node schema: sent as ["COMBO", {"options": [...]}], not
    checked at submit time."""
    return ("combo_v3", options)


# class -> (required inputs, optional inputs, output types, output node?, category)
NODES = {
    "CheckpointLoaderSimple": ({"ckpt_name": COMBO("checkpoints")}, {}, ["MODEL", "CLIP", "VAE"], False, "loaders"),
    "LoraLoader": (
        {
            "model": ["MODEL"],
            "clip": ["CLIP"],
            "lora_name": COMBO("loras"),
            "strength_model": FLOAT(1.0, -100, 100),
            "strength_clip": FLOAT(1.0, -100, 100),
        },
        {},
        ["MODEL", "CLIP"],
        False,
        "loaders",
    ),
    "CLIPLoader": (
        {
            "clip_name": COMBO("text_encoders"),
            "type": COMBO(
                ["stable_diffusion", "stable_cascade", "sd3", "stable_audio", "mochi", "ltxv", "pixart", "wan"]
            ),
        },
        {"device": COMBO(["default", "cpu"])},
        ["CLIP"],
        False,
        "advanced/loaders",
    ),
    "CLIPTextEncode": ({"text": STRING(multiline=True), "clip": ["CLIP"]}, {}, ["CONDITIONING"], False, "conditioning"),
    "EmptyLatentImage": (
        {"width": INT(512, 16, 16384, 8), "height": INT(512, 16, 16384, 8), "batch_size": INT(1, 1, 4096)},
        {},
        ["LATENT"],
        False,
        "latent",
    ),
    "KSampler": (
        {
            "model": ["MODEL"],
            "seed": INT(0),
            "steps": INT(20, 1, 10000),
            "cfg": FLOAT(8.0, 0.0, 100.0),
            "sampler_name": COMBO(SAMPLERS),
            "scheduler": COMBO(SCHEDULERS),
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "latent_image": ["LATENT"],
            "denoise": FLOAT(1.0, 0.0, 1.0),
        },
        {},
        ["LATENT"],
        False,
        "sampling",
    ),
    "VAEDecode": ({"samples": ["LATENT"], "vae": ["VAE"]}, {}, ["IMAGE"], False, "latent"),
    "SaveImage": ({"images": ["IMAGE"], "filename_prefix": STRING("ComfyUI")}, {}, [], True, "image"),
    "LoadImage": ({"image": COMBO("input")}, {}, ["IMAGE", "MASK"], False, "image"),
    "LTXVImgToVideo": (
        {
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "vae": ["VAE"],
            "image": ["IMAGE"],
            "width": INT(768, 64, 16384, 32),
            "height": INT(512, 64, 16384, 32),
            "length": INT(97, 9, 16384, 8),
            "batch_size": INT(1, 1, 4096),
            "strength": FLOAT(1.0, 0.0, 1.0),
        },
        {},
        ["CONDITIONING", "CONDITIONING", "LATENT"],
        False,
        "conditioning/video_models",
    ),
    "LTXVConditioning": (
        {"positive": ["CONDITIONING"], "negative": ["CONDITIONING"], "frame_rate": FLOAT(25.0, 0.0, 1000.0)},
        {},
        ["CONDITIONING", "CONDITIONING"],
        False,
        "conditioning/video_models",
    ),
    "LTXVScheduler": (
        {
            "steps": INT(20, 1, 10000),
            "max_shift": FLOAT(2.05, 0.0, 100.0),
            "base_shift": FLOAT(0.95, 0.0, 100.0),
            "stretch": BOOL(True),
            "terminal": FLOAT(0.1, 0.0, 0.99),
        },
        {"latent": ["LATENT"]},
        ["SIGMAS"],
        False,
        "sampling/custom_sampling/schedulers",
    ),
    "KSamplerSelect": ({"sampler_name": COMBO(SAMPLERS)}, {}, ["SAMPLER"], False, "sampling/custom_sampling/samplers"),
    "SamplerCustom": (
        {
            "model": ["MODEL"],
            "add_noise": BOOL(True),
            "noise_seed": INT(0),
            "cfg": FLOAT(8.0, 0.0, 100.0),
            "positive": ["CONDITIONING"],
            "negative": ["CONDITIONING"],
            "sampler": ["SAMPLER"],
            "sigmas": ["SIGMAS"],
            "latent_image": ["LATENT"],
        },
        {},
        ["LATENT", "LATENT"],
        False,
        "sampling/custom_sampling",
    ),
    "CreateVideo": (
        {"images": ["IMAGE"], "fps": FLOAT(30.0, 1.0, 120.0)},
        {"audio": ["AUDIO"]},
        ["VIDEO"],
        False,
        "image/video",
    ),
    "SaveVideo": (
        {
            "video": ["VIDEO"],
            "filename_prefix": STRING("video/ComfyUI"),
            "format": COMBO_V3(["auto", "mp4"]),
            "codec": COMBO_V3(["auto", "h264"]),
        },
        {},
        [],
        True,
        "image/video",
    ),
    # the popular custom node: lists its file under `gifs`
    "VHS_VideoCombine": (
        {
            "images": ["IMAGE"],
            "frame_rate": FLOAT(8.0, 1.0, 120.0),
            "loop_count": INT(0, 0, 100),
            "filename_prefix": STRING("AnimateDiff"),
            "format": COMBO(["image/gif", "video/h264-mp4"]),
            "pingpong": BOOL(False),
            "save_output": BOOL(True),
        },
        {},
        ["VHS_FILENAMES"],
        True,
        "Video Helper Suite",
    ),
}
SAMPLER_NODES = {"KSampler", "SamplerCustom"}


class _Restarted(Exception):
    pass


class _ExecError(Exception):
    def __init__(self, exception_type, message):
        super().__init__(message)
        self.exception_type, self.message = exception_type, message


class _InterruptedRun(Exception):
    pass


@dataclass
class FailRule:
    """An execution error at the first node of `node_class` in graphs where match(graph)."""

    match: object
    node_class: str
    exception_type: str = "torch.OutOfMemoryError"
    message: str = (
        "Allocation on device 0 would exceed allowed memory. (out of memory)\n"
        "Currently allocated     : 10.95 GiB\nRequested               : 2.25 GiB"
    )
    times: int = 1


@dataclass
class RestartRule:
    """Restart the server when a graph where match(graph) reaches sampler step `at_step`."""

    match: object
    at_step: int = 2
    down_for: float = 0.6
    times: int = 1


@dataclass
class Execution:
    """One prompt on the card, from the worker taking it to its end (wall clock, time.time())."""

    prompt_id: str
    start: float
    end: float = None
    status: str = "running"  # success, error, restarted, stopped


def _error(kind, message, details="", extra=None):
    return {"type": kind, "message": message, "details": details, "extra_info": extra or {}}


def _version(text):
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


class FakeComfyUI:
    def __init__(
        self,
        root,
        models=None,
        step_seconds=0.01,
        host="127.0.0.1",
        version=VERSION,
        missing_nodes=(),
        previews=True,
        photos=("astronaut",),
    ):
        self.root = Path(root)
        for sub in ("input", "output", "temp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.models = {k: list(v) for k, v in (models or DEFAULT_MODELS).items()}
        self.step_seconds = step_seconds
        self.host, self.port = host, 0
        self.version = version
        self.nodes = {k: v for k, v in NODES.items() if k not in set(missing_nodes)}
        self.previews = previews
        self.photos = list(photos)  # skimage.data photographs the stills are cropped from
        self.slow_nodes = {}  # class -> seconds it runs without a sampler step (interrupt waits)
        self.fail_when, self.restart_when = [], []
        self.http_faults = {}  # path -> [status, ...]: the next requests to it get these answers
        self.received, self.interrupts, self.uploads, self.events = [], [], [], []
        self.frees = []  # bodies of POST /free
        self.max_outstanding = 0
        self.executions = []  # one Execution per prompt the worker took off the queue
        self.restarts = 0
        self._reset_state()
        self.loop = None
        self._thread = None
        self._runner = None

    # --- lifecycle (a background thread with its own event loop) ----------------------

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self, port=0):
        ready = threading.Event()
        self.port = port

        def main():
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self._listen())
            self._wake = asyncio.Event()
            self._worker_task = self.loop.create_task(self._worker())
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=main, name="fake-comfyui", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self):
        if self.loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        fut.result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop = None

    async def _shutdown(self):
        self._worker_task.cancel()
        await self._runner.cleanup()

    async def _listen(self):
        app = web.Application(client_max_size=64 << 20, middlewares=[self._http_faults])
        app.add_routes(
            [
                web.get("/ws", self.ws),
                web.post("/prompt", self.post_prompt),
                web.get("/prompt", self.get_prompt),
                web.get("/queue", self.get_queue),
                web.post("/queue", self.post_queue),
                web.get("/history", self.get_history),
                web.get("/history/{prompt_id}", self.get_history_one),
                web.post("/history", self.post_history),
                web.post("/interrupt", self.post_interrupt),
                web.post("/free", self.post_free),
                web.get("/object_info", self.get_object_info),
                web.get("/object_info/{node_class}", self.get_object_info_one),
                web.get("/system_stats", self.get_system_stats),
                web.post("/upload/image", self.upload_image),
                web.get("/view", self.view),
            ]
        )
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @web.middleware
    async def _http_faults(self, request, handler):
        pending = self.http_faults.get(request.path)
        if pending:
            status = pending.pop(0)
            return web.Response(status=status, text=f"{status} injected by the test")
        return await handler(request)

    def _reset_state(self):
        """What a restart forgets: sockets, queue, running prompt, history, cache."""
        self.sockets = {}
        self.queue = []
        self.running = None
        self.history = {}
        self.cache = {}  # node signature -> (outputs, ui)
        self.number = 0
        self._interrupt = None

    async def _restart(self, down_for):
        self.restarts += 1
        for ws in list(self.sockets.values()):
            await ws.close()
        await self._runner.cleanup()  # every connection is dropped, the port refuses
        self._reset_state()
        await asyncio.sleep(down_for)
        await self._listen()

    # --- websocket ------------------------------------------------------------------

    async def ws(self, request):
        sid = request.query.get("clientId") or uuid.uuid4().hex
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets[sid] = ws  # a reconnect with the same clientId takes over, as in ComfyUI
        try:
            await ws.send_json({"type": "status", "data": {"status": self._status(), "sid": sid}})
            async for msg in ws:
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            if self.sockets.get(sid) is ws:
                del self.sockets[sid]
        return ws

    def _status(self):
        return {"exec_info": {"queue_remaining": len(self.queue) + (1 if self.running else 0)}}

    async def send(self, event, data, sid=None):
        """Execution events go to the socket of the prompt's client_id only; status to all."""
        self.events.append((event, data, sid))
        targets = list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        for ws in targets:
            try:
                if isinstance(data, bytes):
                    await ws.send_bytes(data)
                else:
                    await ws.send_json({"type": event, "data": data})
            except (ConnectionResetError, RuntimeError):
                pass

    # --- HTTP -----------------------------------------------------------------------

    async def get_system_stats(self, request):
        return web.json_response(
            {
                "system": {
                    "os": "posix",
                    "ram_total": 64 << 30,
                    "ram_free": 48 << 30,
                    "comfyui_version": self.version,
                    "required_frontend_version": "1.27.10",
                    "python_version": "3.12.3",
                    "pytorch_version": "2.8.0+cu128",
                    "embedded_python": False,
                    "argv": ["main.py", "--listen", self.host, "--port", str(self.port)],
                },
                "devices": [
                    {
                        "name": "cuda:0 NVIDIA GeForce RTX 3060 : cudaMallocAsync",
                        "type": "cuda",
                        "index": 0,
                        "vram_total": 12 << 30,
                        "vram_free": 11 << 30,
                        "torch_vram_total": 0,
                        "torch_vram_free": 0,
                    }
                ],
            }
        )

    def _choices(self, source):
        if isinstance(source, list):
            return list(source)
        if source == "input":
            return sorted(p.name for p in (self.root / "input").iterdir() if p.is_file())
        return list(self.models.get(source, []))

    def _spec(self, spec):
        if isinstance(spec, tuple) and spec[0] == "combo":
            return [self._choices(spec[1]), {}]
        if isinstance(spec, tuple) and spec[0] == "combo_v3":
            return ["COMBO", {"options": list(spec[1]), "multiselect": False}]
        return spec

    def _object_info(self, cls):
        req, opt, outputs, output_node, category = self.nodes[cls]
        return {
            "input": {
                "required": {k: self._spec(v) for k, v in req.items()},
                "optional": {k: self._spec(v) for k, v in opt.items()},
            },
            "input_order": {"required": list(req), "optional": list(opt)},
            "output": outputs,
            "output_is_list": [False] * len(outputs),
            "output_name": outputs,
            "name": cls,
            "display_name": cls,
            "description": "",
            "python_module": "nodes",
            "category": category,
            "output_node": output_node,
            "deprecated": False,
            "experimental": False,
        }

    async def get_object_info(self, request):
        return web.json_response({cls: self._object_info(cls) for cls in self.nodes})

    async def get_object_info_one(self, request):
        cls = request.match_info["node_class"]
        return web.json_response({cls: self._object_info(cls)} if cls in self.nodes else {})

    async def get_prompt(self, request):
        return web.json_response({"exec_info": self._status()["exec_info"]})

    async def get_queue(self, request):
        return web.json_response(
            {"queue_running": [self.running] if self.running else [], "queue_pending": list(self.queue)}
        )

    async def post_queue(self, request):
        body = await request.json()
        if body.get("clear"):
            self.queue.clear()
        for pid in body.get("delete", []):
            self.queue[:] = [item for item in self.queue if item[1] != pid]
        return web.Response(status=200)

    async def get_history(self, request):
        return web.json_response(self.history)

    async def get_history_one(self, request):
        pid = request.match_info["prompt_id"]
        return web.json_response({pid: self.history[pid]} if pid in self.history else {})

    async def post_history(self, request):
        body = await request.json()
        if body.get("clear"):
            self.history.clear()
        for pid in body.get("delete", []):
            self.history.pop(pid, None)
        return web.Response(status=200)

    async def post_interrupt(self, request):
        pid = None
        if request.can_read_body:
            try:
                pid = (await request.json()).get("prompt_id")
            except ValueError:
                pid = None
        self.interrupts.append(pid)
        if _version(self.version) < TARGETED_INTERRUPT_SINCE:
            pid = None  # an old server reads no body: it stops whatever runs
        if self.running and (pid is None or self.running[1] == pid):
            self._interrupt = self.running[1]
        return web.Response(status=200)

    async def post_free(self, request):
        """Unload models / free memory: the real server does it when its worker is next idle."""
        try:
            body = await request.json()
        except ValueError:
            body = {}
        self.frees.append(body)
        return web.Response(status=200)

    def _folder(self, kind):
        return {"input": self.root / "input", "output": self.root / "output", "temp": self.root / "temp"}.get(kind)

    async def upload_image(self, request):
        post = await request.post()
        image = post.get("image")
        if image is None or not hasattr(image, "file"):
            return web.Response(status=400)
        kind = post.get("type") or "input"
        base = self._folder(kind)
        subfolder = post.get("subfolder", "")
        folder = (base / subfolder).resolve()
        if base is None or os.path.commonpath((str(folder), str(base.resolve()))) != str(base.resolve()):
            return web.Response(status=400)
        folder.mkdir(parents=True, exist_ok=True)
        overwrite = post.get("overwrite") in ("true", "1")
        filename = image.filename
        if not filename or "/" in filename or ".." in filename:
            return web.Response(status=400)
        data = image.file.read()
        stem, ext = os.path.splitext(filename)
        path, i = folder / filename, 1
        duplicate = False
        if not overwrite:
            while path.exists():
                if path.read_bytes() == data:  # same content under that name: keep it
                    duplicate = True
                    break
                filename = f"{stem} ({i}){ext}"
                path, i = folder / filename, i + 1
        if not duplicate:
            path.write_bytes(data)
        self.uploads.append(filename)
        return web.json_response({"name": filename, "subfolder": subfolder, "type": kind})

    async def view(self, request):
        q = request.query
        filename = q.get("filename", "")
        if not filename or filename.startswith("/") or ".." in filename:
            return web.Response(status=400)
        base = self._folder(q.get("type", "output"))
        if base is None:
            return web.Response(status=400)
        base = base.resolve()
        folder = (base / q.get("subfolder", "")).resolve()
        if os.path.commonpath((str(folder), str(base))) != str(base):
            return web.Response(status=403)
        path = folder / filename
        if not path.is_file():
            return web.Response(status=404)
        ctype = {".png": "image/png", ".mp4": "video/mp4", ".gif": "image/gif", ".webp": "image/webp"}.get(
            path.suffix, "application/octet-stream"
        )
        return web.Response(
            body=path.read_bytes(), content_type=ctype, headers={"Content-Disposition": f'filename="{filename}"'}
        )

    # --- /prompt: validation ----------------------------------------------------------

    async def post_prompt(self, request):
        try:
            body = await request.json()
        except ValueError:
            return web.Response(status=500, text="500 Internal Server Error\n\nServer got itself in trouble")
        self.received.append({"body": body, "time": time.time()})
        if "prompt" not in body:
            return web.json_response(
                {"error": _error("no_prompt", "No prompt provided", "No prompt provided"), "node_errors": {}},
                status=400,
            )
        graph = body["prompt"]
        error, node_errors = self._validate(graph)
        if error:
            return web.json_response({"error": error, "node_errors": node_errors}, status=400)
        pid = body.get("prompt_id") if _version(self.version) >= PROMPT_ID_SINCE else None
        pid = pid or uuid.uuid4().hex
        number = self.number
        self.number += 1
        outputs = [nid for nid, n in graph.items() if self.nodes[n["class_type"]][3]]
        self.queue.append([number, pid, graph, {"client_id": body.get("client_id")}, outputs])
        self.max_outstanding = max(self.max_outstanding, len(self.queue) + (1 if self.running else 0))
        await self.send("status", {"status": self._status()})
        self._wake.set()
        return web.json_response({"prompt_id": pid, "number": number, "node_errors": {}})

    def _validate(self, graph):
        if not isinstance(graph, dict):
            return _error("invalid_prompt", "Cannot execute because the prompt is not a JSON object."), {}
        for nid, node in graph.items():
            if not isinstance(node, dict) or "class_type" not in node:
                return _error(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{nid}'",
                ), {}
            if node["class_type"] not in self.nodes:
                return _error(
                    "invalid_prompt",
                    f"Cannot execute because node {node['class_type']} does not exist.",
                    f"Node ID '#{nid}'",
                ), {}
        outputs = [nid for nid, n in graph.items() if self.nodes[n["class_type"]][3]]
        if not outputs:
            return _error("prompt_no_outputs", "Prompt has no outputs"), {}
        node_errors = {}
        for out in outputs:
            bad = set()
            self._validate_node(graph, out, bad, node_errors, set())
            for nid in bad:
                node_errors[nid].setdefault("dependent_outputs", [])
                if out not in node_errors[nid]["dependent_outputs"]:
                    node_errors[nid]["dependent_outputs"].append(out)
        if node_errors:  # the real server leaves the top-level details empty
            return _error("prompt_outputs_failed_validation", "Prompt outputs failed validation"), node_errors
        return None, {}

    def _validate_node(self, graph, nid, bad, node_errors, seen):
        if nid in seen:
            return
        seen.add(nid)
        node = graph[nid]
        cls = node["class_type"]
        req, opt, *_ = self.nodes[cls]
        declared = {**opt, **req}
        inputs = node.get("inputs") or {}
        errors = []
        for name in req:
            if name not in inputs:
                errors.append(_error("required_input_missing", "Required input is missing", name, {"input_name": name}))
        for name, val in inputs.items():
            if name not in declared:
                continue
            spec = self._spec(declared[name])
            extra = {"input_name": name, "input_config": spec, "received_value": val}
            if isinstance(val, list):
                if len(val) != 2:
                    errors.append(
                        _error(
                            "bad_linked_input",
                            "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                            name,
                            extra,
                        )
                    )
                    continue
                src, slot = val
                if (
                    src not in graph
                    or not isinstance(slot, int)
                    or slot >= len(self.nodes[graph[src]["class_type"]][2])
                ):
                    errors.append(
                        _error(
                            "exception_during_inner_validation",
                            "Exception when validating inner node",
                            f"'{src}'",
                            extra,
                        )
                    )
                    continue
                got = self.nodes[graph[src]["class_type"]][2][slot]
                if isinstance(spec[0], str) and spec[0] != got and spec[0] != "*":
                    errors.append(
                        _error(
                            "return_type_mismatch",
                            "Return type mismatch between linked nodes",
                            f"{name}, received_type({got}) mismatch input_type({spec[0]})",
                            {"input_name": name, "input_config": spec, "received_type": got, "linked_node": val},
                        )
                    )
                    continue
                self._validate_node(graph, src, bad, node_errors, seen)
                if src in node_errors:
                    bad.add(src)
                continue
            kind = spec[0]
            if kind == "COMBO":
                continue  # newer-style dropdowns are checked only when the node runs
            if cls == "LoadImage" and name == "image":
                if not (self.root / "input" / str(val)).is_file():
                    errors.append(
                        _error(
                            "custom_validation_failed",
                            "Custom validation failed for node",
                            f"image - Invalid image file: {val}",
                            extra,
                        )
                    )
                continue
            if isinstance(kind, list):
                if val not in kind:
                    # the real server does not send back long lists (scanned model folders)
                    shown = f"(list of length {len(kind)})" if len(kind) > 20 else str(kind)
                    if len(kind) > 20:
                        extra = {**extra, "input_config": None}
                    errors.append(
                        _error("value_not_in_list", "Value not in list", f"{name}: '{val}' not in {shown}", extra)
                    )
            elif kind in ("INT", "FLOAT"):
                try:
                    num = int(val) if kind == "INT" else float(val)
                    if isinstance(val, bool):
                        raise ValueError
                except (TypeError, ValueError):
                    errors.append(
                        _error(
                            "invalid_input_type",
                            f"Failed to convert an input value to a {kind} value",
                            f"{name}, {val}, invalid literal",
                            extra,
                        )
                    )
                    continue
                opts = spec[1]
                if "min" in opts and num < opts["min"]:
                    errors.append(
                        _error("value_smaller_than_min", f"Value {num} smaller than min of {opts['min']}", name, extra)
                    )
                if "max" in opts and num > opts["max"]:
                    errors.append(
                        _error("value_bigger_than_max", f"Value {num} bigger than max of {opts['max']}", name, extra)
                    )
        if errors:
            node_errors[nid] = {"errors": errors, "dependent_outputs": [], "class_type": cls}
            bad.add(nid)

    # --- execution ----------------------------------------------------------------------

    async def _worker(self):
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.queue:
                item = self.queue.pop(0)
                self.running = item
                run = Execution(item[1], time.time())
                self.executions.append(run)
                try:
                    await self._execute(item)
                    run.status = self.history.get(item[1], {}).get("status", {}).get("status_str", "?")
                except _Restarted:
                    run.status = "restarted"
                    continue
                except asyncio.CancelledError:
                    run.status = "stopped"  # stop() mid-run: the server went down with it
                    raise
                finally:
                    run.end = time.time()
                    if self.running is item:
                        self.running = None

    def _signatures(self, graph):
        memo = {}

        def sig(nid):
            if nid not in memo:
                node = graph[nid]
                parts = [node["class_type"]]
                for name, val in sorted(node["inputs"].items()):
                    parts.append((name, ("link", sig(val[0]), val[1]) if isinstance(val, list) else json.dumps(val)))
                if node["class_type"] == "LoadImage":  # IS_CHANGED: the file's hash
                    path = self.root / "input" / str(node["inputs"]["image"])
                    parts.append(hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "")
                memo[nid] = hashlib.sha256(repr(parts).encode()).hexdigest()
            return memo[nid]

        return {nid: sig(nid) for nid in graph}

    def _order(self, graph, outputs):
        order, seen = [], set()

        def visit(nid):
            if nid in seen:
                return
            seen.add(nid)
            for val in graph[nid]["inputs"].values():
                if isinstance(val, list):
                    visit(val[0])
            order.append(nid)

        for out in outputs:
            visit(out)
        return order

    async def _execute(self, item):
        number, pid, graph, extra, outputs = item
        sid = extra.get("client_id")
        messages = []

        async def event(kind, data, record=True):
            if record:
                messages.append([kind, data])
            await self.send(kind, data, sid)

        await event("execution_start", {"prompt_id": pid, "timestamp": _ms()})
        sigs = self._signatures(graph)
        order = self._order(graph, outputs)
        cached = [nid for nid in order if sigs[nid] in self.cache]
        await event("execution_cached", {"nodes": cached, "prompt_id": pid, "timestamp": _ms()})
        values, ui_outputs, executed = {}, {}, []
        new_cache = {}
        for nid in cached:
            values[nid], ui = self.cache[sigs[nid]]
            new_cache[sigs[nid]] = self.cache[sigs[nid]]
            if ui is not None:
                ui_outputs[nid] = ui
                await event(
                    "executed", {"node": nid, "display_node": nid, "output": ui, "prompt_id": pid}, record=False
                )
        try:
            for nid in order:
                if nid in values:
                    continue
                node = graph[nid]
                if self._interrupt == pid:  # an interrupt takes effect at a node boundary
                    raise _InterruptedRun()
                await event("executing", {"node": nid, "display_node": nid, "prompt_id": pid}, record=False)
                await event(
                    "progress_state",
                    {
                        "prompt_id": pid,
                        "nodes": {nid: {"value": 0, "max": 1, "state": "running", "node_id": nid, "prompt_id": pid}},
                    },
                    record=False,
                )
                args = {k: (values[v[0]][v[1]] if isinstance(v, list) else v) for k, v in node["inputs"].items()}
                self._maybe_fail(graph, node)
                self._check_combo_v3(node)
                if node["class_type"] in self.slow_nodes:  # runs on, deaf to interrupts
                    await asyncio.sleep(self.slow_nodes[node["class_type"]])
                result, ui = await self._run_node(node["class_type"], args, graph, pid, nid, sid)
                values[nid] = result
                new_cache[sigs[nid]] = (result, ui)
                executed.append(nid)
                if ui is not None:
                    ui_outputs[nid] = ui
                    await event(
                        "executed", {"node": nid, "display_node": nid, "output": ui, "prompt_id": pid}, record=False
                    )
        except _ExecError as e:
            self.cache = new_cache
            node = graph[nid]
            # the real server's shapes: the traceback as formatted frames, each input as a
            # list of value reprs, the outputs as a list of node ids
            await event(
                "execution_error",
                {
                    "prompt_id": pid,
                    "node_id": nid,
                    "node_type": node["class_type"],
                    "executed": executed,
                    "exception_message": e.message,
                    "exception_type": e.exception_type,
                    "traceback": [
                        '  File "/ComfyUI/execution.py", line 496, in execute\n'
                        "    output_data, output_ui, has_subgraph, has_pending_tasks = "
                        "await get_output_data(...)\n",
                        '  File "/ComfyUI/execution.py", line 315, in get_output_data\n'
                        "    return_values = await _async_map_node_over_list(...)\n",
                    ],
                    "current_inputs": {k: [repr(v)[:80]] for k, v in node["inputs"].items() if not isinstance(v, list)},
                    "current_outputs": list(executed),
                    "timestamp": _ms(),
                },
            )
            await self._finish(item, {}, "error", messages)
            return
        except _InterruptedRun:
            await event(
                "execution_interrupted",
                {
                    "prompt_id": pid,
                    "node_id": nid,
                    "node_type": graph[nid]["class_type"],
                    "executed": executed,
                    "timestamp": _ms(),
                },
            )
            await self._finish(item, {}, "error", messages)
            return
        self.cache = new_cache  # like ComfyUI's default cache: the last prompt's nodes
        await event("execution_success", {"prompt_id": pid, "timestamp": _ms()})
        await self._finish(item, ui_outputs, "success", messages)

    async def _finish(self, item, outputs, status, messages):
        number, pid, graph, extra, outs = item
        self.history[pid] = {
            "prompt": item,
            "outputs": outputs,
            "status": {"status_str": status, "completed": status == "success", "messages": messages},
            "meta": {
                nid: {"node_id": nid, "display_node": nid, "parent_node": None, "real_node_id": nid} for nid in outputs
            },
        }
        self.running = None
        self._interrupt = None
        await self.send("status", {"status": self._status()})
        await self.send("executing", {"node": None, "display_node": None, "prompt_id": pid}, extra.get("client_id"))

    def _check_combo_v3(self, node):
        req, opt, *_ = self.nodes[node["class_type"]]
        for name, spec in {**opt, **req}.items():
            value = node["inputs"].get(name)
            if isinstance(spec, tuple) and spec[0] == "combo_v3" and name in node["inputs"] and value not in spec[1]:
                raise _ExecError("ValueError", f"Value not in list: {name}: '{value}' not in {list(spec[1])}")

    def _maybe_fail(self, graph, node):
        for rule in self.fail_when:
            if rule.times > 0 and node["class_type"] == rule.node_class and rule.match(graph):
                rule.times -= 1
                raise _ExecError(rule.exception_type, rule.message)

    async def _steps(self, n, pid, nid, sid, graph):
        for step in range(1, n + 1):
            if self._interrupt == pid:
                raise _InterruptedRun()
            for rule in self.restart_when:
                if rule.times > 0 and step == rule.at_step and rule.match(graph):
                    rule.times -= 1
                    await self._restart(rule.down_for)
                    raise _Restarted()
            await asyncio.sleep(self.step_seconds)
            await self.send("progress", {"value": step, "max": n, "prompt_id": pid, "node": nid}, sid)
            await self.send(
                "progress_state",
                {
                    "prompt_id": pid,
                    "nodes": {
                        nid: {
                            "value": step,
                            "max": n,
                            "state": "running",
                            "node_id": nid,
                            "prompt_id": pid,
                            "display_node_id": nid,
                            "parent_node_id": None,
                            "real_node_id": nid,
                        }
                    },
                },
                sid,
            )
            if self.previews:  # a JPEG preview per step (--preview-method): clients skip binary frames
                await self.send("preview", b"\x00\x00\x00\x01\x00\x00\x00\x01" + b"\xff\xd8\xff\xd9", sid)

    async def _run_node(self, cls, a, graph, pid, nid, sid):
        if cls == "CheckpointLoaderSimple":
            return [{"model": a["ckpt_name"]}, {"clip": a["ckpt_name"]}, {"vae": a["ckpt_name"]}], None
        if cls == "LoraLoader":
            return [a["model"], a["clip"]], None
        if cls == "CLIPLoader":
            return [{"clip": a["clip_name"]}], None
        if cls == "CLIPTextEncode":
            return [{"text": a["text"]}], None
        if cls == "EmptyLatentImage":
            # SD latents are 1/8 of the picture: sizes round down to a multiple of 8
            return [{"w": a["width"] // 8 * 8, "h": a["height"] // 8 * 8, "frames": 1, "batch": a["batch_size"]}], None
        if cls == "KSampler":
            await self._steps(a["steps"], pid, nid, sid, graph)
            return [{**a["latent_image"], "seed": a["seed"]}], None
        if cls == "VAEDecode":
            return [dict(a["samples"])], None
        if cls == "LoadImage":
            path = self.root / "input" / a["image"]
            with Image.open(path) as img:
                w, h = img.size
            return [{"w": w, "h": h, "frames": 1, "batch": 1, "source": str(path)}, {"mask": True}], None
        if cls == "LTXVImgToVideo":
            # the LTX VAE works on 32x32 pixels and 8-frame groups: 8k+1 frames, sizes of 32
            frames = (a["length"] - 1) // 8 * 8 + 1
            latent = {
                "w": a["width"] // 32 * 32,
                "h": a["height"] // 32 * 32,
                "frames": frames,
                "batch": a["batch_size"],
                "source": a["image"].get("source"),
            }
            return [a["positive"], a["negative"], latent], None
        if cls == "LTXVConditioning":
            return [a["positive"], a["negative"]], None
        if cls == "LTXVScheduler":
            return [{"steps": a["steps"]}], None
        if cls == "KSamplerSelect":
            return [{"sampler": a["sampler_name"]}], None
        if cls == "SamplerCustom":
            await self._steps(a["sigmas"]["steps"], pid, nid, sid, graph)
            out = {**a["latent_image"], "seed": a["noise_seed"]}
            return [out, out], None
        if cls == "CreateVideo":
            return [{**a["images"], "fps": a["fps"]}], None
        if cls == "SaveImage":
            items = await asyncio.get_running_loop().run_in_executor(
                None, self._save_pngs, a["images"], a["filename_prefix"], graph
            )
            return [], {"images": items}
        if cls == "SaveVideo":
            item = await self._save_video(a["video"], a["video"]["fps"], a["filename_prefix"], graph)
            return [], {"images": [item], "animated": [True]}
        if cls == "VHS_VideoCombine":
            item = await self._save_video(a["images"], a["frame_rate"], a["filename_prefix"], graph)
            item.update(format="video/h264-mp4", frame_rate=a["frame_rate"], workflow="", fullpath="")
            return [f"{item['subfolder']}/{item['filename']}"], {"gifs": [item]}
        raise _ExecError("NotImplementedError", f"the test double cannot run {cls}")

    def _target(self, prefix, ext):
        """(folder, subfolder, file name) like ComfyUI: <prefix>_<counter:05>_.<ext>, counter past the highest."""
        base = (self.root / "output").resolve()
        folder = (base / os.path.dirname(prefix)).resolve()
        if os.path.commonpath((str(folder), str(base))) != str(base):
            raise _ExecError("Exception", "**** ERROR: Saving image outside the output folder is not allowed.")
        name = os.path.basename(prefix)
        folder.mkdir(parents=True, exist_ok=True)
        pattern = re.compile(re.escape(name) + r"_(\d{5})_")
        counters = [int(m.group(1)) for p in folder.iterdir() for m in [pattern.match(p.name)] if m]
        counter = max(counters, default=0) + 1
        return folder, os.path.dirname(prefix), f"{name}_{counter:05}_.{ext}"

    def _save_pngs(self, images, prefix, graph):
        items = []
        for i in range(images.get("batch", 1)):
            folder, sub, filename = self._target(prefix, "png")
            img = _picture(images["w"], images["h"], images.get("seed", 0) + i, images.get("source"), self.photos)
            meta = PngImagePlugin.PngInfo()
            meta.add_text("prompt", json.dumps(graph))  # SaveImage embeds the API graph
            img.save(folder / filename, pnginfo=meta, compress_level=1)
            items.append({"filename": filename, "subfolder": sub, "type": "output"})
        return items

    async def _save_video(self, video, fps, prefix, graph):
        folder, sub, filename = self._target(prefix, "mp4")
        first = _picture(video["w"], video["h"], video.get("seed", 0), video.get("source"), self.photos)
        # H.264 High profile with the graph in a `prompt` tag, as SaveVideo writes through PyAV
        cmd = [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{video['w']}x{video['h']}",
            "-r",
            str(fps),
            "-i",
            "-",
            "-frames:v",
            str(video["frames"]),
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-metadata",
            f"prompt={json.dumps(graph)[:2000]}",
            str(folder / filename),
        ]
        frames = b"".join(np.asarray(f).tobytes() for f in _push_in(first, video["frames"]))
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate(frames)
        if proc.returncode != 0:
            last = err.decode(errors="replace").strip().splitlines()[-3:]
            raise _ExecError("av.error.ExternalError", "avcodec_open2(libx264): " + " | ".join(last))
        return {"filename": filename, "subfolder": sub, "type": "output"}


def _ms():
    return int(time.time() * 1000)


def _photo(name):
    """An RGB photograph that scikit-image ships with its package (no download)."""
    from skimage import data

    return Image.fromarray(np.asarray(getattr(data, name)())[..., :3])


def _crop(img, w, h, zoom=1.0, fx=0.5, fy=0.5):
    """The w:h window of img at `zoom` (1: as large as fits), its left/top at fx/fy of the
    slack, scaled to w x h."""
    W, H = img.size
    cw, ch = (H * w / h, H) if W / H > w / h else (W, W * h / w)
    cw, ch = cw / zoom, ch / zoom
    x, y = (W - cw) * fx, (H - ch) * fy
    return img.resize((w, h), Image.Resampling.LANCZOS, box=(x, y, x + cw, y + ch))


def _picture(w, h, seed, source=None, photos=("astronaut",)):
    """The input image scaled to w x h, or a seeded crop of a photograph: another seed is
    another window (zoom 1-1.2, placed within the middle half of the slack)."""
    if source:
        with Image.open(source) as img:
            return img.convert("RGB").resize((w, h), Image.Resampling.LANCZOS)
    rng = np.random.default_rng(seed)
    photo = _photo(photos[int(rng.integers(len(photos)))])
    return _crop(photo, w, h, zoom=1.0 + 0.2 * rng.random(), fx=0.25 + 0.5 * rng.random(), fy=0.25 + 0.5 * rng.random())


def _push_in(first, n):
    """n frames of a slow push-in (to 1.1x) and pan to the right (4 % of the width) over
    `first`; frame 0 is `first` itself, as an image-to-video model starts on its image."""
    w, h = first.size
    big = first.resize((w * 2, h * 2), Image.Resampling.BICUBIC)  # sub-pixel steps without jitter
    for i in range(n):
        t = i / (n - 1) if n > 1 else 0.0
        zoom = 1.0 + 0.1 * t
        cw, ch = 2 * w / zoom, 2 * h / zoom
        cx = min(w + 0.08 * w * t, 2 * w - cw / 2)
        box = (cx - cw / 2, h - ch / 2, cx + cw / 2, h + ch / 2)
        yield first if i == 0 else big.resize((w, h), Image.Resampling.BILINEAR, box=box)


def free_port():
    """A loopback port nothing listens on (for the 'server down' cases)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=8188)
    ap.add_argument("--root", default="comfyui-double")
    ap.add_argument("--step-seconds", type=float, default=0.05)
    args = ap.parse_args()
    server = FakeComfyUI(args.root, step_seconds=args.step_seconds).start(args.port)
    print(f"ComfyUI test double on {server.url} (files in {args.root}); Ctrl-C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
