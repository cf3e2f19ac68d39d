"""Clips stage: a moving shot from each still. Backends are chosen by name from config."""
from .camera import render_camera_clip

BACKENDS = {"camera": render_camera_clip}


def render_clip(spec, still_path, out_path, log=None):
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        from ..errors import TowerError

        raise TowerError(f"unknown clips backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, still_path, out_path, log=log)
