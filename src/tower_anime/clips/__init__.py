"""Clips stage: a moving shot from each still. Backends are chosen by name from config."""
from ..errors import TowerError


def _camera(spec, still_path, out_path, log=None, **runtime):
    from .camera import render_camera_clip

    render_camera_clip(spec, still_path, out_path, log=log)


def _comfyui(spec, still_path, out_path, log=None, workflow=None, config=None):
    from ..comfyui.render import render_clip as render_comfyui

    render_comfyui(spec, still_path, out_path, log, workflow, config)


BACKENDS = {"camera": _camera, "comfyui": _comfyui}


def render_clip(spec, still_path, out_path, log=None, **runtime):
    """runtime: what a backend needs that never shapes the clip (see stills.render_still)."""
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        raise TowerError(f"unknown clips backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, still_path, out_path, log=log, **runtime)
