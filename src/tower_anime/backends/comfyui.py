"""ComfyUI: stills (text-to-image with each character's LoRA) and clips (LTX-Video
image-to-video from the still) rendered on a ComfyUI server (comfyui/; README: Real renders on
ComfyUI). One declaration per stage; they share the config section `comfyui`.

No package code is an input of its jobs: a fix to the client must not re-render a season.
The workflow template a shot uses is, so editing it re-renders exactly its shots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from . import Backend, PendingJob, PlanContext, register

# comfyui.spec is imported where it is used: it loads the prompt templates' Jinja2 (~0.02 s
# of CPU), and every job that looks up any backend imports this module.

# the comfyui package's own name for each stage (graph labels, file name prefixes)
_KIND = {"stills": "still", "clips": "clip"}


def render_still(
    spec: dict,
    out_path: Path | str,
    log: TextIO | None = None,
    workflow: Path | str | None = None,
    config: dict | None = None,
    **runtime: Any,
) -> None:
    """Submit the still's graph (made from `workflow`, a template path) and fetch the PNG."""
    # imported here: the client (websocket, HTTP) is not needed to plan a run
    from ..comfyui.render import render_still as render

    render(spec, out_path, log, workflow, config)


def render_clip(
    spec: dict,
    still_path: Path | str,
    out_path: Path | str,
    log: TextIO | None = None,
    workflow: Path | str | None = None,
    config: dict | None = None,
    **runtime: Any,
) -> None:
    """Upload the still, submit the clip's graph and fetch the MP4 (trimmed to spec['frames'])."""
    from ..comfyui.render import render_clip as render

    render(spec, still_path, out_path, log, workflow, config)


def shape_still(spec: dict, where: PlanContext) -> dict:
    """The prompts, the LoRAs and the render settings (after the facts: the prompt templates
    read them from the spec)."""
    from ..comfyui.spec import still_fields

    return {**spec, **still_fields(spec, where.shot, where.episode, where.characters, where.config)}


def shape_clip(spec: dict, where: PlanContext) -> dict:
    from ..comfyui.spec import clip_fields

    return {
        **spec,
        **clip_fields(
            spec["still"], spec["frames"], spec["fps"], where.shot, where.episode, where.characters, where.config
        ),
    }


def template_file(spec: dict, config: dict) -> dict[str, str]:
    """The one workflow template this shot uses."""
    from ..comfyui.spec import workflow_path

    return {"workflow": str(workflow_path(config, spec["comfyui"]["workflow"]))}


def on_submit_host(config: dict) -> bool:
    """comfyui.job_host: submit-host: the jobs are local jobs under a cluster executor. With a
    pool of servers they only talk to the servers over the network, so they need no cluster
    GPU (the SLURM executor turns `gpu=1` into --gpus=1, which a pool client must not ask for),
    and --resources gpu=<servers> holds them to one per server."""
    return config["comfyui"]["job_host"] == "submit-host"


def preflight(jobs: list[PendingJob], config: dict, log_path: str, schedule: dict) -> bool:
    """Every pending graph rendered and checked against every server's /object_info."""
    from ..comfyui.preflight import run_preflight

    checks = [(_KIND[j.stage], j.spec, j.inputs["workflow"], j.label) for j in jobs]
    return run_preflight(checks, config, log_path, schedule)


def workflow_problems(story: Any, config: dict, key: str, config_file: Path | str = "config") -> list:
    """The workflow templates' problems: comfyui.spec.workflow_problems, imported on use."""
    from ..comfyui.spec import workflow_problems as problems

    return problems(story, config, key, config_file)


def min_frames(fps: int) -> int:
    """Any shot length: the model is asked for the next length_step*k+1 frames, at least
    length_step+1 (LTX: 8k+1, at least 9, so a 1-frame shot renders 9), and the clip is
    trimmed back to the shot's frames after the server's file is checked."""
    return 1


COMMON = dict(
    code=(),
    files=template_file,
    seeded=True,
    gpu=True,
    check_story=workflow_problems,
    preflight=preflight,
    submit_host=on_submit_host,
)
register(Backend(stage="stills", name="comfyui", render=render_still, shape=shape_still, **COMMON))
register(Backend(stage="clips", name="comfyui", render=render_clip, shape=shape_clip, min_frames=min_frames, **COMMON))
