"""Before any GPU job runs: every graph renders and is well formed, and every server has the
node classes, the model files and the other dropdown values those graphs name.

The workflow calls `run_preflight` from its `onstart` hook with the still/clip jobs Snakemake
is about to run (see rules/preflight.smk), so it costs nothing when no ComfyUI job is pending and
never touches the network on a dry run. Where the submitting host cannot reach the servers
(one ComfyUI per GPU node on localhost), `comfyui.preflight: per-job` moves the server check
into each job (`check_job`), against the server that job leased.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from .client import ComfyUIClient
from .errors import MODEL_FOLDERS, ComfyUIError, MissingOnServer, TemplateError, Unreachable
from .graph import is_link, render_template, save_node
from .spec import filename_prefix, template_variables

# a job to check: (stage, spec, template path, label)
_Job = tuple[str, dict[str, Any], Path | str, str]


class _Log(Protocol):
    """Where preflight writes: a text file, sys.stderr, or _Tee (both)."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


# LoadImage lists the server's input folder; the still is uploaded only when its job runs.
UPLOAD_PLACEHOLDER = "tower-preflight-upload.png"


def job_graph(stage: str, spec: dict[str, Any], template: Path | str) -> dict[str, Any]:
    """The graph a job will submit (the still to upload stands in by a placeholder name)."""
    prefix = filename_prefix(stage, spec)
    graph = render_template(template, template_variables(stage, spec, prefix, image=UPLOAD_PLACEHOLDER))
    save_node(graph, prefix, template)
    return graph


def _choices(spec):
    """The allowed values of a dropdown input in /object_info (both COMBO styles), else None."""
    if not isinstance(spec, (list, tuple)) or not spec:
        return None
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1].get("options")
    return None


def _number_problem(cls, name, value, spec):
    """The text of a literal outside what an INT/FLOAT input of /object_info allows, or None.

    The server enforces min and max when it validates (a denoise of 2.0 is refused then);
    it does not enforce an INT's step, but the model rounds a value off its step (LTX renders
    (length - 1) // 8 * 8 + 1 frames, in sizes of 32), so the result has the wrong length or
    size. Float steps are the UI's increments and are not checked.
    """
    if (
        not isinstance(spec, (list, tuple))
        or len(spec) < 2
        or spec[0] not in ("INT", "FLOAT")
        or not isinstance(spec[1], dict)
    ):
        return None
    kind, opts = spec[0], spec[1]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "INT" and value != int(value)):
        return f"{cls}.{name} = {value!r}: the server takes a {kind}"
    lo, hi, step = opts.get("min"), opts.get("max"), opts.get("step")
    if lo is not None and value < lo:
        return f"{cls}.{name} = {value}: below the server's minimum {lo} (allowed {lo}..{hi})"
    if hi is not None and value > hi:
        return f"{cls}.{name} = {value}: above the server's maximum {hi} (allowed {lo}..{hi})"
    if kind == "INT" and isinstance(step, int) and step > 1:
        base = lo if lo is not None else 0
        if (int(value) - base) % step:
            below = base + (int(value) - base) // step * step
            text = (
                f"{cls}.{name} = {value}: the server takes {base} plus a multiple of {step} "
                f"({below} or {below + step}); the model would round it to {below}"
            )
            if name in ("width", "height"):
                text += f": set output.width and output.height to multiples of {step}"
            elif name == "length":
                text += f": set comfyui.clips.length_step to {step}"
            return text
    return None


def check_graph(graph: dict[str, Any], object_info: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """What the server lacks for one graph: [(kind, key, text)] (kind: node, model, value,
    range, wiring)."""
    missing = []
    for node_id, node in graph.items():
        cls = node["class_type"]
        info = object_info.get(cls)
        if not info:
            missing.append(
                (
                    "node",
                    cls,
                    f"node class {cls!r}: not on the server; update ComfyUI or install the custom node that provides it",
                )
            )
            continue
        declared = info.get("input") or {}
        required = declared.get("required") or {}
        specs = {**(declared.get("optional") or {}), **required}
        for name in required:
            if name not in node["inputs"]:
                missing.append(
                    (
                        "wiring",
                        (cls, name),
                        f"node {node_id} ({cls}): required input {name!r} is not set by the template",
                    )
                )
        for name, value in node["inputs"].items():
            if is_link(value):
                src_cls = graph[value[0]]["class_type"]
                src_out = (object_info.get(src_cls) or {}).get("output")
                if src_out is not None and value[1] >= len(src_out):
                    missing.append(
                        (
                            "wiring",
                            (node_id, name),
                            f"node {node_id} ({cls}) input {name!r}: node {value[0]} "
                            f"({src_cls}) has only {len(src_out)} output(s)",
                        )
                    )
                continue
            if value == UPLOAD_PLACEHOLDER:
                continue
            bad_number = _number_problem(cls, name, value, specs.get(name))
            if bad_number:
                missing.append(("range", (cls, name, value), f"node {node_id}: {bad_number}"))
                continue
            choices = _choices(specs.get(name))
            if choices is not None and value not in choices:
                if name in MODEL_FOLDERS:
                    missing.append(
                        (
                            "model",
                            (cls, name, value),
                            f"model file {value!r} ({cls}.{name}): not on the server; put it in "
                            f"ComfyUI/{MODEL_FOLDERS[name]}/ or change the name in your config. The server has: {choices}",
                        )
                    )
                else:
                    missing.append(
                        (
                            "value",
                            (cls, name, value),
                            f"{cls}.{name} = {value!r}: not offered by the server; allowed: {choices}",
                        )
                    )
    return missing


def job_graphs(jobs: Iterable[_Job]) -> list[tuple[str, dict[str, Any]]]:
    """[(label, graph)] of jobs = [(stage, spec, template path, label)]; every broken template
    is listed at once in one TemplateError. Needs no server."""
    graphs, broken = [], []
    for stage, spec, template, label in jobs:
        try:
            graphs.append((label, job_graph(stage, spec, template)))
        except TemplateError as e:
            broken.append(f"{label}: {e}")
    if broken:
        raise TemplateError(f"{len(broken)} job(s) have a broken workflow template:\n  - " + "\n  - ".join(broken))
    return graphs


def preflight(jobs: Sequence[_Job], settings: dict[str, Any], log: _Log) -> dict[str, dict[str, Any]]:
    """Check `jobs` = [(stage, spec, template path, label)] against every listed server.

    Returns {url: system_stats} of the servers that are up. Servers that are down are
    skipped with a warning; raises Unreachable when all are, TemplateError when a template
    is broken, and MissingOnServer listing everything a server lacks (with the shots).
    """
    graphs = job_graphs(jobs)
    t = settings["timeouts"]
    up, down = {}, {}
    problems, hints = [], []
    for url in settings["servers"]:
        client = ComfyUIClient(url, t["connect"], t["request"])
        try:
            stats = client.system_stats()
            info = client.object_info()
        except Unreachable as e:
            down[url] = e
            print(f"WARNING: comfyui: server {url} is down ({e.reason}); jobs will skip it", file=log, flush=True)
            continue
        up[url] = stats
        problems += server_problems(url, graphs, info)
        hints += fitting_templates(url, jobs, graphs, info)
    if not up:
        if len(down) == 1:
            raise next(iter(down.values()))
        raise Unreachable(", ".join(down), "every listed server is down")
    if problems:
        raise missing_on_server(problems, hints)
    return up


def _fits(stage, spec, template, object_info):
    """Whether `template` renders for this job, is a graph of the job's stage, and uses only
    node classes the server has."""
    try:
        graph = job_graph(stage, spec, template)
    except TemplateError:
        return False
    # an image-to-video graph loads the uploaded still; a text-to-image graph does not
    loads_still = any(v == UPLOAD_PLACEHOLDER for node in graph.values() for v in node["inputs"].values())
    if loads_still != (stage == "clip"):
        return False
    return not [p for p in check_graph(graph, object_info) if p[0] == "node"]


def fitting_templates(
    url: str, jobs: Iterable[_Job], graphs: Iterable[tuple[str, dict[str, Any]]], object_info: dict[str, Any]
) -> list[str]:
    """For each stage whose template uses node classes `url` lacks: the other templates in
    the same folder that fit the server (e.g. a VideoHelperSuite VHS_VideoCombine clip
    template on a server without the core SaveVideo), one line per stage and template."""
    lines, done = [], set()
    for (stage, spec, template, _), (_, graph) in zip(jobs, graphs):
        template = Path(template)
        if (stage, template) in done or not [p for p in check_graph(graph, object_info) if p[0] == "node"]:
            continue
        done.add((stage, template))
        fits = [
            t.name for t in sorted(template.parent.glob("*.j2")) if t != template and _fits(stage, spec, t, object_info)
        ]
        key = "stills" if stage == "still" else "clips"
        if fits:
            lines.append(
                f"{url}: {template.name} needs node classes this server lacks; the {key} template(s) "
                f"{', '.join(fits)} fit its nodes: set comfyui.{key}.workflow (or a shot's or an "
                f"episode's workflow.{key}) to one of them"
            )
        else:
            lines.append(
                f"{url}: no {key} template in {template.parent} fits this server's nodes; install the "
                "missing custom nodes or update ComfyUI"
            )
    return lines


def server_problems(url: str, graphs: Iterable[tuple[str, dict[str, Any]]], object_info: dict[str, Any]) -> list[str]:
    """One line per thing `url` lacks for graphs = [(label, graph)], naming the jobs that need it."""
    found = {}  # (kind, key) -> [text, labels...]
    for label, graph in graphs:
        for kind, key, text in check_graph(graph, object_info):
            entry = found.setdefault((kind, key), [text])
            entry.append(label)
    problems = []
    for (_kind, _), (text, *labels) in sorted(found.items(), key=lambda kv: str(kv[0])):
        shown = ", ".join(sorted(set(labels))[:8]) + (" ..." if len(set(labels)) > 8 else "")
        problems.append(f"{url}: {text} (needed by {shown})")
    return problems


def missing_on_server(problems: Sequence[str], hints: Iterable[str] = ()) -> MissingOnServer:
    return MissingOnServer(
        f"ComfyUI preflight: {len(problems)} thing(s) missing; nothing was run:\n  - "
        + "\n  - ".join(problems)
        + "".join(f"\n  hint: {h}" for h in hints)
    )


def check_job(stage: str, spec: dict[str, Any], template: Path | str, label: str, client: ComfyUIClient) -> None:
    """comfyui.preflight: per-job. The job checks the server it leased, before uploading or
    submitting anything: on a cluster with one ComfyUI per GPU node on localhost, only the
    job's own node can reach its server, so the submitting host cannot check it."""
    info = client.object_info()
    graphs = [(label, job_graph(stage, spec, template))]
    problems = server_problems(client.url, graphs, info)
    if problems:
        raise missing_on_server(problems, fitting_templates(client.url, [(stage, spec, template, label)], graphs, info))


def describe(stats: dict[str, Any]) -> str:
    """One line about a server from /system_stats: version and card."""
    system = stats.get("system") or {}
    devices = stats.get("devices") or []
    card = ""
    if devices:
        d = devices[0]
        card = f", {d.get('name', '?')} ({d.get('vram_free', 0) / 2**30:.1f} of {d.get('vram_total', 0) / 2**30:.1f} GiB free)"
    return f"ComfyUI {system.get('comfyui_version', '?')}{card}"


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text: str) -> None:
        for s in self.streams:
            s.write(text)

    def flush(self) -> None:
        for s in self.streams:
            s.flush()


def schedule_advice(schedule: dict[str, Any], servers: Sequence[str]) -> list[str]:
    """Warnings about how Snakemake was started for these servers (see README, ComfyUI)."""
    notes = []
    gpu, n = schedule.get("gpu"), len(servers)
    if gpu is None:
        notes.append(f"no gpu limit: run with --resources gpu={n} so that at most one job uses each server")
    elif gpu < n:
        notes.append(
            f"--resources gpu={gpu} but comfyui.servers lists {n}: only {gpu} will be used at a time "
            f"(run with --resources gpu={n})"
        )
    elif gpu > n:
        notes.append(f"--resources gpu={gpu} but comfyui.servers lists {n}: the extra jobs wait for a free server")
    sub = schedule.get("subsample")
    if sub and schedule.get("pending", 0) > sub:
        notes.append(
            f"{schedule['pending']} ComfyUI jobs pending and --scheduler-subsample {sub}: once more jobs than "
            "that are ready, clips may be picked before all stills and the card may switch models; "
            "use --workflow-profile profiles/comfyui"
        )
    return notes


def per_job_notes(settings: dict[str, Any]) -> list[str]:
    """What the submitting host says when each job checks its own server (comfyui.preflight: per-job)."""
    notes = []
    if not Path(settings["lock_dir"]).is_absolute():
        # one ComfyUI per node, all at the same localhost URL: the lock file names are equal on
        # every node, so a lock folder on the shared filesystem would let one job at a time run
        # in the whole cluster (or none, where the filesystem has no working flock)
        notes.append(
            f"comfyui.lock_dir is {settings['lock_dir']!r}, inside the project folder: on a cluster "
            "that folder is shared, and jobs on different nodes would lock each other out of "
            "their own localhost server; set it to a node-local folder such as /tmp/tower-comfyui-locks"
        )
    return notes


def run_preflight(
    jobs: Sequence[_Job], config: dict[str, Any], log_path: Path | str, schedule: dict[str, Any] | None = None
) -> bool:
    """The workflow's onstart check: print to the terminal and log_path; True when jobs may run.

    comfyui.preflight: submit-host checks here; per-job leaves the check to each job (see
    check_job); off checks nothing.
    """
    if not jobs:
        return True
    settings = config["comfyui"]
    mode = settings["preflight"]
    if mode in ("off", False):  # YAML reads a bare `off` as false
        return True
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as f:
        out = _Tee(sys.stderr, f)
        try:
            if mode == "per-job":
                job_graphs(jobs)  # templates need no server: checked here all the same
                for note in per_job_notes(settings):
                    print(f"WARNING: comfyui: {note}", file=out, flush=True)
                print(
                    f"Tower: ComfyUI preflight: per-job; each of the {len(jobs)} job(s) checks its own server "
                    "before it renders",
                    file=out,
                    flush=True,
                )
                return True
            up = preflight(jobs, settings, out)
        except ComfyUIError as e:
            print(f"Tower: {e}\nNothing was run. Fix the above and run again.", file=out, flush=True)
            return False
        for note in schedule_advice(schedule or {}, config["comfyui"]["servers"]):
            print(f"WARNING: comfyui: {note}", file=out, flush=True)
        servers = "; ".join(f"{url} ({describe(stats)})" for url, stats in up.items())
        print(f"Tower: ComfyUI preflight OK for {len(jobs)} job(s) on {servers}", file=out, flush=True)
    return True
