"""The embedded stills backend: a flat-colour storyboard panel per shot (Pillow, no GPU).
The drawing is stills/storyboard.py; this module declares it."""
from . import Backend, register

# Share of the frame at the top filled with the caption (shot id, action, camera move): camera
# moves hold it still, or a push-in would crop the text off the frame. The top, because
# players draw subtitles over the bottom of the frame.
CAPTION_FRACTION = 0.15


def render(spec: dict, out_path, log=None, **runtime) -> None:
    """Draw the shot's panel into out_path (byte-identical for one spec)."""
    # imported here: Pillow is not needed to plan a run (the workflow reads this at parse time)
    from ..stills.storyboard import render_storyboard

    render_storyboard(spec, out_path)


register(Backend(
    stage="stills", name="storyboard", render=render,
    code=("backends/storyboard.py", "stills/storyboard.py"),
    caption_fraction=CAPTION_FRACTION,
))
