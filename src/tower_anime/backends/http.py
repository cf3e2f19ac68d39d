"""Your own voice and music services over HTTP (README: Voice and music services): the request
is rendered from the config's template when the story is planned, so it is the job's spec and
editing the template re-plans exactly the lines or scenes whose request changed. One
declaration per stage; the config sections are voice.http and music.http.

The client's own code is not an input of the jobs; what shapes the audio after the reply is:
the voice stage's character shaping and trim (audio/voice.py: pitch, tempo and timbre, for
what voice.http.tower_applies names), the fit of a cue to its scene (audio/fit.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, TextIO

from . import Backend, PlanContext, register

# audio.music (mido), audio.request (Jinja2) and audio.voice are imported where they are used:
# every job that looks up any backend imports this module (~0.02 s of CPU saved there).


def speak(
    spec: dict, raw_path: Path | str, log: TextIO | None = None, transport: dict | None = None, **runtime: Any
) -> None:
    """Fetch the line's audio from the voice service into raw_path, checked as audio."""
    # imported here: the client is not needed to plan a run
    from ..audio.service import fetch_audio

    info = fetch_audio(
        spec["request"], raw_path, transport, "voice", f"voice line {spec.get('episode', '?')}/{spec['line']}", log
    )
    if log is not None:
        print(f"accepted {info['codec']} reply: {info['seconds']:.2f} s", file=log, flush=True)


def shape_line(spec: dict, where: PlanContext) -> dict:
    """The rendered request in place of the embedded voice settings."""
    from ..audio.request import service_request
    from ..audio.voice import timbre_of

    config, line, speaker = where.config, where.line, spec["speaker"]
    character = where.characters[speaker]
    sheet = character.get("voice") or {}
    voice = spec["voice"]
    service = config["voice"]["http"]
    context = {
        "text": spec["text"],
        "line": spec["line"],
        "episode": spec["episode"],
        "scene": where.scene["id"],
        "shot": where.shot["id"],
        "speaker": speaker,
        "name": character["name"],
        "voice_id": sheet.get("voice_id", speaker),
        # the character's place in the sheet: for services that number their speakers
        "speaker_index": list(where.characters).index(speaker),
        "emotion": line.get("emotion", sheet.get("emotion", "neutral")),
        "speed": voice["speed"],
        "pitch": voice["pitch"],
        "sample_rate": config["output"]["sample_rate"],
        # Piper's length_scale: > 1 speaks slower
        "length_scale": round(1.0 / float(voice["speed"]), 4),
    }
    # what Tower applies to the reply (the rest is the service's business, through the request)
    applies = set(service["tower_applies"])
    shaped = {"engine": "http"}
    if "pitch" in applies and voice["pitch"]:
        shaped["pitch"] = voice["pitch"]
    if "speed" in applies and float(voice["speed"]) != 1.0:
        shaped["tempo"] = voice["speed"]
    if "timbre" in applies and timbre_of(character):
        shaped["timbre"] = timbre_of(character)
    return {
        **{k: spec[k] for k in ("episode", "line", "speaker", "text")},
        "voice": shaped,
        "request": service_request(
            service, context, f"line {spec['line']} of episode {spec['episode']}", where.config_file, "voice.http"
        ),
    }


def compose(
    spec: dict, out_wav: Path | str, log: TextIO | None = None, transport: dict | None = None, **runtime: Any
) -> None:
    """Fetch the scene's cue from the music service and fit it to the scene, to the sample."""
    from ..audio.fit import fit_to_duration
    from ..audio.service import fetch_audio

    what = f"music cue {spec.get('episode', '?')}/{spec.get('scene', '?')}"
    with tempfile.TemporaryDirectory(prefix="tower-music-") as tmp:
        reply = Path(tmp) / "reply"
        info = fetch_audio(spec["request"], reply, transport, "music", what, log)
        fit_to_duration(
            reply,
            out_wav,
            info["seconds"],
            float(spec["duration"]),
            int(spec["sample_rate"]),
            spec["fit"]["fade"],
            spec["fit"]["crossfade"],
            what,
            log,
        )


def shape_cue(spec: dict, where: PlanContext) -> dict:
    """The rendered request and the fit in place of the composer's inputs."""
    from ..audio.music import profile_for
    from ..audio.request import service_request

    scene, music = where.scene, where.config["music"]
    context = {
        **{k: spec[k] for k in ("episode", "scene", "mood", "cue", "seed", "duration", "sample_rate")},
        "title": scene["title"],
        "tempo": profile_for(spec)["tempo"],
    }
    return {
        **{k: spec[k] for k in ("episode", "scene", "duration", "sample_rate", "backend")},
        "request": service_request(
            music["http"], context, f"scene {scene['id']} of episode {spec['episode']}", where.config_file, "music.http"
        ),
        "fit": {"fade": music["fit_fade"], "crossfade": music["loop_crossfade"]},
    }


register(Backend(stage="voice", name="http", render=speak, shape=shape_line, code=("audio/voice.py",)))
register(Backend(stage="music", name="http", render=compose, shape=shape_cue, code=("audio/fit.py",)))
