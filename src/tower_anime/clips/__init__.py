"""Clips stage: a moving shot from each still. Backends are chosen by name from config."""
from ..errors import TowerError
from .camera import min_frames as camera_min_frames


def _camera(spec, still_path, out_path, log=None, **runtime):
    from .camera import render_camera_clip

    render_camera_clip(spec, still_path, out_path, log=log)


def _comfyui(spec, still_path, out_path, log=None, workflow=None, config=None):
    from ..comfyui.render import render_clip as render_comfyui

    render_comfyui(spec, still_path, out_path, log, workflow, config)


BACKENDS = {"camera": _camera, "comfyui": _comfyui}
# The fewest frames each backend can make a clip of that passes its own gate, as a function of
# the frame rate: a shorter shot is refused when the story is checked, before any job.
MIN_FRAMES = {"camera": camera_min_frames}
# Backends whose output does not depend on the seed: a retake would render the same clip.
SEEDLESS = {"camera"}


def register(name, render, seeded=True, min_frames=None):
    """Add a clips backend: render(spec, still_path, out_path, log=None, **runtime) writes the
    clip atomically; min_frames(fps): the shortest shot it can make. Plugins call this when
    imported (see tower_anime.plugins)."""
    BACKENDS[name] = render
    if not seeded:
        SEEDLESS.add(name)
    if min_frames is not None:
        MIN_FRAMES[name] = min_frames


def shortest_shot(backend: str, fps: int) -> int:
    """Fewest frames a shot may have with this clips backend (1 when it names no limit)."""
    rule = MIN_FRAMES.get(backend)
    return rule(fps) if rule else 1


def known_backends():
    from ..plugins import load_plugins

    load_plugins()
    return sorted(BACKENDS)


def render_clip(spec, still_path, out_path, log=None, **runtime):
    """runtime: what a backend needs that never shapes the clip (see stills.render_still)."""
    if spec["backend"] not in BACKENDS:
        known_backends()
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        raise TowerError(f"unknown clips backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, still_path, out_path, log=log, **runtime)
