"""Stills stage: one frame per shot. Backends are chosen by name from config."""
from ..errors import TowerError


def _storyboard(spec, out_path, log=None):
    from .storyboard import render_storyboard

    render_storyboard(spec, out_path)


BACKENDS = {"storyboard": _storyboard}


def render_still(spec, out_path, log=None):
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        raise TowerError(f"unknown stills backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, out_path, log=log)
