"""The music stage: one cue per scene from the configured backend.

fluidsynth composes and renders the cue here (music.py); http asks the user's music service
(service.py) and fits its answer to the scene's length (fit.py).
"""
import tempfile
from pathlib import Path

from .fit import fit_to_duration
from .music import find_soundfont, render_cue


def make_cue(spec, out_wav, soundfonts=None, transport=None, log=None):
    """Write the scene's cue to `out_wav`: exactly spec["duration"] seconds, 48 kHz stereo."""
    what = f"music cue {spec.get('episode', '?')}/{spec.get('scene', '?')}"
    if spec.get("backend") != "http":
        render_cue(spec, out_wav, find_soundfont(soundfonts), log=log)
        return
    from .service import fetch_audio

    with tempfile.TemporaryDirectory(prefix="tower-music-") as tmp:
        reply = Path(tmp) / "reply"
        info = fetch_audio(spec["request"], reply, transport, "music", what, log)
        fit_to_duration(reply, out_wav, info["seconds"], float(spec["duration"]), int(spec["sample_rate"]),
                        spec["fit"]["fade"], spec["fit"]["crossfade"], what, log)
