"""The moods a scene's free text names, for the embedded composer (audio/music.py).

Kept apart from the composer, which imports MIDI and numpy: the planner asks which mood a
text names (backends/fluidsynth.py drops the cue text from a spec whose mood decides the
cue) for every scene of every run."""

from __future__ import annotations

import re

# Free-text words -> mood. A trailing "*" matches any word starting with the stem;
# whole words are tried before stems, so "hopeless" is not taken for "hope*".
_KEYWORDS = {
    "tense": "tense tension* suspense* nervous* anxious anxiety uneasy unease stalk* sneak* "
    "danger* urgent urgency pursuit standoff",
    "calm": "calm* peace* serene serenity quiet* gentle* relax* tranquil* soothing soft* lazy cozy idyllic pastoral",
    "melancholy": "melanchol* sad sadly sadness sorrow* grief griev* lonely loneliness tear tears "
    "cry crying loss wistful nostalg* regret* farewell mourn* bittersweet hopeless",
    "triumphant": "triumph* victory victorious hero heroic heroes glory glorious celebrat* epic "
    "win wins winning proud majestic fearless",
    "mysterious": "myster* strange* eerie curious wonder* magic* secret* enigma* uncanny dream* ethereal",
    "action": "action fight* battle* chase* run running combat fast frantic escape* clash* energetic exciting",
    "romantic": "romanc* romantic love* loving tender* intimate affection* kiss* sweet",
    "ominous": "ominous dark* dread* menac* doom* sinister threat* evil foreboding grim horror fear* creep*",
    "hopeful": "hope* uplift* bright* optimis* dawn inspir* determin* resolve cheer* happy happiness joy*",
    "neutral": "neutral",
}
_WORDS = {w: m for m, ws in _KEYWORDS.items() for w in ws.split() if not w.endswith("*")}
_STEMS = [(w[:-1], m) for m, ws in _KEYWORDS.items() for w in ws.split() if w.endswith("*")]


def match_mood(text: object) -> str | None:
    """The mood named by the first keyword in `text`, or None."""
    for word in re.findall(r"[a-z]+", str(text or "").lower()):
        if word in _WORDS:
            return _WORDS[word]
        for stem, mood in _STEMS:
            if word.startswith(stem):
                return mood
    return None
