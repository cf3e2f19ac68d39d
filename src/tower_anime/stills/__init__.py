"""Stills stage: one frame per shot. Backends are chosen by name from config."""
from ..errors import TowerError


def _storyboard(spec, out_path, log=None, **runtime):
    from .storyboard import render_storyboard

    render_storyboard(spec, out_path)


def _comfyui(spec, out_path, log=None, workflow=None, config=None):
    from ..comfyui.render import render_still as render_comfyui

    render_comfyui(spec, out_path, log, workflow, config)


BACKENDS = {"storyboard": _storyboard, "comfyui": _comfyui}

# Share of the frame at the bottom that a backend fills with a caption: camera moves keep
# it still (a push-in would otherwise crop the shot id and action text off the frame).
CAPTION_FRACTIONS = {"storyboard": 0.15}


def caption_height(backend, height):
    """Pixels at the bottom of a still that clips should hold static (even, for yuv420p)."""
    return 2 * round(height * CAPTION_FRACTIONS.get(backend, 0) / 2)


def render_still(spec, out_path, log=None, **runtime):
    """runtime: what a backend needs that never shapes the picture (comfyui: the workflow
    template's path, and the config for servers and timeouts)."""
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        raise TowerError(f"unknown stills backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, out_path, log=log, **runtime)
