"""Story -> resolved, JSON-ready specs for every job, and the episode timeline.

Each job receives exactly the fields that shape its output (and nothing else) as one
JSON param, so Snakemake re-plans a job precisely when its own spec changes
(see ../shared/snakemake-notes.md: param names are dropped, so one JSON string is used).
"""
import json
import zlib
from dataclasses import dataclass, field

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


def _character_view(char_id, characters):
    c = characters[char_id]
    view = {"id": char_id, "name": c["name"], "description": c["description"], "palette": dict(c["palette"])}
    # only what shapes a picture: a changed LoRA or reference re-renders this character's shots
    for key in ("lora", "reference_image"):
        if key in c:
            view[key] = c[key]
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


def plan_episode(episode, characters, config):
    """Resolve one checked episode into per-job specs and a frame-exact timeline."""
    out = config["output"]
    fps, width, height = out["fps"], out["width"], out["height"]
    backends = config["backends"]
    voice_cfg = config["voice"]
    plan = EpisodePlan(id=episode["id"], title=episode["title"], fps=fps, width=width, height=height)

    cursor = 0  # frame where the next shot would start with a cut
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
            if scene_start is None:
                scene_start = start
            cursor = start + nframes
            still = {
                "episode": plan.id, "scene": scene["id"], "shot": shot["id"],
                "location": scene["location"], "time_of_day": scene["time_of_day"],
                "camera": camera_of(shot), "action": shot["action"], "seed": shot["seed"],
                "width": width, "height": height, "backend": backends["stills"],
                "characters": [_character_view(c, characters) for c in shot.get("characters", [])],
            }
            if backends["stills"] == "comfyui":
                still.update(still_fields(still, shot, episode, characters, config))
            plan.stills[shot["id"]] = still
            clip = {
                "still": still, "frames": nframes, "fps": fps, "backend": backends["clips"],
                "hold_bottom": caption_height(backends["stills"], height),
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
                plan.lines[line_id] = {
                    "episode": plan.id, "line": line_id, "speaker": line["speaker"],
                    "text": line["text"], "voice": _voice_view(line["speaker"], characters, backends["voice"]),
                }
                offset = line.get("at", voice_cfg["first_line_at"] if li == 0 else None)
                plan.cues.append({
                    "line": line_id, "speaker": line["speaker"], "text": line["text"],
                    "shot": shot["id"],
                    # earliest start; the real start also waits for the previous line to end
                    "earliest": round(start / fps + offset, 4) if offset is not None else None,
                    "shot_start": round(start / fps, 4),
                    "gap": voice_cfg["gap"],
                })
        scene_frames = cursor - scene_start
        plan.scenes.append({
            "scene": scene["id"], "title": scene["title"], "start_frame": scene_start, "frames": scene_frames,
        })
        plan.music[scene["id"]] = {
            "episode": plan.id, "scene": scene["id"], "mood": scene["mood"], "cue": scene.get("music", ""),
            "seed": scene.get("music_seed", stable_seed(plan.id, scene["id"])),
            "duration": round(scene_frames / fps, 4), "sample_rate": out["sample_rate"],
            "backend": backends["music"],
        }
    plan.total_frames = cursor
    return plan


def plan_story(story, config):
    check_workflows(story, config)
    return {ep_id: plan_episode(doc, story.characters, config) for ep_id, doc in story.episodes.items()}
