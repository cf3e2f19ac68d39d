"""Story -> resolved, JSON-ready specs for every job, and the episode timeline.

Each job receives exactly the fields that shape its output (and nothing else) as one
JSON param, so Snakemake re-plans a job precisely when its own spec changes
(Snakemake compares params by value and drops their names, so one JSON string is used).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import backends, lang
from ..backends import PlanContext
from ..episode.subtitles import subtitle_limits
from ..episode.tracks import audio_language, line_reading, subtitle_tracks
from ..episode.transitions import check_transitions, seconds_to_frames
from ..errors import InvalidInput, MediaError, ValidationProblem
from .dialogue import ShotFit, fit_shot, overflow_message
from .language import espeak_voice_for, language_problems, line_language, title_language, voice_engine

if TYPE_CHECKING:
    from ..facts.context import PromptContext
    from .load import Story


def dumps(spec: Any) -> str:
    """The canonical form of a spec: what Snakemake stores and compares."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def frames_of(shot: dict, fps: int) -> int:
    if "frames" in shot:
        return int(shot["frames"])
    return max(1, round(float(shot["duration"]) * fps))


def camera_of(shot: dict) -> dict[str, str]:
    cam = shot["camera"]
    if isinstance(cam, str):
        return {"move": cam, "framing": "medium"}
    return {"move": cam["move"], "framing": cam.get("framing", "medium")}


def stable_seed(*parts: str) -> int:
    """A seed derived from ids (crc32): stable across runs and Python processes."""
    return zlib.crc32("/".join(parts).encode()) & 0x7FFFFFFF


@dataclass
class EpisodePlan:
    id: str
    title: str
    fps: int
    width: int
    height: int
    stills: dict = field(default_factory=dict)  # shot id -> still spec
    clips: dict = field(default_factory=dict)  # shot id -> clip spec
    lines: dict = field(default_factory=dict)  # line id -> voice spec
    music: dict = field(default_factory=dict)  # scene id -> music spec
    shots: list = field(default_factory=list)  # timeline rows, in order
    scenes: list = field(default_factory=list)  # timeline rows, in order
    cues: list = field(default_factory=list)  # dialogue placement requests, in order
    fits: dict = field(default_factory=dict)  # shot id -> ShotFit (how its dialogue was fitted)
    notes: list = field(default_factory=list)  # shots grown or sped up to hold their lines, for people
    total_frames: int = 0
    fade_in_frames: int = 0  # from black at the episode's start
    fade_out_frames: int = 0  # to black at its end
    languages: dict = field(default_factory=dict)  # line id -> the language it is spoken in (ja, en)
    tracks: list = field(default_factory=list)  # subtitle tracks (episode/tracks.py), audience's first
    title_lang: str = "en"  # the language of the title and chapter names

    @property
    def duration(self) -> float:
        return self.total_frames / self.fps

    def shot_ids(self) -> list[str]:
        return [s["shot"] for s in self.shots]

    def timeline(self) -> dict[str, Any]:
        """What the mix, the subtitles and the episode need: timing and titles, no prompts."""
        return {
            "episode": self.id,
            "title": self.title,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "total_frames": self.total_frames,
            "fade_in_frames": self.fade_in_frames,
            "fade_out_frames": self.fade_out_frames,
            "shots": self.shots,
            "scenes": self.scenes,
        }

    def language_tags(self) -> dict[str, Any]:
        """What the mux tags and names: the audio's and the chapters' languages, and each subtitle
        track's language, name and flags (ISO 639-2 codes, as Matroska writes them)."""
        spoken = list(dict.fromkeys(lang.matroska(c) for c in self.languages.values()))
        return {
            "audio": audio_language(self.languages.values()),
            "audio_languages": spoken,
            "chapters": lang.matroska(self.title_lang),
            "subtitles": [{k: t[k] for k in ("lang", "name", "default", "forced")} for t in self.tracks],
        }

    def audio_timeline(self) -> dict[str, Any]:
        """Timing of lines and scenes only: editing an action must not re-plan the mix."""
        return {
            "episode": self.id,
            "fps": self.fps,
            "total_frames": self.total_frames,
            "scenes": [{k: s[k] for k in ("scene", "start_frame", "frames")} for s in self.scenes],
            "lines": self.cues,
        }


def _character_view(char_id, characters, context=None):
    c = characters[char_id]
    view = {"id": char_id, "name": c["name"], "description": c["description"], "palette": dict(c["palette"])}
    # only what shapes a picture: a changed LoRA or reference re-renders this character's shots
    for key in ("lora", "reference_image"):
        if key in c:
            view[key] = c[key]
    if context is not None:
        # this character's facts (facts.context): a changed fact re-plans only their shots
        view["facts"] = context.character(char_id)
    return view


def _voice_view(char_id, characters, config, code):
    """The speaker's voice for a line in language `code`: the backend that speaks it there
    (story/language.py; refused before planning when none does) and the character's settings."""
    c = characters[char_id]
    v = dict(c.get("voice") or {})
    return {
        "engine": voice_engine(code, v, config) or v.get("engine", config["backends"]["voice"]),
        "pitch": v.get("pitch", 0),
        "speed": v.get("speed", 1.0),
        "espeak_voice": espeak_voice_for(code, v.get("espeak_voice", "en-us")),
    }


def _line_spec(plan, scene, shot, line_id, line, characters, config, config_file):
    """What shapes one line's voice: the embedded voice settings, shaped by its voice backend
    (a service's request takes their place)."""
    voice = _voice_view(line["speaker"], characters, config, plan.languages[line_id])
    spec = {"episode": plan.id, "line": line_id, "speaker": line["speaker"], "text": line["text"], "voice": voice}
    where = PlanContext(config, config_file, None, characters, scene, shot, line, line_id)
    return backends.get("voice", voice["engine"]).spec_for(spec, where)


def _music_spec(plan, scene, scene_frames, config, config_file):
    """What shapes one scene's cue: the composer's inputs, shaped by the music backend."""
    spec = {
        "episode": plan.id,
        "scene": scene["id"],
        "mood": scene["mood"],
        "cue": scene.get("music", ""),
        "seed": scene.get("music_seed", stable_seed(plan.id, scene["id"])),
        "duration": round(scene_frames / plan.fps, 4),
        "sample_rate": config["output"]["sample_rate"],
        "backend": config["backends"]["music"],
    }
    if "music_tempo" in scene:
        spec["tempo"] = scene["music_tempo"]
    return backends.get("music", spec["backend"]).spec_for(spec, PlanContext(config, config_file, None, {}, scene))


def _fit_dialogue(plan, shot, scripted, overlap, reserve, characters, config, reading):
    """Fit the shot's lines into it (voice.fit_lines): its ShotFit, and the message when the
    story must stop for it (else the message, if any, becomes a note for people)."""
    voice_cfg, fps = config["voice"], plan.fps
    lines = shot.get("dialogue", [])
    codes = [plan.languages[f"{shot['id']}_l{i + 1}"] for i in range(len(lines))]
    voices = [_voice_view(line["speaker"], characters, config, c) for line, c in zip(lines, codes)]
    readings = [line_reading(line, c, config["subtitles"], fps) for line, c in zip(lines, codes)]
    fit = fit_shot(
        shot,
        scripted,
        fps,
        overlap,
        reserve,
        [v["engine"] for v in voices],
        [v["speed"] for v in voices],
        voice_cfg,
        reading,
        codes,
        readings,
    )
    plan.fits[shot["id"]] = fit
    for i, at, start in fit.moved_at or []:
        plan.notes.append(
            f"shot {shot['id']} line {i + 1}: at {at:g} s falls in the crossfade into the shot; it starts at "
            f"{start:.2f} s, once the shot is on screen alone (raise `at` to {start:.2f} to say so in the script)"
        )
    if not fit.overflows:
        return fit, None
    message = overflow_message(shot["id"], fit, fps, voice_cfg["fit_lines"])
    if voice_cfg["fit_lines"] == "stop" and fit.frames < math.ceil(fit.needed_seconds * fps - 1e-6):
        return fit, message
    plan.notes.append(message)
    return fit, None


def _shot_specs(plan, episode, scene, shot, frames, characters, config, context, config_file):
    """The shot's still and clip specs, each shaped by its stage's backend."""
    stills, clips = (backends.get(stage, config["backends"][stage]) for stage in ("stills", "clips"))
    still = {
        "episode": plan.id,
        "scene": scene["id"],
        "shot": shot["id"],
        "location": scene["location"],
        "time_of_day": scene["time_of_day"],
        "camera": camera_of(shot),
        "action": shot["action"],
        "seed": shot["seed"],
        "width": plan.width,
        "height": plan.height,
        "backend": stills.name,
        "characters": [_character_view(c, characters, context) for c in shot.get("characters", [])],
    }
    if context is not None:
        still["style"] = context.style("stills")
    where = PlanContext(config, config_file, episode, characters, scene, shot)
    # shaped after the facts and the style: a backend's prompt templates read them from the spec
    still = stills.spec_for(still, where)
    clip = {
        "still": still,
        "frames": frames,
        "fps": plan.fps,
        "backend": clips.name,
        "hold_top": stills.caption_height(plan.height),
    }
    return still, clips.spec_for(clip, where)


def _too_short(shot, scripted, clips, fps, where, field):
    """The problem with a shot shorter than its clips backend can make, or None."""
    shortest = clips.shortest_shot(fps)
    if scripted >= shortest:
        return None
    return ValidationProblem(
        where,
        f"{field}.{'frames' if 'frames' in shot else 'duration'}",
        f"got {shot.get('frames', shot.get('duration'))} = {scripted} frame(s); the clips backend "
        f"{clips.name!r} makes shots of at least {shortest} frames ({shortest / fps:.2f} s at "
        f"{fps} fps): lengthen the shot or merge it with its neighbour",
    )


def _outgoing_reserve(scenes, scene_index, shot_index, fps):
    """Frames a crossfade out of this shot may take: no line is planned there."""
    scene = scenes[scene_index]
    if shot_index + 1 < len(scene["shots"]) or scene_index + 1 >= len(scenes):
        return 0
    nxt = scenes[scene_index + 1]
    return round(nxt.get("transition_seconds", 0.5) * fps) if nxt.get("transition", "cut") == "crossfade" else 0


def _check_dialogue(shot, scripted_frames, fps, where):
    """Script problems no voice can fix: a line starting past its shot, or before the line it follows."""
    found, last_at = [], None
    for li, line in enumerate(shot.get("dialogue", [])):
        if "at" not in line:
            continue
        field = f"{where}.dialogue[{li}].at"
        if line["at"] >= scripted_frames / fps:
            found.append(
                ValidationProblem(
                    None,
                    field,
                    f"got {line['at']}; the shot is {scripted_frames / fps:.2f} s long, "
                    "so a line must start inside it: lower `at`, or give the shot more frames",
                )
            )
        if last_at is not None and line["at"] < last_at:
            found.append(
                ValidationProblem(
                    None,
                    field,
                    f"got {line['at']}, before the previous line's at {last_at}; "
                    "lines are spoken in order and never overlap: put the lines in order",
                )
            )
        last_at = line["at"]
    return found


def _overlap(row):
    """Frames a shot shares with the one before it: a crossfade's (a dip shares none)."""
    return row["transition_frames"] if row["transition_in"] == "crossfade" else 0


def _cues(plan, episode, voice_cfg, config):
    """Each line's placement request: its earliest start and the span of its own shot (no
    crossfade, never past the picture), where the mix must keep it (episode/placement.py)."""
    fps = plan.fps
    rows = plan.shots
    scene_span = {s["scene"]: (s["start_frame"] / fps, (s["start_frame"] + s["frames"]) / fps) for s in plan.scenes}
    cues = []
    shots = [shot for scene in episode["scenes"] for shot in scene["shots"]]
    for i, (row, shot) in enumerate(zip(rows, shots)):
        out_overlap = _overlap(rows[i + 1]) if i + 1 < len(rows) else 0
        own_start = (row["start_frame"] + _overlap(row)) / fps
        own_end = (row["start_frame"] + row["frames"] - out_overlap) / fps
        for li, line in enumerate(shot.get("dialogue", [])):
            offset = plan.fits[row["shot"]].earliest[li]
            cues.append(
                {
                    "line": f"{shot['id']}_l{li + 1}",
                    "speaker": line["speaker"],
                    "text": line["text"],
                    "shot": row["shot"],
                    "scene": row["scene"],
                    # earliest start; the real start also waits for the previous line of the shot
                    "earliest": round(row["start_frame"] / fps + offset, 4) if offset is not None else None,
                    "window": [round(own_start, 4), round(own_end, 4)],
                    "scene_window": [round(v, 4) for v in scene_span[row["scene"]]],
                    "gap": voice_cfg["gap"],
                    "max_tempo": voice_cfg["max_tempo"],
                    # the subtitles' least time: the next line waits for it too
                    "reading": round(
                        line_reading(line, plan.languages[f"{shot['id']}_l{li + 1}"], config["subtitles"], fps), 3
                    ),
                }
            )
    return cues


def plan_episode(
    episode: dict,
    characters: dict,
    config: dict,
    context: PromptContext | None = None,
    config_file: str = "config",
    where: Path | str | None = None,
) -> EpisodePlan:
    """Resolve one checked episode into per-job specs and a frame-exact timeline.

    context: a facts.PromptContext (or None): puts each character's facts and the style
    bible into the specs they shape. config_file names the config in template messages;
    where: the episode's file, named in problems (InvalidInput) the plan finds."""
    out = config["output"]
    fps, width, height = out["fps"], out["width"], out["height"]
    voice_cfg = config["voice"]
    clips = backends.get("clips", config["backends"]["clips"])
    plan = EpisodePlan(id=episode["id"], title=episode["title"], fps=fps, width=width, height=height)
    problems = []
    scenes = episode["scenes"]
    reading = subtitle_limits(config["subtitles"], fps)
    plan.title_lang = title_language(episode, config)
    spoken = []
    for scene in scenes:
        for shot in scene["shots"]:
            for li, line in enumerate(shot.get("dialogue", [])):
                line_id = f"{shot['id']}_l{li + 1}"
                plan.languages[line_id] = line_language(line, characters, episode, config)
                spoken.append((line_id, plan.languages[line_id], line))
    plan.tracks = subtitle_tracks(spoken, out["subtitle_language"])

    cursor = 0  # frame where the next shot would start with a cut
    for si, scene in enumerate(scenes):
        scene_start = None
        for hi, shot in enumerate(scene["shots"]):
            field = f"scenes[{si}].shots[{hi}]"
            scripted = frames_of(shot, fps)
            problems += [
                ValidationProblem(where, p.field, p.message) for p in _check_dialogue(shot, scripted, fps, field)
            ]
            problems += filter(None, [_too_short(shot, scripted, clips, fps, where, field)])
            # a scene's first shot joins the shot before it; a crossfade overlaps the two by its
            # frames, a dip does not (it fades the ends of both): only a crossfade moves `start`.
            # Lengths that do not fit the shots are refused by check_transitions, not clamped
            kind, tframes = (
                (scene["transition"], seconds_to_frames(scene.get("transition_seconds", 0.5), fps))
                if si > 0 and hi == 0 and scene.get("transition", "cut") != "cut"
                else ("cut", 0)
            )
            overlap = tframes if kind == "crossfade" else 0
            start = cursor - overlap
            try:
                fit, stop = _fit_dialogue(
                    plan, shot, scripted, overlap, _outgoing_reserve(scenes, si, hi, fps), characters, config, reading
                )
            except MediaError as e:  # a word no subtitle row or event holds (episode/subtitles.py)
                fit, stop = ShotFit(scripted, scripted, 0.0, 0.0, [], fps), str(e)
            if stop:
                problems.append(ValidationProblem(where, f"{field}.dialogue", stop))
            nframes = fit.frames
            if scene_start is None:
                scene_start = start
            cursor = start + nframes
            plan.stills[shot["id"]], plan.clips[shot["id"]] = _shot_specs(
                plan, episode, scene, shot, nframes, characters, config, context, config_file
            )
            plan.shots.append(
                {
                    "shot": shot["id"],
                    "scene": scene["id"],
                    "start_frame": start,
                    "frames": nframes,
                    "transition_in": kind,
                    "transition_frames": tframes,
                }
            )
            for li, line in enumerate(shot.get("dialogue", [])):
                line_id = f"{shot['id']}_l{li + 1}"
                plan.lines[line_id] = _line_spec(plan, scene, shot, line_id, line, characters, config, config_file)
        scene_frames = cursor - scene_start
        plan.scenes.append(
            {
                "scene": scene["id"],
                "title": scene["title"],
                "start_frame": scene_start,
                "frames": scene_frames,
            }
        )
        plan.music[scene["id"]] = _music_spec(plan, scene, scene_frames, config, config_file)
        if context is not None:
            plan.music[scene["id"]]["style"] = context.style("music")
    plan.total_frames = cursor
    plan.fade_in_frames = seconds_to_frames(episode.get("fade_in_seconds", 0), fps)
    plan.fade_out_frames = seconds_to_frames(episode.get("fade_out_seconds", 0), fps)
    if problems:
        raise InvalidInput(problems)
    plan.cues = _cues(plan, episode, voice_cfg, config)
    if clips.speech and backends.get("stills", config["backends"]["stills"]).faces:
        _clip_lines(plan)
    return plan


def _clip_lines(plan):
    """Each clip's own lines, timed from its shot's start: a change elsewhere in the episode
    does not re-render it, a change of its own lines (or their voices) does. The times come
    from the shot's own frames and fit, not from the episode's clock: subtracting the shot's
    start from a rounded episode time gave 1.5416 or 1.5417, 0.0 or -0.0, as the shot moved,
    and re-rendered a clip whose shot had not changed."""
    rows = plan.shots
    own = {}
    for i, row in enumerate(rows):
        out_overlap = _overlap(rows[i + 1]) if i + 1 < len(rows) else 0
        own[row["shot"]] = [_relative(_overlap(row) / plan.fps), _relative((row["frames"] - out_overlap) / plan.fps)]
    said = {}
    for cue in plan.cues:
        li = said[cue["shot"]] = said.get(cue["shot"], -1) + 1
        offset = plan.fits[cue["shot"]].earliest[li]
        plan.clips[cue["shot"]].setdefault("lines", []).append(
            {
                **{k: cue[k] for k in ("line", "speaker", "shot", "gap", "max_tempo", "reading")},
                "earliest": None if offset is None else _relative(offset),
                "window": list(own[cue["shot"]]),
            }
        )


def _relative(seconds: float) -> float:
    return round(seconds, 4) + 0.0  # + 0.0: never -0.0


def _check_backends(story, config, config_file="config"):
    """Before any plan: each character's own voice engine is a known voice backend, and each
    configured backend finds the story fit for it (ComfyUI: every workflow template it names)."""
    problems = [
        p
        for cid, char in story.characters.items()
        if (char.get("voice") or {}).get("engine")
        for p in backends.unknown(
            "voice", char["voice"]["engine"], config["story"]["characters"], f"characters.{cid}.voice.engine"
        )
    ]
    problems += language_problems(story, config, config_file)
    for stage in backends.STAGES:
        backend = backends.get(stage, config["backends"][stage])
        if backend.check_story is not None:
            problems += backend.check_story(story, config, stage)
    if problems:
        raise InvalidInput(problems)


def plan_story(
    story: Story, config: dict, context: PromptContext | None = None, config_file: str = "config"
) -> dict[str, EpisodePlan]:
    """Every episode's plan; `config_file` names the config in messages about its templates.

    Raises InvalidInput with the problems of every episode (dialogue that cannot fit)."""
    _check_backends(story, config, config_file)
    plans, problems = {}, []
    for ep_id, doc in story.episodes.items():
        try:
            plans[ep_id] = plan_episode(doc, story.characters, config, context, config_file, story.files.get(ep_id))
        except InvalidInput as e:
            problems += e.problems
    # shot lengths are known only now (fps, grown shots): transitions are checked on the plan
    problems += [
        p
        for ep_id, plan in plans.items()
        for p in check_transitions(plan.timeline(), story.episodes[ep_id], story.files.get(ep_id, ep_id))
    ]
    if problems:
        raise InvalidInput(problems)
    return plans
