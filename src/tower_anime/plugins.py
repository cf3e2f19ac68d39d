"""Backend plugins: modules that register more backends (of any stage) when imported.

Two ways in, both read once per process:
- an installed package that declares an entry point in the group `tower_anime.plugins`
  (the standard way to ship a backend without touching Tower);
- the environment variable TOWER_PLUGINS: comma-separated module names importable from
  PYTHONPATH (quick local experiments; the tests use it for a backend that fails on purpose).
A plugin module calls tower_anime.backends.register(Backend(...)) (README: Writing a backend).
"""

import importlib
import os
from importlib.metadata import entry_points

from .errors import TowerError

GROUP = "tower_anime.plugins"
ENV = "TOWER_PLUGINS"
_loaded = set()
_group = None  # the group's entry points, scanned once per process


def _entry_points():
    """The installed entry points of GROUP. Scanning every installed distribution's metadata
    takes ~8 ms; the planner asks for backend names per line and per shot, and a season dry
    run (2,605 jobs) spent 5.8 s of its 17.6 s (profiled) in 726 scans."""
    global _group
    if _group is None:
        _group = list(entry_points(group=GROUP))
    return _group


def load_plugins() -> None:
    """Import every plugin not imported yet (idempotent, cheap after the first call)."""
    for ep in _entry_points():
        if ep.value in _loaded:
            continue
        _loaded.add(ep.value)
        try:
            obj = ep.load()
        except Exception as e:
            raise TowerError(
                f"backend plugin {ep.name!r} ({ep.value}, entry point group {GROUP}) failed to load: {e}"
            ) from None
        if callable(obj):
            obj()
    for name in filter(None, (n.strip() for n in os.environ.get(ENV, "").split(","))):
        if name in _loaded:
            continue
        _loaded.add(name)
        try:
            importlib.import_module(name)
        except Exception as e:
            raise TowerError(
                f"backend plugin module {name!r} (from {ENV}) failed to import: {e}; check the name and PYTHONPATH"
            ) from None
