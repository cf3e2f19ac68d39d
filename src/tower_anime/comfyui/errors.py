"""ComfyUI failures as errors a user can act on, and the translation of the server's answers.

The shapes translated here are the real server's (as observed on ComfyUI 0.3.64): the
400 body of POST /prompt (`error` + `node_errors`) and the websocket `execution_error`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..errors import TowerError
from ..store.url import mask_urls_in


def start_hint(url: str) -> str:
    """How to start ComfyUI where `url` (or several, comma-separated) expects it: the URL's
    own host and port, not ComfyUI's default 8188."""
    commands = []
    for one in url.split(", "):
        parts = urlsplit(one)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        local = parts.hostname in (None, "127.0.0.1", "localhost", "::1")
        listen = "127.0.0.1" if local else "0.0.0.0"
        where = "" if local else f" on {parts.hostname}"
        command = f"`python main.py --listen {listen} --port {port}`{where}"
        if command not in commands:
            commands.append(command)
    return (
        f"start ComfyUI (in its folder: {' and '.join(commands)}) "
        "or set comfyui.servers in your config to where it runs"
    )


# Which models/ folder a dropdown input of a loader reads, for "put the file there" hints.
MODEL_FOLDERS = {
    "ckpt_name": "models/checkpoints",
    "lora_name": "models/loras",
    "clip_name": "models/text_encoders",
    "clip_name1": "models/text_encoders",
    "clip_name2": "models/text_encoders",
    "vae_name": "models/vae",
    "unet_name": "models/diffusion_models",
    "control_net_name": "models/controlnet",
    "model_name": "models/upscale_models",
}

OOM_HINT = (
    "the card ran out of memory. Free it (close other programs using the GPU), lower "
    "output.width/height or the clip length, use a smaller text encoder (e.g. "
    "t5xxl_fp8_e4m3fn.safetensors), or start ComfyUI with --lowvram or --reserve-vram 1"
)


class ComfyUIError(TowerError):
    """Base class of every ComfyUI failure. A server URL may carry credentials (user:pass@):
    every message has them masked, whichever part of the client wrote it."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(mask_urls_in(message), *args)


class Unreachable(ComfyUIError):
    """No connection to a server (refused, timed out, DNS)."""

    def __init__(self, url, reason):
        self.url, self.reason = url, reason
        super().__init__(f"cannot reach ComfyUI at {url} ({reason}); {start_hint(url)}")


class Transient(ComfyUIError):
    """A fault worth retrying: connection reset, 5xx, a server restart that lost the prompt.
    `down`: the connection itself failed (a server restarting): retried within
    comfyui.restart_budget_s rather than comfyui.retries."""

    def __init__(self, message, down=False):
        super().__init__(message)
        self.down = down


class TemplateError(ComfyUIError):
    """A workflow template that does not render to a valid API-format graph."""


class PromptRejected(ComfyUIError):
    """POST /prompt answered 400: the graph failed the server's validation."""


class ExecutionFailed(ComfyUIError):
    """A node raised while the prompt ran (websocket execution_error)."""


class OutOfMemory(ExecutionFailed):
    """An execution error that is the card running out of memory."""


class Interrupted(ComfyUIError):
    """The prompt was interrupted on the server (by someone else, or the UI's Cancel)."""


class JobTimeout(ComfyUIError):
    """A prompt or a request took longer than the configured timeout."""


class BadOutput(ComfyUIError):
    """The server's output is missing or does not match what was asked (size, frames, rate)."""


class OutputGone(BadOutput):
    """History names a file that /view no longer has (deleted on the server)."""


class MissingOnServer(ComfyUIError):
    """The preflight found node classes or model files the graphs need and the server lacks."""


class JobCancelled(ComfyUIError):
    """The job was stopped (Ctrl-C or SIGTERM); its prompt was interrupted on the server."""


def _short(value, limit=120):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _allowed(input_config):
    """What an input accepts, from the `input_config` of a node error (either COMBO style)."""
    if not isinstance(input_config, (list, tuple)) or not input_config:
        return None
    kind = input_config[0]
    opts = input_config[1] if len(input_config) > 1 and isinstance(input_config[1], dict) else {}
    if isinstance(kind, list):
        return f"one of {_short(kind, 400)}"
    if kind == "COMBO" and "options" in opts:
        return f"one of {_short(opts['options'], 400)}"
    bounds = [f"{k} {opts[k]}" for k in ("min", "max") if k in opts]
    if bounds:
        return f"a {kind} with " + " and ".join(bounds)
    return f"a {kind}"


def describe_node_error(node_id: str, entry: dict[str, Any], graph: dict[str, Any] | None = None) -> list[str]:
    """One line per problem of one node in `node_errors`."""
    cls = entry.get("class_type") or (graph or {}).get(node_id, {}).get("class_type", "?")
    lines = []
    for err in entry.get("errors", []):
        info = err.get("extra_info") or {}
        name = info.get("input_name")
        where = f"node {node_id} ({cls})" + (f" input '{name}'" if name else "")
        text = f"{where}: {err.get('message', err.get('type'))}"
        if err.get("details"):
            text += f" [{err['details']}]"
        if "received_value" in info:
            text += f"; received {_short(info['received_value'])}"
        allowed = _allowed(info.get("input_config"))
        if allowed and err.get("type") != "required_input_missing":
            text += f"; allowed: {allowed}"
        if err.get("type") == "value_not_in_list" and name in MODEL_FOLDERS:
            text += f" (the model file is missing on the server: put it in ComfyUI/{MODEL_FOLDERS[name]}/ or fix the name in your config)"
        elif err.get("type") == "required_input_missing":
            text += " (the workflow template does not set it)"
        lines.append(text)
    return lines


def prompt_rejected(
    body: dict[str, Any] | None, url: str, template: str | None = None, graph: dict[str, Any] | None = None
) -> PromptRejected:
    """PromptRejected from the JSON body of a 400 answer to POST /prompt."""
    err = (body or {}).get("error") or {}
    if isinstance(err, str):
        err = {"message": err}
    head = f"ComfyUI at {url} rejected the graph"
    if template:
        head += f" from workflow template {template}"
    head += f": {err.get('type', 'error')}: {err.get('message', '')}".rstrip(": ")
    lines = []
    for node_id, entry in sorted(((body or {}).get("node_errors") or {}).items()):
        lines.extend(describe_node_error(node_id, entry, graph))
    if not lines and err.get("details"):
        lines.append(str(err["details"]))
    if err.get("type") == "invalid_prompt" and "does not exist" in err.get("message", ""):
        lines.append("update ComfyUI or install the custom node that provides this class")
    return PromptRejected(head + "".join(f"\n  - {line}" for line in lines))


def is_oom(data: dict[str, Any]) -> bool:
    text = f"{data.get('exception_type', '')} {data.get('exception_message', '')}".lower()
    return "outofmemory" in text.replace(" ", "") or "out of memory" in text or "allocation on device" in text


def execution_failed(data: dict[str, Any], url: str, what: str) -> ExecutionFailed:
    """ExecutionFailed (or OutOfMemory) from the data of an `execution_error` message."""
    node = f"node {data.get('node_id', '?')} ({data.get('node_type', '?')})"
    message = (data.get("exception_message") or "").strip().splitlines()
    first = message[0] if message else ""
    kind = data.get("exception_type", "exception")
    if is_oom(data):
        return OutOfMemory(
            f"out of GPU memory rendering {what} on {url}: {node} raised {kind}: {first}\n  hint: {OOM_HINT}"
        )
    return ExecutionFailed(f"ComfyUI at {url} failed rendering {what}: {node} raised {kind}: {first}")
