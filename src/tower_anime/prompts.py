"""Text prompts for the image and video backends, from Jinja2 templates in config/prompts/.

`prompt_context` builds the one plain dict every template sees; add new facts (for example
from a knowledge base) there and every template can use them. The rendered prompts go into
the per-shot spec, so editing a template, the style or a shot re-plans exactly the shots
whose prompt text changed.
"""

from __future__ import annotations

import functools
import traceback
from pathlib import Path
from typing import Any

import jinja2

from .errors import InvalidInput, ValidationProblem

STAGES = ("still", "clip")


def prompt_context(stage: str, spec: dict[str, Any], style: dict[str, Any]) -> dict[str, Any]:
    """The template context: a plain dict of plain values (JSON types only).

    `spec` is a still spec (story/plan.py); for the clip stage it may also carry `frames`
    and `fps`, which give `seconds`. Knowledge-base facts in the spec are passed on: each
    character's `facts` ([{predicate, object}]), and style-bible facts (the spec's `style`
    list) override the config's `style` entries of the same name.
    """
    bible = {f["predicate"]: f["object"] for f in spec.get("style") or [] if isinstance(f, dict)}
    ctx = {
        "stage": stage,
        "episode": spec["episode"],
        "scene": spec["scene"],
        "shot": spec["shot"],
        "action": spec["action"],
        "location": spec["location"],
        "time_of_day": spec["time_of_day"],
        "camera": dict(spec["camera"]),
        "characters": [
            {
                "id": c["id"],
                "name": c["name"],
                "description": c["description"],
                "facts": [dict(f) for f in c.get("facts") or []],
            }
            for c in spec.get("characters", [])
        ],
        "style": {**style, **bible},
    }
    if "frames" in spec and "fps" in spec:
        ctx["seconds"] = round(spec["frames"] / spec["fps"], 3)
    return ctx


@functools.cache
def _environment(templates_dir):
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,  # a misspelt variable is an error, not an empty string
        autoescape=False,
        keep_trailing_newline=False,
    )


def _template_line(exc, filename):
    """The template line an error was raised at (Jinja maps its frames to template lines)."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and Path(frame.filename).name == filename:
            return frame.lineno
    return getattr(exc, "lineno", None)


def render_prompt(templates_dir: Path | str, name: str, context: dict[str, Any]) -> str:
    """Render one template; collapse whitespace so templates can be laid out freely."""
    path = Path(templates_dir) / name
    try:
        text = _environment(str(templates_dir)).get_template(name).render(context)
    except jinja2.TemplateNotFound:
        raise InvalidInput(
            [ValidationProblem(path, "", "prompt template not found; create it or set prompts.dir in the config")]
        ) from None
    except jinja2.TemplateSyntaxError as e:
        raise InvalidInput(
            [ValidationProblem(path, f"line {e.lineno}", f"template syntax error: {e.message}")]
        ) from None
    except (jinja2.UndefinedError, TypeError, KeyError) as e:
        line = _template_line(e, name)
        raise InvalidInput(
            [
                ValidationProblem(
                    path,
                    f"line {line}" if line else "",
                    f"{e}; the context has {sorted(context)} (see tower_anime/prompts.py prompt_context)",
                )
            ]
        ) from None
    return " ".join(text.split())


def build_prompts(
    stage: str, spec: dict[str, Any], style: dict[str, Any], templates_dir: Path | str = "config/prompts"
) -> dict[str, str]:
    """{"positive", "negative"} prompts of one shot for `stage` ("still" or "clip")."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    context = prompt_context(stage, spec, style)
    return {
        "positive": render_prompt(templates_dir, f"{stage}.j2", context),
        "negative": render_prompt(templates_dir, "negative.j2", context),
    }
