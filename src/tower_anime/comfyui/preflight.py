"""Before any GPU job runs: every graph renders and is well formed, and every server has the
node classes, the model files and the other dropdown values those graphs name.

The workflow calls `preflight` from its `onstart` hook with the still/clip jobs Snakemake is
about to run (see rules/comfyui.smk), so it costs nothing when no ComfyUI job is pending and
never touches the network on a dry run.
"""
import sys
from pathlib import Path

from .client import ComfyUIClient
from .errors import MODEL_FOLDERS, ComfyUIError, MissingOnServer, TemplateError, Unreachable
from .graph import is_link, render_template, save_node
from .spec import filename_prefix, template_variables

# LoadImage lists the server's input folder; the still is uploaded only when its job runs.
UPLOAD_PLACEHOLDER = "tower-preflight-upload.png"


def job_graph(stage, spec, template):
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


def check_graph(graph, object_info):
    """What the server lacks for one graph: [(kind, key, text)] (kind: node, model, value, wiring)."""
    missing = []
    for node_id, node in graph.items():
        cls = node["class_type"]
        info = object_info.get(cls)
        if not info:
            missing.append(("node", cls, f"node class {cls!r}: not on the server; update ComfyUI or install the custom node that provides it"))
            continue
        declared = info.get("input") or {}
        required = declared.get("required") or {}
        specs = {**(declared.get("optional") or {}), **required}
        for name in required:
            if name not in node["inputs"]:
                missing.append(("wiring", (cls, name), f"node {node_id} ({cls}): required input {name!r} is not set by the template"))
        for name, value in node["inputs"].items():
            if is_link(value):
                src_cls = graph[value[0]]["class_type"]
                src_out = (object_info.get(src_cls) or {}).get("output")
                if src_out is not None and value[1] >= len(src_out):
                    missing.append(("wiring", (node_id, name), f"node {node_id} ({cls}) input {name!r}: node {value[0]} "
                                    f"({src_cls}) has only {len(src_out)} output(s)"))
                continue
            if value == UPLOAD_PLACEHOLDER:
                continue
            choices = _choices(specs.get(name))
            if choices is not None and value not in choices:
                if name in MODEL_FOLDERS:
                    missing.append(("model", (cls, name, value), f"model file {value!r} ({cls}.{name}): not on the server; put it in "
                                    f"ComfyUI/{MODEL_FOLDERS[name]}/ or change the name in your config. The server has: {choices}"))
                else:
                    missing.append(("value", (cls, name, value), f"{cls}.{name} = {value!r}: not offered by the server; allowed: {choices}"))
    return missing


def preflight(jobs, settings, log):
    """Check `jobs` = [(stage, spec, template path, label)] against every listed server.

    Returns {url: system_stats} of the servers that are up. Servers that are down are
    skipped with a warning; raises Unreachable when all are, TemplateError when a template
    is broken, and MissingOnServer listing everything a server lacks (with the shots).
    """
    graphs, broken = [], []
    for stage, spec, template, label in jobs:
        try:
            graphs.append((label, job_graph(stage, spec, template)))
        except TemplateError as e:
            broken.append(f"{label}: {e}")
    if broken:
        raise TemplateError(f"{len(broken)} job(s) have a broken workflow template:\n  - " + "\n  - ".join(broken))
    t = settings["timeouts"]
    up, down = {}, {}
    problems = []
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
        found = {}   # (kind, key) -> [text, labels...]
        for label, graph in graphs:
            for kind, key, text in check_graph(graph, info):
                entry = found.setdefault((kind, key), [text])
                entry.append(label)
        for (kind, _), (text, *labels) in sorted(found.items(), key=lambda kv: str(kv[0])):
            shown = ", ".join(sorted(set(labels))[:8]) + (" ..." if len(set(labels)) > 8 else "")
            problems.append(f"{url}: {text} (needed by {shown})")
    if not up:
        if len(down) == 1:
            raise next(iter(down.values()))
        raise Unreachable(", ".join(down), "every listed server is down")
    if problems:
        raise MissingOnServer(f"ComfyUI preflight: {len(problems)} thing(s) missing; nothing was run:\n  - " + "\n  - ".join(problems))
    return up


def describe(stats):
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

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


def schedule_advice(schedule, servers):
    """Warnings about how Snakemake was started for these servers (see README, ComfyUI)."""
    notes = []
    gpu, n = schedule.get("gpu"), len(servers)
    if gpu is None:
        notes.append(f"no gpu limit: run with --resources gpu={n} so that at most one job uses each server")
    elif gpu < n:
        notes.append(f"--resources gpu={gpu} but comfyui.servers lists {n}: only {gpu} will be used at a time "
                     f"(run with --resources gpu={n})")
    elif gpu > n:
        notes.append(f"--resources gpu={gpu} but comfyui.servers lists {n}: the extra jobs wait for a free server")
    sub = schedule.get("subsample")
    if sub and schedule.get("pending", 0) > sub:
        notes.append(f"{schedule['pending']} ComfyUI jobs pending and --scheduler-subsample {sub}: once more jobs than "
                     "that are ready, clips may be picked before all stills and the card may switch models; "
                     "use --workflow-profile profiles/comfyui")
    return notes


def run_preflight(jobs, config, log_path, schedule=None):
    """The workflow's onstart check: print to the terminal and log_path; True when jobs may run."""
    if not jobs:
        return True
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as f:
        out = _Tee(sys.stderr, f)
        try:
            up = preflight(jobs, config["comfyui"], out)
        except ComfyUIError as e:
            print(f"Tower: {e}\nNothing was run. Fix the above and run again.", file=out, flush=True)
            return False
        for note in schedule_advice(schedule or {}, config["comfyui"]["servers"]):
            print(f"WARNING: comfyui: {note}", file=out, flush=True)
        servers = "; ".join(f"{url} ({describe(stats)})" for url, stats in up.items())
        print(f"Tower: ComfyUI preflight OK for {len(jobs)} job(s) on {servers}", file=out, flush=True)
    return True
