"""The embedded stills backend: a flat-colour storyboard panel per shot (Pillow, no GPU).
The drawing is stills/storyboard.py (with stills/backgrounds, figures, captions, colours and
text); this module declares it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from ..storylike import StoryLike
from . import Backend, register

# Share of the frame at the top filled with the caption (shot id, action, camera move): camera
# moves hold it still, or a push-in would crop the text off the frame. The top, because
# players draw subtitles over the bottom of the frame.
CAPTION_FRACTION = 0.15


def render(spec: dict, out_path: Path | str, log: TextIO | None = None, **runtime: Any) -> None:
    """Draw the shot's panel into out_path (byte-identical for one spec)."""
    # imported here: Pillow is not needed to plan a run (the workflow reads this at parse time)
    from ..stills.storyboard import render_storyboard

    render_storyboard(spec, out_path)


def glyph_problems(story: StoryLike, config: dict, stage: str) -> list:
    """Every text the panels draw (names, locations, actions, ids) must have a glyph for each
    character in the font that will draw it (stills/fonts.py): named by field and character."""
    from ..errors import ValidationProblem
    from ..stills.fonts import check_text, names

    found = []

    def look(where, field, text, bold=False):
        missing = check_text(str(text), bold)
        if missing:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
            found.append(
                ValidationProblem(
                    where,
                    field,
                    f"{str(text)[:60]!r} has character(s) {shown} that no font of "
                    f"the storyboard draws ({' or '.join(names(bold))}): they would be drawn "
                    "as empty boxes; write them otherwise (or install a font that has them)",
                )
            )

    sheet = config["story"]["characters"] if config["story"]["source"] == "yaml" else "story database (characters)"
    for cid, char in story.characters.items():
        look(sheet, f"characters.{cid}.name", char.get("name", ""), bold=True)
    for ep_id, doc in story.episodes.items():
        where = story.files.get(ep_id, ep_id)
        for si, scene in enumerate(doc.get("scenes") or []):
            look(where, f"scenes[{si}].location", scene.get("location", ""))
            look(where, f"scenes[{si}].id", scene.get("id", ""))
            for hi, shot in enumerate(scene.get("shots") or []):
                look(where, f"scenes[{si}].shots[{hi}].id", shot.get("id", ""), bold=True)
                look(where, f"scenes[{si}].shots[{hi}].action", shot.get("action", ""))
    return found


register(
    Backend(
        stage="stills",
        name="storyboard",
        render=render,
        code=(
            "backends/storyboard.py",
            "stills/storyboard.py",
            "stills/backgrounds.py",
            "stills/figures.py",
            "stills/captions.py",
            "stills/colours.py",
            "stills/text.py",
            "stills/places.py",
            "stills/fonts.py",
        ),
        caption_fraction=CAPTION_FRACTION,
        check_story=glyph_problems,
        faces=True,  # the PNG records each face (stills/figures.face_box): camera clips move mouths
    )
)
