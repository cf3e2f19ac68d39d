"""Backends: one declaration per (stage, name) that the planner, the rules and the stages ask.

A backend is a module that calls `register(Backend(...))` when it is imported. The built-in
ones are the modules of this package, found by listing it, so a new one is one file here plus
its config schema section. Plugins come in through tower_anime.plugins (an entry point, or
TOWER_PLUGINS) and register the same way. Nothing else in Tower names a backend: the planner,
the rules, the retakes and the preflight hook read these declarations.

What `render` is called with, per stage (runtime: what never shapes the output, such as the
config for servers and timeouts, and the files `inputs` named, by their names):
  stills  render(spec, out_path, log=None, **runtime)              writes the PNG atomically
  clips   render(spec, still_path, out_path, log=None, **runtime)  writes the MP4 atomically
  voice   render(spec, raw_path, log=None, **runtime)              writes raw speech in any format
                                                                   FFmpeg reads; the voice stage
                                                                   pitches, trims and resamples it
  music   render(spec, out_wav, log=None, **runtime)               writes the cue, exactly
                                                                   spec["duration"] long
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import TowerError, ValidationProblem

STAGES = ("stills", "clips", "voice", "music")


class UnknownBackend(TowerError):
    """A backend name that no built-in module and no loaded plugin registered."""

    def __init__(self, stage: str, name: str, known: list[str]):
        self.stage, self.name, self.known = stage, name, known
        super().__init__(f"unknown {stage} backend {name!r}; expected one of {known}")


@dataclass(frozen=True)
class PlanContext:
    """Where the planner is when it makes a job's spec: what a backend's `shape` may read."""

    config: dict
    config_file: str
    episode: dict
    characters: dict
    scene: dict
    shot: dict | None = None
    line: dict | None = None  # the dialogue line (voice)
    line_id: str | None = None


@dataclass(frozen=True)
class PendingJob:
    """A render job Snakemake is about to run, as a backend's preflight hook sees it."""

    stage: str
    spec: dict
    inputs: dict[str, Any]  # the job's named inputs (e.g. ComfyUI's "workflow")
    label: str  # the rule and the item, e.g. "still ep01/sc01_sh01"


@dataclass(frozen=True)
class Backend:
    """Everything Tower needs to know about one backend of one stage."""

    stage: str  # one of STAGES
    name: str  # what backends.<stage> (or a character's voice.engine) names
    render: Callable[..., None]  # see the module docstring for its arguments per stage
    # the job's spec from the planner's common spec: adds the fields that shape this backend's
    # output (and drops those that do not), so a job re-plans exactly when its output would change
    shape: Callable[[dict, PlanContext], dict] | None = None
    # package modules (relative to src/tower_anime/, or absolute) whose edits re-render its
    # outputs; None: the module that defines `render` (what a plugin usually wants)
    code: tuple[str, ...] | None = None
    # extra file inputs of a job, by name: (spec, config) -> {name: path}
    files: Callable[[dict, dict], dict[str, str]] | None = None
    seeded: bool = True  # False: a retake with the next seed would render the same
    gpu: bool = False  # renders on a GPU (its own, or a server's)
    languages: tuple[str, ...] = ("*",)  # voice: language subtags it speaks; "*" any
    # voice: reads only the East Asian scripts its line's language is written in (kanji in an
    # English line would be spoken as "Chinese letter"): validation refuses the others
    own_script_only: bool = False
    min_frames: Callable[[int], int] | None = None  # clips: fewest frames at an fps; None: 1
    caption_fraction: float = 0.0  # stills: share of the frame's top it fills with a caption
    # clips: the spec carries the shot's dialogue lines (`lines`: placement requests in seconds
    # from the shot's start) and the job reads their voices (named inputs voice_<line>)
    speech: bool = False
    # stills: the still records where its characters' faces are (clips/faces.py), so a
    # speech clips backend can move their mouths; without it a clip needs no voices
    faces: bool = False
    # problems in the story before any plan: (story, config, stage) -> [ValidationProblem]
    check_story: Callable[[Any, dict, str], list] | None = None
    # at the start of a real run, over this backend's pending jobs:
    # (jobs, config, log_path, schedule) -> True when the jobs may run
    preflight: Callable[[list[PendingJob], dict, str, dict], bool] | None = None
    # under a cluster executor, whether its jobs run on the submitting host: (config) -> bool
    submit_host: Callable[[dict], bool] | None = None

    def spec_for(self, spec: dict, where: PlanContext) -> dict:
        """The job's spec: the common spec shaped by this backend."""
        return self.shape(spec, where) if self.shape else spec

    def inputs(self, spec: dict, config: dict) -> dict[str, str]:
        """The job's extra file inputs, by name."""
        return dict(self.files(spec, config)) if self.files else {}

    def shortest_shot(self, fps: int) -> int:
        """Fewest frames a shot may have with this clips backend."""
        return self.min_frames(fps) if self.min_frames else 1

    def caption_height(self, height: int) -> int:
        """Rows at the top of this backend's still that clips hold static (even, for yuv420p).
        The top, because players draw subtitles over the bottom of the frame."""
        return 2 * round(height * self.caption_fraction / 2)

    def on_submit_host(self, config: dict) -> bool:
        return bool(self.submit_host and self.submit_host(config))


_REGISTRY: dict[tuple[str, str], Backend] = {}
_builtins_loaded = False


def register(backend: Backend) -> Backend:
    """Add (or replace) a backend; a module calls this when it is imported."""
    if backend.stage not in STAGES:
        raise TowerError(f"backend {backend.name!r}: unknown stage {backend.stage!r}; expected one of {list(STAGES)}")
    if backend.code is None:
        backend = dataclasses.replace(backend, code=(inspect.getsourcefile(backend.render),))
    _REGISTRY[(backend.stage, backend.name)] = backend
    return backend


def load() -> None:
    """Import the built-in backend modules (once) and any plugin not imported yet."""
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for module in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{module.name}")
    from ..plugins import load_plugins

    load_plugins()


def get(stage: str, name: str) -> Backend:
    """The backend `name` of `stage`; UnknownBackend lists the known names."""
    if (stage, name) not in _REGISTRY:
        load()
    try:
        return _REGISTRY[(stage, name)]
    except KeyError:
        raise UnknownBackend(stage, name, names(stage)) from None


def names(stage: str) -> list[str]:
    """Every backend name of a stage, built-in and plugin."""
    load()
    return sorted(name for s, name in _REGISTRY if s == stage)


def of_spec(stage: str, spec: dict) -> Backend:
    """The backend a job's spec was planned for (a voice line names it as its engine)."""
    return get(stage, spec["voice"]["engine"] if stage == "voice" else spec["backend"])


def unknown(stage: str, name: str, file: Path | str, field: str) -> list[ValidationProblem]:
    """[] when `name` is a backend of `stage`, else the problem to report at file/field."""
    known = names(stage)
    if name in known:
        return []
    return [
        ValidationProblem(
            file,
            field,
            f"unknown {stage} backend {name!r}; expected one of {known} "
            "(a backend plugin can add more: README, Writing a backend)",
        )
    ]
