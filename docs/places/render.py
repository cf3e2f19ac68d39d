"""Render the pictures of the README's "Places" table: one small panel per setting and per
weather (docs/places/<name>.png, 384x256).

    python docs/places/render.py
"""

from pathlib import Path

from PIL import Image

from tower_anime.stills.places import FALLBACK, SETTINGS, WEATHER
from tower_anime.stills.storyboard import draw_storyboard

HERE = Path(__file__).resolve().parent
AKIRA = {
    "id": "akira",
    "name": "Akira",
    "palette": {"hair": "#1a1a2e", "skin": "#f1c27d", "outfit": "#e63946", "accent": "#00b4ff"},
}


def panel(name: str, location: str, tod: str) -> None:
    spec = {
        "shot": name,
        "location": location,
        "time_of_day": tod,
        "seed": 7,
        "action": location,
        "camera": {"move": "static", "framing": "wide"},
        "characters": [AKIRA],
    }
    draw_storyboard(spec).resize((384, 256), Image.Resampling.LANCZOS).save(HERE / f"{name}.png", optimize=True)


def main() -> None:
    for name, words in SETTINGS:
        panel(name, words[0], "day")
    panel(FALLBACK, "open field", "day")
    for (name, words), tod in zip(WEATHER, ("dusk", "day", "dawn", "day", "night")):
        panel(name, f"{words[0]} street", tod)


if __name__ == "__main__":
    main()
