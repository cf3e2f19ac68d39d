"""Stills stage: one frame per shot. Backends are chosen by name from config."""
from ..errors import TowerError


def _storyboard(spec, out_path, log=None, **runtime):
    from .storyboard import render_storyboard

    render_storyboard(spec, out_path)


def _comfyui(spec, out_path, log=None, workflow=None, config=None):
    from ..comfyui.render import render_still as render_comfyui

    render_comfyui(spec, out_path, log, workflow, config)


BACKENDS = {"storyboard": _storyboard, "comfyui": _comfyui}

# Share of the frame at the top that a backend fills with a caption: camera moves keep it
# still (a push-in would otherwise crop the shot id and action text off the frame). The
# top, because players draw subtitles over the bottom of the frame.
CAPTION_FRACTIONS = {"storyboard": 0.15}


def register(name, render, caption_fraction=0.0):
    """Add a stills backend: render(spec, out_path, log=None, **runtime) writes the still
    atomically (runtime: what never shapes the picture, e.g. the config for servers).
    Plugins call this when imported (see tower_anime.plugins)."""
    BACKENDS[name] = render
    if caption_fraction:
        CAPTION_FRACTIONS[name] = caption_fraction


def known_backends():
    from ..plugins import load_plugins

    load_plugins()
    return sorted(BACKENDS)


def caption_height(backend, height):
    """Pixels at the top of a still that clips should hold static (even, for yuv420p)."""
    return 2 * round(height * CAPTION_FRACTIONS.get(backend, 0) / 2)


def render_still(spec, out_path, log=None, **runtime):
    """runtime: what a backend needs that never shapes the picture (comfyui: the workflow
    template's path, and the config for servers and timeouts)."""
    if spec["backend"] not in BACKENDS:
        known_backends()
    try:
        backend = BACKENDS[spec["backend"]]
    except KeyError:
        raise TowerError(f"unknown stills backend {spec['backend']!r}; expected one of {sorted(BACKENDS)}") from None
    backend(spec, out_path, log=log, **runtime)
