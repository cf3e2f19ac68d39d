"""The way back: an edited timeline read as changes to the story, shown as a diff and, with
apply, written into the episode's YAML (comments and layout kept, ruamel.yaml round trip).

What the story can hold: a shot's length (`frames`), the order of the shots inside a scene, and
a line's start inside its shot (`at`). Everything else an editor can do is refused, named: a
shot dropped, doubled or moved to another scene, scenes reordered, a clip from outside the
story, a gap, a transition added, removed or changed, a fade changed, a line trimmed, dropped,
added or moved out of its shot. A head trim is kept as a length only (the clip is made again
from its first frame), and said so."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, TowerError, ValidationProblem
from ..fsutil import write_text_atomic
from ..story import dumps
from .otio_timeline import dialogue_clips, digest, picture_rows, read

if TYPE_CHECKING:
    from ..story.plan import EpisodePlan


class EditRefused(TowerError):
    """An edit the story cannot express; nothing was written."""


@dataclass
class Edit:
    frames: dict = field(default_factory=dict)  # shot -> (planned frames, edited frames)
    order: dict = field(default_factory=dict)  # scene -> (planned shot order, edited order)
    at: dict = field(default_factory=dict)  # line -> (shot, position, old at or None, new at)
    notes: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.frames or self.order or self.at)

    def text(self, ep: str) -> str:
        out = []
        for shot, (old, new) in self.frames.items():
            out.append(f"shot {shot}: frames {old} -> {new} ({new - old:+d})")
        for scene, (old, new) in self.order.items():
            out.append(f"scene {scene}: shots {' '.join(old)} -> {' '.join(new)}")
        for line, (shot, _, old, new) in self.at.items():
            out.append(f"line {line} (shot {shot}): at {'(after the previous line)' if old is None else old} -> {new}")
        out += [f"note: {n}" for n in self.notes]
        out += [f"refused: {r}" for r in self.refused]
        return "\n".join(out) or f"{ep}: the timeline holds no change to the story"


def read_edit(edited: Path | str, plan: EpisodePlan, placement: dict | None = None) -> Edit:
    """The changes an edited timeline makes to the story of `plan` (an EpisodePlan)."""
    tl = read(edited)
    meta = tl.metadata["tower"]
    edit = Edit()
    if meta.get("episode") != plan.id:
        raise EditRefused(f"{edited} is a timeline of episode {meta.get('episode')!r}, not {plan.id!r}")
    if meta.get("plan") != digest(dumps(plan.timeline())):
        raise EditRefused(
            f"the story of {plan.id} changed since {edited} was written: build timelines/{plan.id}.otio "
            "again and make the edit on it"
        )
    rows, problems = picture_rows(tl)
    edit.refused += problems
    edit.refused += [
        f"a second picture track {t.name!r}: the story has one picture" for t in tl.video_tracks()[1:] if len(t)
    ]
    planned = {r["shot"]: r for r in plan.shots}
    seen = {}
    for r in rows:
        sid = r["shot"]
        if sid not in planned:
            edit.refused.append(f"clip {r['name']!r} ({r['media']}) is not a shot of the story: add shots in the story")
            continue
        if sid in seen:
            edit.refused.append(f"shot {sid} is on the picture track twice")
        seen[sid] = r
    for sid in planned:
        if sid not in seen:
            edit.refused.append(f"shot {sid} was removed: delete it in the story, not in the editor")
    # scenes: each a block, in the story's order; shots may be reordered inside their block
    scene_order = [s["scene"] for s in plan.scenes]
    blocks = []
    for r in rows:
        if r["shot"] in planned:
            scene = planned[r["shot"]]["scene"]
            if blocks and blocks[-1][0] == scene:
                blocks[-1][1].append(r["shot"])
            else:
                blocks.append((scene, [r["shot"]]))
    if [b[0] for b in blocks] != scene_order:
        for _scene, shots in blocks:
            for sid in shots:
                home = planned[sid]["scene"]
                if [b[0] for b in blocks].count(home) > 1:
                    edit.refused.append(
                        f"shot {sid} of scene {home} was moved out of its scene (the story keeps each "
                        "scene's shots together: move it in the story)"
                    )
        if len(set(b[0] for b in blocks)) == len(blocks):
            edit.refused.append(
                f"the scenes were reordered ({' '.join(b[0] for b in blocks)}; the story has "
                f"{' '.join(scene_order)}): reorder them in the story"
            )
    else:
        for scene, shots in blocks:
            old = [r["shot"] for r in plan.shots if r["scene"] == scene]
            if shots != old:
                edit.order[scene] = (old, shots)
    # transitions and fades: the story's, unchanged
    first_of_scene = {b[1][0] for b in blocks}
    for r in rows:
        sid = r["shot"]
        if sid not in planned:
            continue
        p = planned[sid]
        want = (
            (p["transition_in"], p["transition_frames"])
            if sid == next((b[1][0] for b in blocks if b[0] == p["scene"]), None)
            else ("cut", 0)
        )
        if (r["transition_in"], r["transition_frames"]) != want and rows.index(r) > 0:
            where = "into scene " + p["scene"] if sid in first_of_scene else f"inside scene {p['scene']}"
            edit.refused.append(
                f"the transition before shot {sid} ({where}) is {r['transition_in']} "
                f"{r['transition_frames']}f, the story's is {want[0]} {want[1]}f: change `transition` "
                "in the story"
            )
        if p["frames"] != r["frames"]:
            edit.frames[sid] = (p["frames"], r["frames"])
        if r["source_start"]:
            edit.notes.append(
                f"shot {sid} was trimmed by {r['source_start']} frame(s) at its head: the story keeps "
                "its length only, and the clip is made again over that length from its first frame"
            )
    for key, row in (("fade_in", rows[0] if rows else None), ("fade_out", rows[-1] if rows else None)):
        fade = row[key] if row else None
        frames = fade["frames"] if fade and fade.get("by") == "episode_fade" else 0
        if row is not None and frames != plan.timeline()[f"{key}_frames"]:
            edit.refused.append(
                f"the episode's {key.replace('_', ' ')} is {frames} frames, the story's "
                f"{plan.timeline()[f'{key}_frames']}: set {key}_seconds in the story"
            )
    _lines(tl, plan, rows, edit)
    return edit


def _lines(tl, plan, rows, edit: Edit) -> None:
    rate = tl.metadata["tower"]["sample_rate"]
    fps = plan.fps
    by_shot = {r["shot"]: r for r in rows}
    cues = {c["line"]: c for c in plan.cues}
    found = set()
    for clip in dialogue_clips(tl):
        lid = clip["meta"].get("line")
        if lid not in cues:
            edit.refused.append(
                f"audio clip {clip['name']!r} ({clip['media']}) on the Dialogue track is not a line "
                "of the story: write lines in the story"
            )
            continue
        found.add(lid)
        cue, placed = cues[lid], clip["meta"]
        played = round(round(placed["end"] * 1000 - placed["start"] * 1000) * rate / 1000)
        if clip["source_start"] or abs(clip["length"] - played) > rate // 100 or clip["tempo"] != placed["tempo"]:
            edit.refused.append(
                f"line {lid} was trimmed or retimed ({placed['end'] - placed['start']:.3f} s -> "
                f"{clip['length'] / rate:.3f} s): the story cannot trim a voice; shorten its text"
            )
            continue
        row = by_shot.get(cue["shot"])
        if row is None:
            continue
        shot_start = row["start_frame"] / fps
        start = clip["start"] / rate
        offset_new = round(start - shot_start, 3)
        old_row = next(r for r in plan.shots if r["shot"] == cue["shot"])
        offset_old = round(placed["start"] - old_row["start_frame"] / fps, 3)
        if abs(offset_new - offset_old) < 0.0005:
            continue
        end = start + clip["length"] / rate
        if start < shot_start or end > (row["start_frame"] + row["frames"]) / fps:
            edit.refused.append(
                f"line {lid} was moved out of its shot {cue['shot']} (to {start:.3f}-{end:.3f} s; "
                f"the shot spans {shot_start:.3f}-{(row['start_frame'] + row['frames']) / fps:.3f} s): "
                "a line belongs to its shot"
            )
            continue
        position = int(lid.rsplit("_l", 1)[1]) - 1
        edit.at[lid] = (cue["shot"], position, None, offset_new)
    for lid in cues:
        if lid not in found:
            edit.refused.append(f"line {lid} was removed from the Dialogue track: delete it in the story")


# --- writing it into the story ---------------------------------------------------------------


def _apply_to(doc, edit: Edit) -> None:
    """The edit on an episode document (plain or ruamel), in place."""
    for scene in doc["scenes"]:
        if scene["id"] in edit.order:
            by_id = {s["id"]: s for s in scene["shots"]}
            new = [by_id[s] for s in edit.order[scene["id"]][1]]
            for i, shot in enumerate(new):
                scene["shots"][i] = shot
        for shot in scene["shots"]:
            if shot["id"] in edit.frames:
                if "duration" in shot:
                    del shot["duration"]
                shot["frames"] = edit.frames[shot["id"]][1]
            for _lid, (sid, position, _, new) in edit.at.items():
                if sid == shot["id"]:
                    shot["dialogue"][position]["at"] = new


def fill_old_at(edit: Edit, doc: dict[str, Any]) -> None:
    for scene in doc["scenes"]:
        for shot in scene["shots"]:
            for lid, (sid, position, _, new) in list(edit.at.items()):
                if sid == shot["id"]:
                    edit.at[lid] = (sid, position, shot["dialogue"][position].get("at"), new)


def apply_yaml(edit: Edit, ep: str, path: Path | str, check: Callable[[Any], object]) -> None:
    """Write the edit into the episode's YAML file, comments and layout kept. `check(doc)` plans
    the edited (plain) document first and raises InvalidInput when it would not load: then
    nothing is written."""
    # the review room's round trip: comments, key order, flow style, quotes and the file's own
    # indentation (its nested sequences as deep as they were) stay as written
    import yaml as pyyaml

    from ..yamledit import dump, round_trip

    path = Path(path)
    yaml, doc = round_trip(path.read_text(encoding="utf-8"))
    _apply_to(doc, edit)
    text = dump(yaml, doc)
    try:
        check(pyyaml.safe_load(text))
    except InvalidInput as e:
        raise EditRefused(f"the edited story of {ep} would not load, nothing was written:\n{e}") from None
    write_text_atomic(path, text)


def apply_plain(edit: Edit, doc: dict[str, Any]) -> dict:
    """The edited copy of a plain episode document."""
    doc = copy.deepcopy(doc)
    _apply_to(doc, edit)
    return doc


def kept_lengths(edit: Edit, plan: Any, where: str) -> None:
    """Raise InvalidInput when the edited story does not plan to the editor's lengths: a shot
    cut shorter than its lines need is grown back by voice.fit_lines, so the story written
    would not be the cut the editor made (and every shot after it would move)."""
    planned = {row["shot"]: row["frames"] for row in plan.shots}
    found = [
        ValidationProblem(
            where,
            f"shot {shot}",
            f"the editor's cut holds {new} frames but the story plans it at {planned[shot]} "
            "(voice.fit_lines grows a shot to hold its lines): lengthen it in the editor or shorten its lines",
        )
        for shot, (_, new) in edit.frames.items()
        if shot in planned and planned[shot] != new
    ]
    if found:
        raise InvalidInput(found)


def apply_database(edit: Edit, ep: str, config: dict) -> str:
    """Write the edit into an episode kept in the story database, in one transaction: the
    edited story is read, checked and planned first, and a problem rolls everything back.
    Returns the database's name for messages."""
    from ..store import connect, resolve_url
    from ..store.story_rows import write_story
    from ..story.database import read_documents
    from ..story.load import Story, story_from_documents
    from ..story.plan import plan_story

    with connect(resolve_url(config, "story")) as db, db.transaction():
        characters_doc, episodes = read_documents(db)
        if ep not in episodes:
            raise EditRefused(f"{db.display} has no episode {ep!r}; nothing was written")
        edited = apply_plain(edit, episodes[ep])
        docs = {
            e: (copy.deepcopy(edited if e == ep else d), f"{db.display} (episode {e})") for e, d in episodes.items()
        }
        try:
            story = story_from_documents(copy.deepcopy(characters_doc), docs, f"{db.display} (characters)")
            kept_lengths(edit, plan_story(story, config)[ep], f"{db.display} (episode {ep})")
        except InvalidInput as e:
            raise EditRefused(f"the edited story of {ep} would not load, nothing was written:\n{e}") from None
        write_story(db, Story(characters=story.characters, episodes={ep: story.episodes[ep]}, files={}))
        return db.display
