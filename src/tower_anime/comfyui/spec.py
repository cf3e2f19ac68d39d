"""What a ComfyUI still or clip job is asked to make: its part of the per-shot spec (resolved
when the story is planned) and the variables its workflow template is rendered with.

Everything that shapes the picture (prompt text, LoRAs, checkpoint, sampler settings, the
workflow template's name) is in the spec, so Snakemake re-plans exactly the shots whose
values changed. Servers, timeouts and retries are not: they never change a picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ValidationProblem
from ..prompts import build_prompts
from ..storylike import StoryLike

STAGE_KEYS = {"still": "stills", "clip": "clips"}


def model_length(frames: int, step: int) -> int:
    """The smallest step*k+1 frame count >= frames, k >= 1 (LTX-Video renders 8k+1 frames,
    at least 9). A shorter shot is padded: the model renders 9 and the clip is trimmed back."""
    if step <= 1:
        return frames
    k = max(1, -(-(frames - 1) // step))
    return step * k + 1


def loras_of(characters: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One LoRA per character of the shot that has one, in the shot's order."""
    return [
        {
            "name": c["lora"]["file"],
            "strength_model": c["lora"].get("strength_model", 0.8),
            "strength_clip": c["lora"].get("strength_clip", 0.8),
        }
        for c in characters
        if c.get("lora")
    ]


def resolve_workflow(
    stage: str,
    shot: dict[str, Any],
    episode: dict[str, Any],
    characters: dict[str, dict[str, Any]],
    config: dict[str, Any],
) -> str:
    """The template's file name: shot > first character of the shot naming one > episode > config."""
    key = STAGE_KEYS[stage]
    if (shot.get("workflow") or {}).get(key):
        return shot["workflow"][key]
    for cid in shot.get("characters", []):
        name = (characters[cid].get("workflow") or {}).get(key)
        if name:
            return name
    if (episode.get("workflow") or {}).get(key):
        return episode["workflow"][key]
    return config["comfyui"][key]["workflow"]


def workflow_path(config: dict[str, Any], name: str) -> Path:
    return Path(config["comfyui"]["workflows_dir"]) / name


def workflow_problems(
    story: StoryLike, config: dict[str, Any], key: str, config_file: Path | str = "config"
) -> list[ValidationProblem]:
    """Every workflow template the comfyui backend of stage `key` (stills, clips) could use
    exists: one problem per bad name."""
    folder = Path(config["comfyui"]["workflows_dir"])
    have = sorted(p.name for p in folder.glob("*")) if folder.is_dir() else []
    found = []

    def check(file, field, name):
        if not (folder / name).is_file():
            found.append(
                ValidationProblem(file, field, f"no workflow template {name!r} in {folder}; expected one of {have}")
            )

    check(config_file, f"comfyui.{key}.workflow", config["comfyui"][key]["workflow"])
    for cid, char in story.characters.items():
        if (char.get("workflow") or {}).get(key):
            check(config["story"]["characters"], f"characters.{cid}.workflow.{key}", char["workflow"][key])
    for ep_id, doc in story.episodes.items():
        file = story.files.get(ep_id, ep_id)
        if (doc.get("workflow") or {}).get(key):
            check(file, f"workflow.{key}", doc["workflow"][key])
        for si, scene in enumerate(doc["scenes"]):
            for hi, shot in enumerate(scene["shots"]):
                if (shot.get("workflow") or {}).get(key):
                    check(file, f"scenes[{si}].shots[{hi}].workflow.{key}", shot["workflow"][key])
    return found


def still_fields(
    still: dict[str, Any],
    shot: dict[str, Any],
    episode: dict[str, Any],
    characters: dict[str, dict[str, Any]],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The comfyui part of a still spec: its prompts and its render settings."""
    c = config["comfyui"]["stills"]
    return {
        "prompt": build_prompts("still", still, config["style"], config["prompts"]["dir"]),
        "comfyui": {
            "workflow": resolve_workflow("still", shot, episode, characters, config),
            "checkpoint": c["checkpoint"],
            "steps": c["steps"],
            "cfg": c["cfg"],
            "sampler": c["sampler"],
            "scheduler": c["scheduler"],
            "loras": loras_of(still["characters"]),
        },
    }


def clip_fields(
    still: dict[str, Any],
    frames: int,
    fps: float,
    shot: dict[str, Any],
    episode: dict[str, Any],
    characters: dict[str, dict[str, Any]],
    config: dict[str, Any],
) -> dict[str, Any]:
    """The comfyui part of a clip spec. `length` is what the model renders; the clip is
    trimmed to the shot's `frames` afterwards."""
    c = config["comfyui"]["clips"]
    return {
        "prompt": build_prompts(
            "clip", {**still, "frames": frames, "fps": fps}, config["style"], config["prompts"]["dir"]
        ),
        "comfyui": {
            "workflow": resolve_workflow("clip", shot, episode, characters, config),
            "checkpoint": c["checkpoint"],
            "text_encoder": c["text_encoder"],
            "steps": c["steps"],
            "cfg": c["cfg"],
            "sampler": c["sampler"],
            "image_strength": c["image_strength"],
            "length": model_length(frames, c["length_step"]),
            "loras": loras_of(still["characters"]),
        },
    }


def filename_prefix(stage: str, spec: dict[str, Any]) -> str:
    still = spec if stage == "still" else spec["still"]
    return f"tower/{still['episode']}/{still['shot']}_{stage}"


def template_variables(stage: str, spec: dict[str, Any], prefix: str, image: str | None = None) -> dict[str, Any]:
    """The variables a workflow template is rendered with (see config/workflows/*.j2)."""
    c = spec["comfyui"]
    still = spec if stage == "still" else spec["still"]
    variables = {
        "prompt": spec["prompt"]["positive"],
        "negative_prompt": spec["prompt"]["negative"],
        "seed": still["seed"],
        "width": still["width"],
        "height": still["height"],
        "checkpoint": c["checkpoint"],
        "steps": c["steps"],
        "cfg": c["cfg"],
        "sampler": c["sampler"],
        "loras": c["loras"],
        "filename_prefix": prefix,
        "episode": still["episode"],
        "shot": still["shot"],
    }
    if c["loras"]:
        variables["lora"] = c["loras"][0]
    if stage == "still":
        variables["scheduler"] = c["scheduler"]
    else:
        variables.update(
            frames=c["length"], fps=spec["fps"], text_encoder=c["text_encoder"], image_strength=c["image_strength"]
        )
        if image is not None:
            variables["image"] = image
    return variables
