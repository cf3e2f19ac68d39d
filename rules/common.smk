# Benchmarks are written to benchmarks/<rule>/...: `tower-anime estimate` reads the rule name
# from the first folder. Config validation, the story plan (known at parse time: no checkpoints needed), input
# functions and wildcard constraints shared by every stage.
import json
import os
import re
import sys
from pathlib import Path

# The workflow runs the package that sits beside it (src/ next to rules/) when there is one:
# in this process and, through PYTHONPATH, in every job. A workflow in one folder then never
# validates against, or lists as job inputs, the files of another checkout that the package
# happens to be installed from. Used as a Snakemake module, this is the module's own folder.
TOWER_ROOT = Path(str(workflow.current_basedir)).parent
_OWN_SRC = TOWER_ROOT / "src"
if (_OWN_SRC / "tower_anime" / "__init__.py").is_file():
    sys.path.insert(0, str(_OWN_SRC))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(_OWN_SRC), *filter(None, [os.environ.get("PYTHONPATH")])])

import tower_anime
from tower_anime import backends, codestamp, snakemake_patches
from tower_anime.backends import PendingJob
from tower_anime.check import check_inputs
from tower_anime.episode.subtitles import limits_for
from tower_anime.errors import InvalidInput, TowerError
from tower_anime.qc.report import ensure_verdict, refused, verdict_path
from tower_anime.qc.summary import episode_view
from tower_anime.qc.takes import still_changed
from tower_anime.story import dumps


def _refuse(e):
    """Stop the workflow with Tower's lines for an InvalidInput or another TowerError: no traceback."""
    tail = "\nNothing was run." + (" Fix the fields above and run again." if isinstance(e, InvalidInput) else "")
    print(f"Tower: {e}{tail}", file=sys.stderr)
    sys.exit(1)


def read_configfile(path):
    """What Snakemake's `configfile:` directive does with `path` (the Snakefile has none), with
    Tower's YAML reader instead of Snakemake's: an empty file (or one with only comments) is
    an empty config, every key at its default, as `tower-anime validate` reads it; a list or
    a scalar at the top, a recursive alias, a duplicate key or a syntax error is refused in one
    line naming the file (Snakemake's loader stops on the first with "Config file must be given
    as JSON or YAML with keys at top level" and recurses without end on a recursive alias).
    As with the directive: --configfile files and --config values are merged over it, it is
    listed in workflow.configfiles, and a module given its config (`config: config`) skips it."""
    from snakemake.utils import update_config

    from tower_anime.errors import ValidationProblem
    from tower_anime.schema import load_schema, problems, read_yaml

    if workflow.modifier.skip_configfile:
        return
    settings = workflow.config_settings
    if not Path(path).exists():
        if not workflow.overwrite_configfiles:
            _refuse(InvalidInput([ValidationProblem(path, "", "file not found; run in the project folder, or give "
                                                             "the config with --configfile FILE")]))
        return  # the --configfile files are the config (Snakemake already merged them in)
    try:
        data = read_yaml(path)
        if not isinstance(data, dict):
            raise InvalidInput(problems(data, load_schema("config"), path, fill_defaults=False))
    except InvalidInput as e:
        _refuse(e)
    workflow.configfiles.append(path)
    update_config(config, data)
    if settings.overwrite_config:
        if settings.replace_workflow_config:
            config.clear()
        update_config(config, settings.overwrite_config)
    try:
        from snakemake.pathvars import Pathvars

        workflow.pathvars.update(Pathvars.from_config(config))
    except (ImportError, AttributeError):  # a Snakemake without pathvars
        pass


read_configfile("config/config.yaml")

# small changes to Snakemake in its own process (see the module): one daemon wake-up timer
# for the scheduler, work it repeats for every job done once, no teardown at exit
snakemake_patches.install()

ID = "[A-Za-z0-9][A-Za-z0-9_-]*"


wildcard_constraints:
    ep=ID,
    shot=ID,
    line=ID,
    scene=ID,
    lang="[a-z]{3}",


def _load():
    """Validate config and story (YAML or database, plus the prompt facts) before any job
    starts; print one line per problem."""
    try:
        sources = [str(f) for f in getattr(workflow, "configfiles", [])] or ["config/config.yaml"]
        label = "config (" + " + ".join(sources) + ")"
        # the files again as Tower reads YAML: a duplicate key or a bad byte named by file and line
        checked = check_inputs(config, label, [f for f in sources if Path(f).is_file()])
        plans = checked.plans
        for ep, episode_plan in plans.items():
            for note in episode_plan.notes:  # shots grown or sped up for their dialogue (voice.fit_lines)
                print(f"Tower: note: {ep}: {note}", file=sys.stderr)
        return checked.story, plans
    except TowerError as e:  # bad input, or e.g. the story database is down: one line each, no traceback
        _refuse(e)


STORY, PLANS = _load()
DEFAULT_EPISODES = config["story"]["episodes"] or list(PLANS)


_SRC = Path(tower_anime.__file__).resolve().parent


def code(module):
    """A package module as an input, so editing a renderer re-renders what it made
    (Snakemake never sees the modules that a script imports)."""
    path = _SRC / module
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


CODE_STAMPS = ".tower/code"
_STAMPS = {}  # (label, modules) -> the input that stands for them: made once per run


def code_stamp(label, modules):
    """Package modules as one input: a stamp file that is as new as the newest of them
    (tower_anime/codestamp.py), so a job made with nine modules has one code input, not nine,
    and is re-made on the same edits. Written when the workflow is loaded, before the DAG
    (see _code_stamps). A module that is missing is named as itself, so Snakemake reports it."""
    key = (label, tuple(modules))
    if key not in _STAMPS:
        paths = [code(module) for module in modules]
        try:
            _STAMPS[key] = codestamp.code_stamp(CODE_STAMPS, label, paths)
        except FileNotFoundError:
            _STAMPS[key] = paths
    return _STAMPS[key]


def plan(wc):
    try:
        return PLANS[wc.ep]
    except KeyError:
        raise ValueError(f"unknown episode {wc.ep!r}; episodes in the story: {sorted(PLANS)}") from None


def _lookup(table, key, what, wc):
    items = getattr(plan(wc), table)
    name = getattr(wc, key)
    if name not in items:
        raise ValueError(f"{wc.ep} has no {what} {name!r}; it has: {sorted(items)}")
    return items[name]


_DUMPED = {}  # (table, ep, item) -> its spec as JSON: made once per run, read by the render and QC rules


def _item(table, key, what):
    """An item's spec as one JSON param, dumped once per run: the render rule, its check and
    its input functions all read it."""

    def get(wc):
        name = (table, wc.ep, getattr(wc, key))
        if name not in _DUMPED:
            _DUMPED[name] = dumps(_lookup(table, key, what, wc))
        return _DUMPED[name]

    return get


still_spec = _item("stills", "shot", "shot")
clip_spec = _item("clips", "shot", "shot")
line_spec = _item("lines", "line", "dialogue line")
music_spec = _item("music", "scene", "scene")


def render_inputs(stage, spec_of):
    """What a job is made with, as inputs, from its backend's declaration: the package code
    whose edits re-render it (`renderer`), and its own files (e.g. the one workflow template
    this shot uses, so editing it re-renders exactly its shots)."""

    def get(wc):
        spec = json.loads(spec_of(wc))
        backend = backends.of_spec(stage, spec)
        found = backend.inputs(spec, config)
        if backend.code:
            found["renderer"] = code_stamp(f"{stage}-{backend.name}", backend.code)
        return found

    return get


def on_submit_host(stage):
    """Whether a stage's jobs run on the submitting host under a cluster executor, as its
    configured backend declares (a client of a pool of servers needs no cluster GPU)."""
    return backends.get(stage, config["backends"][stage]).on_submit_host(config)


def timeline_json(wc):
    return dumps(plan(wc).timeline())


def audio_timeline_json(wc):
    return dumps(plan(wc).audio_timeline())


def editor_metadata(wc):
    """What the editor's timeline says of each shot and cue beyond timing, and where the media lie."""
    p = plan(wc)
    shots = {}
    for sid, still in p.stills.items():
        clip = p.clips[sid]
        prompts = {k: s["prompt"] for k, s in (("still", still), ("clip", clip)) if "prompt" in s}
        shots[sid] = {"seed": still["seed"], "action": still["action"], "camera": still["camera"],
                      "characters": [c["id"] for c in still["characters"]], "prompts": prompts or None,
                      "backend": {"stills": still["backend"], "clips": clip["backend"]}}
    music = {sc: {k: m[k] for k in ("mood", "cue", "seed", "backend") if k in m} for sc, m in p.music.items()}
    ep = wc.ep
    paths = {"clips": {s: f"clips/{ep}/{s}.mp4" for s in p.shot_ids()}, "voice": voice_files(wc),
             "music": music_files(wc),
             "stems": {"mix": f"audio/{ep}/mix.wav", **{s: f"audio/{ep}/stems/{s}.wav" for s in ("dialogue", "music")}}}
    return dumps({"shots": shots, "music": music, "paths": paths, "sample_rate": config["output"]["sample_rate"]})


def section(*keys):
    """Config sections as one JSON param (tracked as one value by Snakemake's params check)."""
    return dumps({k: config[k] for k in keys})


def loudness_settings():
    """`loudness` with only the active profile: editing another profile re-runs nothing."""
    loud = config["loudness"]
    return {**loud, "profiles": {k: v for k, v in loud["profiles"].items() if k == loud["profile"]}}


def mix_settings(wc):
    """What shapes the mix: bed level and fades, ducking, the delivery profile (not the music
    service's settings, which shape the cues, nor its timeouts, which shape nothing)."""
    music = {k: config["music"][k] for k in ("bed_level_db", "scene_fade")}
    loudness = {k: v for k, v in loudness_settings().items() if k != "lra"}  # lra is only reported
    output = {k: config["output"][k] for k in ("sample_rate", "audio_bit_depth")}
    return dumps({"music": music, "mix": config["mix"], "loudness": loudness, "output": output})


def qc_episode_settings(wc):
    return dumps({"output": config["output"], "loudness": loudness_settings(), "subtitles": config["subtitles"],
                  "qc": {"episode": config["qc"]["episode"]}, "waive": waivers_for("episode", wc.ep),
                  "languages": plan(wc).language_tags(), "tracks": plan(wc).tracks})


def subtitle_files(wc):
    """The episode's subtitle tracks, in the order they are muxed (the audience's first)."""
    return [f"subs/{wc.ep}.{t['lang']}.srt" for t in plan(wc).tracks]


def subtitle_track(wc):
    """One track's lines (id -> text in its language) and the limits of its language."""
    track = next((t for t in plan(wc).tracks if t["lang"] == wc.lang), None)
    if track is None:
        raise ValueError(f"{wc.ep} has no subtitle track {wc.lang!r}; it has: {[t['lang'] for t in plan(wc).tracks]}")
    return dumps({"lines": track["lines"], "subtitles": limits_for(config["subtitles"], wc.lang)})


def language_tags(wc):
    return dumps(plan(wc).language_tags())


def voice_files(wc):
    return {c["line"]: f"audio/{wc.ep}/voice/{c['line']}.wav" for c in plan(wc).cues}


def music_files(wc):
    return {s["scene"]: f"audio/{wc.ep}/music/{s['scene']}.wav" for s in plan(wc).scenes}


def voice_inputs(wc):
    """Named inputs voice_<line> (scripts look each line's file up by its id)."""
    return {f"voice_{line}": path for line, path in voice_files(wc).items()}


def clip_voices(wc):
    """Named inputs voice_<line> of the shot's own lines when its clips backend moves mouths
    with them (the spec's `lines`; clips/faces.py): a new voice re-renders only its shot."""
    files = voice_files(wc)
    return {f"voice_{c['line']}": files[c["line"]] for c in json.loads(clip_spec(wc)).get("lines", [])}


def music_inputs(wc):
    return {f"music_{scene}": path for scene, path in music_files(wc).items()}


def clip_files(wc):
    return [f"clips/{wc.ep}/{s}.mp4" for s in plan(wc).shot_ids()]


_SEGMENTS = {}  # episode -> {shot: its segment's spec}: made once per run, read by four input functions


def _segments(wc):
    if wc.ep not in _SEGMENTS:
        from tower_anime.episode.segments import segment_specs

        _SEGMENTS[wc.ep] = {s["shot"]: s for s in segment_specs(plan(wc).timeline())}
    return _SEGMENTS[wc.ep]


def _segment_spec(wc):
    return _segments(wc)[wc.shot]


def segment_spec(wc):
    return dumps(_segment_spec(wc))


def segment_clips(wc):
    """The clips a shot's picture segment reads: its own, and the shot before it when it
    crossfades in from that one."""
    return [f"clips/{wc.ep}/{s['shot']}.mp4" for s in _segment_spec(wc)["shots"]]


def segment_clip_reports(wc):
    """The gates of the clips a segment reads, in the same order: named by the segment when one
    of its clips does not read whole (it is cut beside them, not after them)."""
    return [f"reports/{wc.ep}/clips/{s['shot']}.json" for s in _segment_spec(wc)["shots"]]


def segment_files(wc):
    """The picture's segments in timeline order (a shot that the next crossfade takes whole has none)."""
    return [f"build/{wc.ep}/segments/{s}.ts" for s in _segments(wc)]


def video_settings(wc):
    """Config `output`'s picture settings only: a new audio bitrate re-encodes no segment."""
    from tower_anime.episode.segments import VIDEO_KEYS

    return dumps({k: config["output"][k] for k in VIDEO_KEYS})


def sound_settings(wc):
    """Config `output`'s sound settings only: a new picture setting re-encodes no sound."""
    from tower_anime.episode.master import SOUND_KEYS

    return dumps({k: config["output"][k] for k in SOUND_KEYS})


def clip_reports(wc):
    return [f"reports/{wc.ep}/clips/{s}.json" for s in plan(wc).shot_ids()]


def still_reports(wc):
    return [f"reports/{wc.ep}/stills/{s}.json" for s in plan(wc).shot_ids()]


def voice_reports(wc):
    return [f"reports/{wc.ep}/voice/{c['line']}.json" for c in plan(wc).cues]


def music_reports(wc):
    return [f"reports/{wc.ep}/music/{s['scene']}.json" for s in plan(wc).scenes]


def sound_reports(wc):
    return voice_reports(wc) + music_reports(wc)


def gate_reports(wc):
    """Every per-item report of an episode: delivery re-checks them all, so a threshold
    changed after the renders still stops a bad item (render rules take reports ancient)."""
    return still_reports(wc) + clip_reports(wc) + sound_reports(wc)


def summary_inputs(wc):
    ep, shots = wc.ep, plan(wc).shot_ids()
    return {
        "reports": gate_reports(wc) + [f"reports/{ep}/episode.json"],
        "thumbs": [f"reports/{ep}/thumbs/{s}.{k}.jpg" for s in shots for k in ("still", "clip")],
    }


def clip_still_report(wc):
    """The still report a clip is gated on. Ancient, so that a check run again for a changed
    threshold or waiver does not re-render the clip; not ancient when the still on disk is
    not the one the clip was made from (re-fetched, replaced by hand). Snakemake skips the
    own mtime check of every job downstream of a check that runs again and reaches it only
    through inputs that are not ancient (snakemake/snakemake#4166; README: Quality gates):
    without this the re-check ran and the old clip was delivered."""
    ep, shot = wc.ep, wc.shot
    still_report = f"reports/{ep}/stills/{shot}.json"
    if still_changed(f"stills/{ep}/{shot}.png", f"clips/{ep}/{shot}.mp4", f"reports/{ep}/clips/{shot}.takes.json"):
        return still_report
    return ancient(still_report)


def report_requested():
    """Whether this is `snakemake --report`: Snakemake does not tell the Snakefile, so it is
    read from the command line."""
    return any(a == "--report" or a.startswith("--report=") for a in sys.argv)


def default_targets(wc):
    """What `rule all` builds. `snakemake --report` shows what a build made, and without them
    Snakemake stops on a bare "File ... marked for report but does not exist": name what is
    missing and what to run instead."""
    patterns = ["episodes/{ep}.mkv", "reports/{ep}/episode.json", "reports/{ep}/qc.html", "build/{ep}/timeline.json",
                "timelines/{ep}.otio"]
    targets = [p.format(ep=ep) for p in patterns for ep in DEFAULT_EPISODES]
    missing = [t for t in targets if not Path(t).exists()] if report_requested() else []
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        print(f"Tower: snakemake --report shows a finished build, and this one is missing "
              f"{', '.join(missing[:3])}{more}.\nBuild first: snakemake --cores 2 (add --configfile as for your "
              f"build), then run --report again. A build stopped at a QC gate: `tower-anime qc <ep>` lists what "
              f"failed and writes reports/<ep>/qc.html; fix or waive the item and build again.", file=sys.stderr)
        sys.exit(1)
    return targets


def waivers_for(kind, item):
    """The qc.waive entries of one item: a waiver re-runs only that item's check."""
    return [w for w in config["qc"]["waive"] if w["kind"] == kind and w["item"] == item]


def refusal(kind, folder=None, key=None):
    """The verdict file of an item's own gate, as an input of its render rule: plain while
    the gate refuses the item and no waiver in the config accepts the failed checks (the
    check rewrote it after the render, so the render is out of date and is made again on
    the next run), ancient otherwise. The path is the same either way: a waiver added later
    re-runs only the check. How the verdict file works: tower_anime/qc/report.py."""

    def get(wc):
        if key is None:  # the episode's gate, on the master
            gate, item = f"reports/{wc.ep}/episode.json", wc.ep
        else:
            name = getattr(wc, key)
            gate, item = f"reports/{wc.ep}/{folder}/{name}.json", f"{wc.ep}/{name}"
        verdict = str(verdict_path(gate))  # made before the DAG (_ensure_verdicts)
        return verdict if refused(gate, waivers_for(kind, item)) else ancient(verdict)

    return get


def qc_params(kind, key, **extra):
    """One JSON param for a QC rule: its thresholds and the waivers of its item."""

    def get(wc):
        item = f"{wc.ep}/{getattr(wc, key)}" if key else wc.ep
        return dumps({"thresholds": config["qc"][kind], "waive": waivers_for(kind, item), **extra})

    return get


def reference_images(wc):
    """Character reference pictures of a shot: inputs of its still check."""
    return sorted({c["reference_image"] for c in plan(wc).stills[wc.shot]["characters"] if c.get("reference_image")})


# the render rules and the stage each renders
RENDER_RULES = {"still": "stills", "clip": "clips", "voice": "voice", "music": "music"}


def pending_by_preflight():
    """{(backend name, its preflight hook): [PendingJob]} of the pending render jobs whose
    backend declares a preflight hook (one backend's stages are checked together)."""
    found = {}
    for job in workflow.dag.needrun_jobs():
        stage = RENDER_RULES.get(job.rule.name)
        if stage is None:
            continue
        spec = json.loads(job.params.spec)
        backend = backends.of_spec(stage, spec)
        if backend.preflight is None:
            continue
        label = f"{job.rule.name} {'/'.join(job.wildcards)}"
        found.setdefault((backend.name, backend.preflight), []).append(
            PendingJob(stage, spec, dict(job.input.items()), label))
    return found


def schedule(jobs):
    """What the scheduler was given: the gpu limit, the subsample and how many jobs are pending."""
    gpu = workflow.global_resources.get("gpu") if "gpu" in workflow.global_resources else None
    return {"gpu": getattr(gpu, "value", None), "subsample": workflow.scheduling_settings.subsample,
            "pending": len(jobs)}


_CHECKED_FOLDERS = set()  # the folders check_folders found writable: asked once per run


def check_folders(folders):
    """Stop the workflow, before any job, when a folder it writes cannot be written: a file
    (or a link to nowhere) in its place or in the place of a folder above it, or a folder
    that is read-only. One line per culprit, naming the path and the fix
    (tower_anime.fsutil.folder_problem), instead of a traceback in a dry run or a job that
    fails after hours of renders (`episodes` a file: every render ran, then delivery failed)."""
    from tower_anime.fsutil import folder_problems

    folders = [f for f in dict.fromkeys(map(str, folders)) if f not in _CHECKED_FOLDERS]
    found = folder_problems(folders)
    if found:
        print("".join(f"Tower: {line}\n" for line in found) + "Nothing was run.", file=sys.stderr)
        sys.exit(1)
    _CHECKED_FOLDERS.update(folders)


_EP_WILDCARD = re.compile(r"\{\s*ep\s*(,[^{}]*)?\}")


def output_folders():
    """Every folder the rules write into (outputs, logs, benchmarks) for every episode of the
    story, read from the rules themselves (a new rule's folders are checked too): the part
    of each path before its first wildcard other than {ep}; and the code stamps' folder."""
    folders = {CODE_STAMPS: None}
    for r in workflow.rules:
        for product in r.products():
            pattern = str(product)
            for path in [_EP_WILDCARD.sub(ep, pattern) for ep in PLANS] if _EP_WILDCARD.search(pattern) else [pattern]:
                folders.setdefault(os.path.dirname(path.split("{", 1)[0]) or ".", None)
    return list(folders)


def check_output_folders():
    """check_folders on every output folder (the Snakefile calls it once every rule is defined)."""
    check_folders(output_folders())


def _ensure_verdicts():
    """Every gate's verdict file (see refusal) exists before Snakemake builds its DAG:
    Snakemake lists a folder once and caches it, so a file an input function creates while
    the DAG is being built can be missed for the next job in the same folder (seen with a
    season of 36 shots: 'Missing input files ... .verdict'). Their folders are checked first
    (the other output folders once every rule is defined: check_output_folders)."""
    from types import SimpleNamespace

    gates = [gate for ep in PLANS for gate in gate_reports(SimpleNamespace(ep=ep)) + [f"reports/{ep}/episode.json"]]
    check_folders(os.path.dirname(gate) for gate in gates)
    try:
        for gate in gates:
            ensure_verdict(gate)
    except TowerError as e:
        _refuse(e)


_ensure_verdicts()


# the table of a plan that holds each render stage's specs
STAGE_TABLES = {"stills": "stills", "clips": "clips", "voice": "lines", "music": "music"}


def _code_stamps():
    """The code stamp of every backend the plans render with, brought up to date before
    Snakemake builds its DAG (a file made while the DAG is built can be missed: see
    _ensure_verdicts). Their folder is checked first: the rules make stamps as they are defined."""
    check_folders([CODE_STAMPS])
    used = {(stage, backends.of_spec(stage, spec).name) for p in PLANS.values()
            for stage, table in STAGE_TABLES.items() for spec in getattr(p, table).values()}
    for stage, name in sorted(used):
        backend = backends.get(stage, name)
        if backend.code:
            code_stamp(f"{stage}-{name}", backend.code)


_code_stamps()
