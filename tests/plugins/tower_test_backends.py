"""Test-only backends, loaded through the TOWER_PLUGINS hook (README: Backend plugins).

`flaky` is the storyboard renderer that loses the cast on even seeds, the way a generator
sometimes ignores a character: the set, chrome and caption are drawn, the figures are not.
It makes a still fail its palette check on purpose, so the tests can show a failed gate,
a retake with the next (odd) seed that passes, and a waiver.
"""
from tower_anime.fsutil import atomic_path
from tower_anime.stills import CAPTION_FRACTIONS, register
from tower_anime.stills.storyboard import draw_storyboard


def render_flaky(spec, out_path, log=None, **runtime):
    img = draw_storyboard(spec, figures=spec["seed"] % 2 == 1)
    with atomic_path(out_path) as tmp:
        img.save(tmp, format="PNG")


register("flaky", render_flaky, caption_fraction=CAPTION_FRACTIONS["storyboard"])
