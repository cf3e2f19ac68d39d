"""Clips stage: a moving shot from each still, by the backend the config names (see
tower_anime.backends)."""

from .. import backends


def register(name, render, seeded=True, min_frames=None):
    """Add a clips backend (the older plugin call; backends.register takes the whole
    declaration): render(spec, still_path, out_path, log=None, **runtime) writes the clip
    atomically; min_frames(fps): the shortest shot it can make."""
    backends.register(backends.Backend(stage="clips", name=name, render=render, seeded=seeded, min_frames=min_frames))


def render_clip(spec, still_path, out_path, log=None, **runtime):
    """runtime: what a backend needs that never shapes the clip (see stills.render_still)."""
    backends.get("clips", spec["backend"]).render(spec, still_path, out_path, log=log, **runtime)
