"""Workflow templates -> ComfyUI API-format graphs, checked before anything is submitted.

A template is the API format (`{"<id>": {"class_type", "inputs"}}`) with Jinja2 placeholders.
Every `{{ ... }}` writes a JSON value (strings quoted and escaped), so a prompt with quotes or
newlines can never break the graph, and every variable must be defined (StrictUndefined).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2

from .errors import TemplateError

# Outputs of the core nodes the shipped templates use (an index past these is a wiring bug).
# Other classes are checked against the server's /object_info by the preflight.
CORE_OUTPUTS = {
    "CheckpointLoaderSimple": 3,
    "LoraLoader": 2,
    "CLIPTextEncode": 1,
    "EmptyLatentImage": 1,
    "KSampler": 1,
    "VAEDecode": 1,
    "SaveImage": 0,
    "CLIPLoader": 1,
    "LoadImage": 2,
    "LTXVImgToVideo": 3,
    "LTXVConditioning": 2,
    "LTXVScheduler": 1,
    "KSamplerSelect": 1,
    "SamplerCustom": 2,
    "CreateVideo": 1,
    "SaveVideo": 0,
    "VHS_VideoCombine": 1,
}


def _json_value(value):
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value)


@functools.cache
def _environment(folder):
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        finalize=_json_value,
        autoescape=False,
        keep_trailing_newline=True,
    )


def render_template(path: Path | str, variables: dict[str, Any]) -> dict[str, Any]:
    """Render a workflow template to a graph dict; TemplateError names the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise TemplateError(f"workflow template {path} not found; put it in comfyui.workflows_dir or fix the name")
    try:
        text = _environment(str(path.parent.resolve())).get_template(path.name).render(variables)
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"{path}: line {e.lineno}: template syntax error: {e.message}") from None
    except jinja2.UndefinedError as e:
        raise TemplateError(f"{path}: {e.message}; variables this shot provides: {sorted(variables)}") from None
    try:
        graph = json.loads(text)
    except json.JSONDecodeError as e:
        line = text.splitlines()[e.lineno - 1] if 0 < e.lineno <= len(text.splitlines()) else ""
        raise TemplateError(
            f"{path}: the rendered template is not JSON ({e.msg} at rendered line {e.lineno}, column {e.colno}: "
            f'{line.strip()[:160]!r}). Placeholders write JSON values: write "seed": {{{{ seed }}}} and '
            f'"text": {{{{ prompt }}}} without quotes around them'
        ) from None
    validate_graph(graph, path)
    return graph


def is_link(value: object) -> bool:
    return isinstance(value, list)


def validate_graph(graph: Any, source: Path | str = "graph") -> dict[str, Any]:
    """Structure checks of an API-format graph: what the server would reject, said plainly."""
    problems = []
    if not isinstance(graph, dict) or not graph:
        raise TemplateError(
            f"{source}: expected an API-format graph (an object of nodes by id); got {type(graph).__name__}. "
            "Export it from ComfyUI with 'Export (API)', not the UI's saved workflow"
        )
    if "nodes" in graph and "links" in graph:
        raise TemplateError(
            f"{source}: this is the UI's saved workflow format (nodes/links); export it with 'Export (API)'"
        )
    for node_id, node in graph.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str) or not node["class_type"]:
            problems.append(f"node {node_id}: no class_type")
            continue
        inputs = node.get("inputs")
        if not isinstance(inputs, dict):
            problems.append(f"node {node_id} ({node['class_type']}): inputs must be an object")
            continue
        for name, value in inputs.items():
            where = f"node {node_id} ({node['class_type']}) input '{name}'"
            if value is None:
                problems.append(f"{where}: is null (a placeholder with no value)")
            elif is_link(value):
                if (
                    len(value) != 2
                    or not isinstance(value[0], str)
                    or not isinstance(value[1], int)
                    or isinstance(value[1], bool)
                ):
                    problems.append(f'{where}: a link must be ["<node id>", <output index>]; got {value!r}')
                    continue
                src, index = value
                if src not in graph:
                    problems.append(f"{where}: links to node {src!r}, which is not in the graph")
                    continue
                src_class = graph[src].get("class_type") if isinstance(graph[src], dict) else None
                outputs = CORE_OUTPUTS.get(src_class)
                if index < 0 or (outputs is not None and index >= outputs):
                    problems.append(
                        f"{where}: links to output {index} of node {src} ({src_class}), which has "
                        f"{outputs} output(s) (indexes 0..{(outputs or 1) - 1})"
                    )
    if not problems:
        cycle = _find_cycle(graph)
        if cycle:
            problems.append("the links form a cycle: " + " -> ".join(cycle))
    if problems:
        raise TemplateError(
            f"{source}: {len(problems)} problem(s) in the graph:" + "".join(f"\n  - {p}" for p in problems)
        )
    return graph


def _find_cycle(graph):
    state = {}

    def visit(node_id, path):
        state[node_id] = 1
        for value in graph[node_id]["inputs"].values():
            if is_link(value):
                src = value[0]
                if state.get(src) == 1:
                    return path + [node_id, src]
                if src not in state:
                    found = visit(src, path + [node_id])
                    if found:
                        return found
        state[node_id] = 2
        return None

    for node_id in graph:
        if node_id not in state:
            found = visit(node_id, [])
            if found:
                return found
    return None


def save_node(graph: dict[str, Any], filename_prefix: str, source: Path | str = "graph") -> str:
    """The id of the node that writes our file: the one given our filename_prefix."""
    ids = [i for i, n in graph.items() if n["inputs"].get("filename_prefix") == filename_prefix]
    if len(ids) != 1:
        raise TemplateError(
            f'{source}: expected exactly one node with "filename_prefix": {{{{ filename_prefix }}}} '
            f"(the node that saves the result); found {len(ids)}"
        )
    return ids[0]


def literal_inputs(graph: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """(node id, class, input name, value) of every literal (non-link) input."""
    for node_id, node in graph.items():
        for name, value in node["inputs"].items():
            if not is_link(value):
                yield node_id, node["class_type"], name, value
