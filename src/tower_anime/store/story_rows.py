"""The story as rows: from a checked story to table rows, and from rows back to the very
documents the YAML files hold, so that the database feeds the same checks and the same
plan as the files do."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..storylike import StoryLike

if TYPE_CHECKING:
    from .connection import Database


_Row = dict[str, Any]

# column lists are constants of this module, never input: only values go in as parameters
TABLES = {
    "characters": (
        "id",
        "position",
        "name",
        "description",
        "palette_hair",
        "palette_skin",
        "palette_outfit",
        "palette_accent",
        "lora_file",
        "lora_strength_model",
        "lora_strength_clip",
        "reference_image",
        "voice_engine",
        "voice_pitch",
        "voice_speed",
        "voice_espeak_voice",
        "voice_id",
        "voice_emotion",
        "voice_timbre",
        "lang",
        "workflow",
    ),
    "episodes": ("id", "title", "lang", "title_lang", "fade_in_seconds", "fade_out_seconds", "workflow"),
    "scenes": (
        "episode_id",
        "id",
        "position",
        "title",
        "location",
        "time_of_day",
        "mood",
        "music",
        "music_seed",
        "transition",
        "transition_seconds",
        "music_tempo",
    ),
    "shots": (
        "episode_id",
        "id",
        "scene_id",
        "position",
        "frames",
        "duration",
        "camera_move",
        "camera_framing",
        "action",
        "seed",
        "workflow",
    ),
    "shot_characters": ("episode_id", "shot_id", "position", "character_id"),
    "dialogue_lines": (
        "episode_id",
        "shot_id",
        "position",
        "speaker",
        "text",
        "at_seconds",
        "lang",
        "emotion",
        "subtitles",
    ),
}
# children first: the order to delete an episode in
EPISODE_TABLES = ("dialogue_lines", "shot_characters", "shots", "scenes", "episodes")
ORDER = {
    "characters": "position, id",
    "episodes": "id",
    "scenes": "episode_id, position",
    "shots": "episode_id, position",
    "shot_characters": "episode_id, shot_id, position",
    "dialogue_lines": "episode_id, shot_id, position",
}


def number_text(value: float | None) -> str | None:
    """A schema `number` as its JSON literal: 1 stays '1', 1.0 stays '1.0'."""
    return None if value is None else json.dumps(value)


def object_text(value: dict | None) -> str | None:
    """A schema object (a line's translations, workflow templates) as JSON text, in the order
    written: the order of a line's translations orders its subtitle tracks."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


def text_number(text: str | None) -> Any:
    """Back from number_text; text that is no number is returned as is for the schema to name."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


# --- story -> rows -----------------------------------------------------------------------


def character_rows(characters: dict[str, dict[str, Any]]) -> list[_Row]:
    rows = []
    for position, (cid, c) in enumerate(characters.items()):
        lora, voice, palette = c.get("lora") or {}, c.get("voice") or {}, c["palette"]
        rows.append(
            {
                "id": cid,
                "position": position,
                "name": c["name"],
                "description": c["description"],
                "palette_hair": palette["hair"],
                "palette_skin": palette["skin"],
                "palette_outfit": palette["outfit"],
                "palette_accent": palette["accent"],
                "lora_file": lora.get("file"),
                "lora_strength_model": number_text(lora.get("strength_model")),
                "lora_strength_clip": number_text(lora.get("strength_clip")),
                "reference_image": c.get("reference_image"),
                "voice_engine": voice.get("engine"),
                "voice_pitch": number_text(voice.get("pitch")),
                "voice_speed": number_text(voice.get("speed")),
                "voice_espeak_voice": voice.get("espeak_voice"),
                "voice_id": voice.get("voice_id"),
                "voice_emotion": voice.get("emotion"),
                "voice_timbre": json.dumps(voice["timbre"], sort_keys=True)
                if voice.get("timbre") is not None
                else None,
                "lang": c.get("lang"),
                "workflow": object_text(c.get("workflow")),
            }
        )
    return rows


def episode_rows(ep_id: str, doc: dict[str, Any]) -> dict[str, list[_Row]]:
    """{table: [row, ...]} for one checked episode document."""
    out = {t: [] for t in EPISODE_TABLES}
    out["episodes"].append(
        {
            "id": ep_id,
            "title": doc["title"],
            "lang": doc.get("lang"),
            "title_lang": doc.get("title_lang"),
            "fade_in_seconds": number_text(doc.get("fade_in_seconds")),
            "fade_out_seconds": number_text(doc.get("fade_out_seconds")),
            "workflow": object_text(doc.get("workflow")),
        }
    )
    for si, scene in enumerate(doc["scenes"]):
        out["scenes"].append(
            {
                "episode_id": ep_id,
                "id": scene["id"],
                "position": si,
                "title": scene["title"],
                "location": scene["location"],
                "time_of_day": scene["time_of_day"],
                "mood": scene["mood"],
                "music": scene.get("music"),
                "music_seed": scene.get("music_seed"),
                "transition": scene.get("transition"),
                "transition_seconds": number_text(scene.get("transition_seconds")),
                "music_tempo": number_text(scene.get("music_tempo")),
            }
        )
        for hi, shot in enumerate(scene["shots"]):
            camera = shot["camera"]
            move, framing = (camera, None) if isinstance(camera, str) else (camera["move"], camera.get("framing"))
            out["shots"].append(
                {
                    "episode_id": ep_id,
                    "id": shot["id"],
                    "scene_id": scene["id"],
                    "position": hi,
                    "frames": shot.get("frames"),
                    "duration": number_text(shot.get("duration")),
                    "camera_move": move,
                    "camera_framing": framing,
                    "action": shot["action"],
                    "seed": shot["seed"],
                    "workflow": object_text(shot.get("workflow")),
                }
            )
            for ci, cid in enumerate(shot.get("characters", [])):
                out["shot_characters"].append(
                    {"episode_id": ep_id, "shot_id": shot["id"], "position": ci, "character_id": cid}
                )
            for li, line in enumerate(shot.get("dialogue", [])):
                out["dialogue_lines"].append(
                    {
                        "episode_id": ep_id,
                        "shot_id": shot["id"],
                        "position": li,
                        "speaker": line["speaker"],
                        "text": line["text"],
                        "at_seconds": number_text(line.get("at")),
                        "lang": line.get("lang"),
                        "emotion": line.get("emotion"),
                        "subtitles": object_text(line.get("subtitles")),
                    }
                )
    return out


def insert_sql(table: str, upsert_key: Sequence[str] | None = None) -> str:
    cols = TABLES[table]
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
    if upsert_key:
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in upsert_key)
        sql += f" ON CONFLICT ({', '.join(upsert_key)}) DO UPDATE SET {updates}"
    return sql


def values(table: str, rows: Iterable[_Row]) -> list[tuple[Any, ...]]:
    return [tuple(r[c] for c in TABLES[table]) for r in rows]


def write_story(db: Database, story: StoryLike) -> None:
    """Upsert the characters; replace each episode of the story wholesale. Call inside a transaction."""
    db.execute_many(insert_sql("characters", ("id",)), values("characters", character_rows(story.characters)))
    for ep_id, doc in story.episodes.items():
        for table in EPISODE_TABLES:
            db.execute(f"DELETE FROM {table} WHERE {'id' if table == 'episodes' else 'episode_id'} = ?", (ep_id,))
        rows = episode_rows(ep_id, doc)
        for table in reversed(EPISODE_TABLES):  # parents first
            db.execute_many(insert_sql(table), values(table, rows[table]))


# --- rows -> documents -------------------------------------------------------------------


def read_rows(db: Database) -> dict[str, list[_Row]]:
    return {t: db.rows(f"SELECT {', '.join(cols)} FROM {t} ORDER BY {ORDER[t]}") for t, cols in TABLES.items()}


def _put(target, key, value):
    if value is not None:
        target[key] = value


def character_document(rows: Iterable[_Row]) -> dict[str, Any]:
    characters = {}
    for r in rows:
        c = {
            "name": r["name"],
            "description": r["description"],
            "palette": {k: r[f"palette_{k}"] for k in ("hair", "skin", "outfit", "accent")},
        }
        if r["lora_file"] is not None:
            c["lora"] = {"file": r["lora_file"]}
            _put(c["lora"], "strength_model", text_number(r["lora_strength_model"]))
            _put(c["lora"], "strength_clip", text_number(r["lora_strength_clip"]))
        _put(c, "reference_image", r["reference_image"])
        voice = {}
        _put(voice, "engine", r["voice_engine"])
        _put(voice, "pitch", text_number(r["voice_pitch"]))
        _put(voice, "speed", text_number(r["voice_speed"]))
        _put(voice, "espeak_voice", r["voice_espeak_voice"])
        _put(voice, "voice_id", r["voice_id"])
        _put(voice, "emotion", r["voice_emotion"])
        _put(voice, "timbre", text_number(r["voice_timbre"]))
        if voice:
            c["voice"] = voice
        _put(c, "lang", r["lang"])
        _put(c, "workflow", text_number(r["workflow"]))
        characters[r["id"]] = c
    return {"characters": characters}


# child table -> (its columns naming the parent, parent table, the parent's key columns)
_PARENTS = {
    "scenes": (("episode_id",), "episodes", ("id",)),
    "shots": (("episode_id", "scene_id"), "scenes", ("episode_id", "id")),
    "shot_characters": (("episode_id", "shot_id"), "shots", ("episode_id", "id")),
    "dialogue_lines": (("episode_id", "shot_id"), "shots", ("episode_id", "id")),
}


def orphan_rows(rows: dict[str, list[_Row]]) -> list[tuple[str, str]]:
    """Rows whose parent row is missing, one message each. Tower's own connection enforces
    the foreign keys, but a hand edit through another SQLite connection (foreign keys off by
    default) can leave them, and the story read back would drop them without a word.
    [(table, message)]."""
    found = []
    for table, (refs, parent, keys) in _PARENTS.items():
        have = {tuple(r[k] for k in keys) for r in rows[parent]}
        for r in rows[table]:
            if tuple(r[c] for c in refs) not in have:
                row = ", ".join(f"{c}={r[c]!r}" for c in TABLES[table][:3])
                named = ", ".join(f"{k}={r[c]!r}" for k, c in zip(keys, refs))
                found.append((table, f"row ({row}) has no {parent} row with {named}: delete it or restore its parent"))
    return found


def episode_documents(rows: dict[str, list[_Row]]) -> dict[str, dict[str, Any]]:
    """{episode id: document} in the shape of config/episodes/<id>.yaml (id left to the name)."""
    cast, lines, shots = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in rows["shot_characters"]:
        cast[r["episode_id"], r["shot_id"]].append(r["character_id"])
    for r in rows["dialogue_lines"]:
        line = {"speaker": r["speaker"], "text": r["text"]}
        _put(line, "at", text_number(r["at_seconds"]))
        _put(line, "lang", r["lang"])
        _put(line, "emotion", r["emotion"])
        _put(line, "subtitles", text_number(r["subtitles"]))
        lines[r["episode_id"], r["shot_id"]].append(line)
    for r in rows["shots"]:
        key = (r["episode_id"], r["id"])
        shot = {"id": r["id"]}
        _put(shot, "frames", r["frames"])
        _put(shot, "duration", text_number(r["duration"]))
        shot["camera"] = (
            r["camera_move"]
            if r["camera_framing"] is None
            else {"move": r["camera_move"], "framing": r["camera_framing"]}
        )
        shot["action"] = r["action"]
        shot["characters"] = cast.get(key, [])
        shot["seed"] = r["seed"]
        _put(shot, "workflow", text_number(r["workflow"]))
        if key in lines:
            shot["dialogue"] = lines[key]
        shots[r["episode_id"], r["scene_id"]].append(shot)
    scenes = defaultdict(list)
    for r in rows["scenes"]:
        scene = {k: r[k] for k in ("id", "title", "location", "time_of_day", "mood")}
        _put(scene, "music", r["music"])
        _put(scene, "music_seed", r["music_seed"])
        _put(scene, "transition", r["transition"])
        _put(scene, "transition_seconds", text_number(r["transition_seconds"]))
        _put(scene, "music_tempo", text_number(r["music_tempo"]))
        scene["shots"] = shots.get((r["episode_id"], r["id"]), [])
        scenes[r["episode_id"]].append(scene)
    documents = {}
    for r in rows["episodes"]:
        doc = {"title": r["title"]}
        for key in ("lang", "title_lang"):
            _put(doc, key, r[key])
        for key in ("fade_in_seconds", "fade_out_seconds", "workflow"):
            _put(doc, key, text_number(r[key]))
        doc["scenes"] = scenes.get(r["id"], [])
        documents[r["id"]] = doc
    return documents
