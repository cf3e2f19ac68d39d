"""Story -> resolved, JSON-ready specs for every job, and the episode timeline.

Each job receives exactly the fields that shape its output (and nothing else) as one
JSON param, so Snakemake re-plans a job precisely when its own spec changes
(see ../shared/snakemake-notes.md: param names are dropped, so one JSON string is used).
"""
import json
import math
import zlib
from dataclasses import dataclass, field

from ..audio.music import profile_for
from ..audio.request import service_request
from ..comfyui.spec import check_workflows, clip_fields, still_fields
from ..stills import caption_height


def dumps(spec):
    """The canonical form of a spec: what Snakemake stores and compares."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def frames_of(shot, fps):
    if "frames" in shot:
        return int(shot["frames"])
    return max(1, round(float(shot["duration"]) * fps))


def camera_of(shot):
    cam = shot["camera"]
    if isinstance(cam, str):
        return {"move": cam, "framing": "medium"}
    return {"move": cam["move"], "framing": cam.get("framing", "medium")}


def stable_seed(*parts):
    """A seed derived from ids (crc32): stable across runs and Python processes."""
    return zlib.crc32("/".join(parts).encode()) & 0x7FFFFFFF


@dataclass
class EpisodePlan:
    id: str
    title: str
    fps: int
    width: int
    height: int
    stills: dict = field(default_factory=dict)     # shot id -> still spec
    clips: dict = field(default_factory=dict)      # shot id -> clip spec
    lines: dict = field(default_factory=dict)      # line id -> voice spec
    music: dict = field(default_factory=dict)      # scene id -> music spec
    shots: list = field(default_factory=list)      # timeline rows, in order
    scenes: list = field(default_factory=list)     # timeline rows, in order
    cues: list = field(default_factory=list)       # dialogue placement requests, in order
    total_frames: int = 0

    @property
    def duration(self):
        return self.total_frames / self.fps

    def shot_ids(self):
        return [s["shot"] for s in self.shots]

    def timeline(self):
        """What the mix, the subtitles and the episode need: timing and titles, no prompts."""
        return {
            "episode": self.id, "title": self.title, "fps": self.fps,
            "width": self.width, "height": self.height, "total_frames": self.total_frames,
            "shots": self.shots, "scenes": self.scenes,
        }

    def audio_timeline(self):
        """Timing of lines and scenes only: editing an action must not re-plan the mix."""
        return {
            "episode": self.id, "fps": self.fps, "total_frames": self.total_frames,
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


def _voice_view(char_id, characters, default_engine):
    c = characters[char_id]
    v = dict(c.get("voice") or {})
    return {
        "engine": v.get("engine", default_engine),
        "pitch": v.get("pitch", 0),
        "speed": v.get("speed", 1.0),
        "espeak_voice": v.get("espeak_voice", "en-us"),
    }


def _line_spec(plan, scene, shot, line_id, line, characters, config, config_file):
    """What shapes one line's voice: the embedded voice settings, or the service request."""
    voice = _voice_view(line["speaker"], characters, config["backends"]["voice"])
    spec = {"episode": plan.id, "line": line_id, "speaker": line["speaker"], "text": line["text"], "voice": voice}
    if voice["engine"] != "http":
        return spec
    character = characters[line["speaker"]]
    sheet = character.get("voice") or {}
    context = {
        "text": line["text"], "line": line_id, "episode": plan.id, "scene": scene["id"], "shot": shot["id"],
        "speaker": line["speaker"], "name": character["name"],
        "voice_id": sheet.get("voice_id", line["speaker"]),
        "emotion": line.get("emotion", sheet.get("emotion", "neutral")),
        "speed": voice["speed"], "pitch": voice["pitch"], "sample_rate": config["output"]["sample_rate"],
    }
    # pitch and speed reach the output only through the request: they are not kept beside it
    return {**{k: spec[k] for k in ("episode", "line", "speaker", "text")}, "voice": {"engine": "http"},
            "request": service_request(config["voice"]["http"], context, f"line {line_id} of episode {plan.id}",
                                       config_file, "voice.http")}


def _music_spec(plan, scene, scene_frames, config, config_file):
    """What shapes one scene's cue: the composer's inputs, or the service request and the fit."""
    spec = {
        "episode": plan.id, "scene": scene["id"], "mood": scene["mood"], "cue": scene.get("music", ""),
        "seed": scene.get("music_seed", stable_seed(plan.id, scene["id"])),
        "duration": round(scene_frames / plan.fps, 4), "sample_rate": config["output"]["sample_rate"],
        "backend": config["backends"]["music"],
    }
    if "music_tempo" in scene:
        spec["tempo"] = scene["music_tempo"]
    if spec["backend"] != "http":
        return spec
    context = {**{k: spec[k] for k in ("episode", "scene", "mood", "cue", "seed", "duration", "sample_rate")},
               "title": scene["title"], "tempo": profile_for(spec)["tempo"]}
    music = config["music"]
    return {**{k: spec[k] for k in ("episode", "scene", "duration", "sample_rate", "backend")},
            "request": service_request(music["http"], context, f"scene {scene['id']} of episode {plan.id}",
                                       config_file, "music.http"),
            "fit": {"fade": music["fit_fade"], "crossfade": music["loop_crossfade"]}}


def estimate_line_seconds(text, speed, voice_cfg):
    """A line's speaking time guessed from its text: the plan needs it before any voice exists."""
    return voice_cfg["line_overhead"] + len(text) / (voice_cfg["chars_per_second"] * speed)


def _line_slots(lines, shot_start, after, characters, voice_cfg):
    """Planned (start, estimated end) of a shot's lines, placed as place_lines() places them.

    `after`: the end of the previous shot's last slot (None at the episode's start).
    """
    slots, prev_end = [], after
    for li, line in enumerate(lines):
        offset = line.get("at", voice_cfg["first_line_at"] if li == 0 else None)
        start = shot_start + (offset or 0.0)
        if prev_end is not None:
            start = max(start, prev_end + voice_cfg["gap"])
        speed = (characters[line["speaker"]].get("voice") or {}).get("speed", 1.0)
        end = start + estimate_line_seconds(line["text"], speed, voice_cfg)
        slots.append([start, end])
        prev_end = end
    return slots


def plan_episode(episode, characters, config, context=None, config_file="config"):
    """Resolve one checked episode into per-job specs and a frame-exact timeline.

    context: a facts.PromptContext (or None): puts each character's facts and the style
    bible into the specs they shape. config_file names the config in template messages."""
    out = config["output"]
    fps, width, height = out["fps"], out["width"], out["height"]
    backends = config["backends"]
    voice_cfg = config["voice"]
    grow = voice_cfg["grow_shots"]
    plan = EpisodePlan(id=episode["id"], title=episode["title"], fps=fps, width=width, height=height)

    cursor = 0  # frame where the next shot would start with a cut
    slot_cursor = None  # with grow_shots: where the previous line's slot ends (seconds)
    for si, scene in enumerate(episode["scenes"]):
        scene_start = None
        for hi, shot in enumerate(scene["shots"]):
            nframes = frames_of(shot, fps)
            overlap = 0
            if si > 0 and hi == 0 and scene.get("transition", "cut") == "crossfade":
                prev = plan.shots[-1]["frames"]
                overlap = min(round(scene.get("transition_seconds", 0.5) * fps), prev - 1, nframes - 1)
                overlap = max(overlap, 1)
            start = cursor - overlap
            slots = None
            if grow and shot.get("dialogue"):
                # Shot lengths must be known when the Snakefile is parsed (no checkpoints), and
                # voices exist only later: the lines are estimated from their text, the shot grows
                # to hold the estimate, and each line gets a slot that the mix holds it to (atempo)
                slots = _line_slots(shot["dialogue"], start / fps, slot_cursor, characters, voice_cfg)
                needed = math.ceil((slots[-1][1] + voice_cfg["shot_tail"]) * fps - start - 1e-6)
                nframes = max(nframes, needed)
                shot_end = (start + nframes) / fps
                for i, slot in enumerate(slots):
                    slot[1] = slots[i + 1][0] - voice_cfg["gap"] if i + 1 < len(slots) else shot_end - voice_cfg["shot_tail"]
                slot_cursor = slots[-1][1]
            if scene_start is None:
                scene_start = start
            cursor = start + nframes
            still = {
                "episode": plan.id, "scene": scene["id"], "shot": shot["id"],
                "location": scene["location"], "time_of_day": scene["time_of_day"],
                "camera": camera_of(shot), "action": shot["action"], "seed": shot["seed"],
                "width": width, "height": height, "backend": backends["stills"],
                "characters": [_character_view(c, characters, context) for c in shot.get("characters", [])],
            }
            if context is not None:
                still["style"] = context.style("stills")
            if backends["stills"] == "comfyui":
                # after the facts: the prompt templates read them from the spec
                still.update(still_fields(still, shot, episode, characters, config))
            plan.stills[shot["id"]] = still
            clip = {
                "still": still, "frames": nframes, "fps": fps, "backend": backends["clips"],
                "hold_top": caption_height(backends["stills"], height),
            }
            if backends["clips"] == "comfyui":
                clip.update(clip_fields(still, nframes, fps, shot, episode, characters, config))
            plan.clips[shot["id"]] = clip
            plan.shots.append({
                "shot": shot["id"], "scene": scene["id"], "start_frame": start, "frames": nframes,
                "transition_in": "crossfade" if overlap else "cut", "transition_frames": overlap,
            })
            for li, line in enumerate(shot.get("dialogue", [])):
                line_id = f"{shot['id']}_l{li + 1}"
                plan.lines[line_id] = _line_spec(plan, scene, shot, line_id, line, characters, config, config_file)
                offset = line.get("at", voice_cfg["first_line_at"] if li == 0 else None)
                cue = {
                    "line": line_id, "speaker": line["speaker"], "text": line["text"],
                    "shot": shot["id"],
                    # earliest start; the real start also waits for the previous line to end
                    "earliest": round(start / fps + offset, 4) if offset is not None else None,
                    "shot_start": round(start / fps, 4),
                    "gap": voice_cfg["gap"],
                }
                if slots:
                    # the line must end by here: the mix speeds it up (at most max_tempo) if needed
                    cue.update(slot_end=round(slots[li][1], 4), max_tempo=voice_cfg["max_tempo"])
                plan.cues.append(cue)
        scene_frames = cursor - scene_start
        plan.scenes.append({
            "scene": scene["id"], "title": scene["title"], "start_frame": scene_start, "frames": scene_frames,
        })
        plan.music[scene["id"]] = _music_spec(plan, scene, scene_frames, config, config_file)
        if context is not None:
            plan.music[scene["id"]]["style"] = context.style("music")
    plan.total_frames = cursor
    return plan


def plan_story(story, config, context=None, config_file="config"):
    """Every episode's plan; `config_file` names the config in messages about its templates."""
    check_workflows(story, config)
    return {ep_id: plan_episode(doc, story.characters, config, context, config_file)
            for ep_id, doc in story.episodes.items()}
