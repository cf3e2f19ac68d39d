"""Test-only backends, loaded through the TOWER_PLUGINS hook (README: Writing a backend).

`flaky` is the storyboard renderer that loses the cast on even seeds, the way a generator
sometimes ignores a character: the set, chrome and caption are drawn, the figures are not.
It makes a still fail its palette check on purpose, so the tests can show a failed gate,
a retake with the next (odd) seed that passes, and a waiver.
"""

from tower_anime.backends import Backend, get, register
from tower_anime.fsutil import atomic_path
from tower_anime.stills.storyboard import draw_storyboard


def render_flaky(spec, out_path, log=None, **runtime):
    img = draw_storyboard(spec, figures=spec["seed"] % 2 == 1)
    with atomic_path(out_path) as tmp:
        img.save(tmp, format="PNG")


# code: None (the default) makes this module the code input of its stills: editing it
# re-renders what it drew. The caption strip is the storyboard's, drawn by the same code.
register(
    Backend(
        stage="stills", name="flaky", render=render_flaky, caption_fraction=get("stills", "storyboard").caption_fraction
    )
)
