"""Edits of the story from the review room. Each is proposed first (a diff of the file it
changes, checked by the same pass as `tower-anime validate`) and saved only on a second
request that names the version of the file the diff was made from.

| action     | writes                                                                 |
|------------|------------------------------------------------------------------------|
| new_take   | the shot's `seed` in its episode: the seed after the take on screen     |
| pin_take   | the shot's `seed`: the seed of a take listed in its takes record        |
| action     | the shot's `action`                                                     |
| line       | a dialogue line's `text` (`<shot>_l<N>`: the shot's N-th line)          |
| waive      | an entry of `qc.waive` in the config file given to the review room      |
| review     | the shot's mark (approved / needs-work) and note in review.notes_dir/<ep>.yaml |

Every field of a request is checked for its JSON type first (FIELDS: strings, a whole-number
seed); a wrong one is refused (EditError, a 400) naming the field and what it must be. A take is
pinned only by a seed its takes record (reports/<ep>/stills/<shot>.takes.json) lists.

YAML files are edited with ruamel.yaml's round trip, with the file's own indentation, so
comments, key order and quoting stay as they were. A story kept in the database is edited
inside one transaction. A file is written under a temporary name and renamed, and only when
it still holds the bytes the page was shown (its version, a sha256): a file changed by hand
or from another tab meanwhile is a Conflict, shown and never overwritten."""

import copy
import difflib
import hashlib
import json
import re
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..check import Checked, check_inputs
from ..config import load_config
from ..errors import InvalidInput, TowerError, ValidationProblem
from ..fsutil import atomic_path
from ..schema import load_schema
from ..schema import problems as schema_problems
from ..yamledit import dump, round_trip

ACTIONS = {
    "new_take": "episode",
    "pin_take": "episode",
    "action": "episode",
    "line": "episode",
    "waive": "config",
    "review": "notes",
}
STATUSES = ("approved", "needs-work")
# What each field of a request must be, per action (checked before anything else reads it):
# `str` a JSON string, `int` a JSON whole number (not true/false, not 1.5). A field left out
# or null is not a wrong type: a field the edit needs is then refused as missing.
FIELDS = {
    "new_take": {"episode": str, "shot": str},
    "pin_take": {"episode": str, "shot": str, "seed": int},
    "action": {"episode": str, "shot": str, "text": str},
    "line": {"episode": str, "shot": str, "line": str, "text": str},
    "waive": {"episode": str, "kind": str, "item": str, "check": str, "reason": str},
    "review": {"episode": str, "shot": str, "status": str, "note": str, "now": str},
}
COMMON_FIELDS = {"version": str}  # a save's: the version of the file the diff was made from
_LINE_ID = re.compile(r"^(?P<shot>.+)_l(?P<n>[1-9][0-9]*)\Z")


class EditError(TowerError):
    """A request the review room cannot turn into an edit (unknown shot, missing field)."""


class Conflict(TowerError):
    """The file changed since the page loaded it; nothing was saved. `diff` shows the change."""

    def __init__(self, target: str, seen: str | None, current: str):
        self.target = target
        self.diff = (
            unified_diff(seen, current, f"{target} (as the page loaded it)", f"{target} (on disk now)")
            if seen is not None
            else ""
        )
        super().__init__(
            f"{target} changed since the page loaded it (by hand, another tab or another program); "
            "nothing was saved. Reload the page to see it as it is now, then make the edit again."
        )


@dataclass
class Proposal:
    """One edit, ready to show or save."""

    action: str
    kind: str  # episode | config | notes
    target: str  # the file (or the database and episode) that changes
    before: str
    after: str
    version: str  # version_of(before): what a save must still find
    summary: str
    diff: str = field(init=False)

    def __post_init__(self):
        self.diff = unified_diff(self.before, self.after, f"{self.target} (now)", f"{self.target} (after the edit)")

    def as_json(self) -> dict:
        return {
            "action": self.action,
            "kind": self.kind,
            "target": self.target,
            "version": self.version,
            "new_version": version_of(self.after),
            "summary": self.summary,
            "diff": self.diff,
        }


def version_of(text: str) -> str:
    """The version of a file's text: the first 16 hex digits of its sha256 (a file rewritten
    with the same bytes is the same version)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def unified_diff(before: str, after: str, a: str, b: str) -> str:
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True), a, b, n=2))


def read_text(path: str | Path) -> str:
    """A file's text, or '' when it does not exist yet (a notes file before the first mark)."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        return ""


# --- YAML round trip ----------------------------------------------------------------------


def _same_style(old: Any, new: str) -> Any:
    """A new string in the quoting style of the one it replaces ("Go!" stays double-quoted)."""
    from ruamel.yaml.scalarstring import ScalarString

    return type(old)(new) if isinstance(old, ScalarString) else new


# --- the story's own edits (YAML documents or database documents alike) ---------------------


def find_shot(doc: dict, shot_id: str, target: str) -> dict:
    for scene in doc.get("scenes") or []:
        for shot in scene.get("shots") or []:
            if shot.get("id") == shot_id:
                return shot
    raise EditError(f"{target} has no shot {shot_id!r}; reload the page (the story may have changed)")


def promoted_seed(takes_path: str | Path) -> int | None:
    """The seed of the take on screen, from the still's takes record (None before a build)."""
    try:
        return int(json.loads(Path(takes_path).read_text())["seed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def next_seed(seed: int, shown: int | None) -> int:
    """The seed of a new take: one after the take on screen. When a retake promoted seed+1,
    asking the story for seed+1 would render the same picture again, so the larger counts."""
    return max(int(seed), shown if shown is not None else int(seed)) + 1


def _json_type(value: Any) -> str:
    """A value's JSON type, in words (as a request's author would write it)."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _wrong_type(action: str | None, name: str, expected: str, value: Any) -> EditError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    edit = f"the {action} edit's" if action else "an edit's"
    return EditError(f"{edit} {name!r} must be {expected}; got {shown} ({_json_type(value)})")


def check_types(req: dict) -> str:
    """Refuse a request whose action is unknown or any of whose fields has the wrong JSON type
    (EditError naming the field and what it must be); return the action."""
    action = req.get("action")
    if not isinstance(action, str):
        raise _wrong_type(None, "action", f"a string, one of {sorted(ACTIONS)}", action)
    if action not in ACTIONS:
        raise EditError(f"unknown edit {action!r}; expected one of {sorted(ACTIONS)}")
    for name, kind in {**FIELDS[action], **COMMON_FIELDS}.items():
        value = req.get(name)
        if value is None:
            continue
        if kind is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise _wrong_type(action, name, "a whole number", value)
        if kind is str and not isinstance(value, str):
            raise _wrong_type(action, name, "a string", value)
    return action


def take_seeds(takes_path: str | Path) -> list[int]:
    """The seeds of the takes a still's takes record lists, in its order ([] before a build)."""
    try:
        record = json.loads(Path(takes_path).read_text())
        seeds = [int(t["seed"]) for t in record.get("takes") or []]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return list(dict.fromkeys(seeds))


def _required(req: dict, name: str) -> Any:
    value = req.get(name)
    if value is None or (isinstance(value, str) and name != "text" and not value.strip()):
        raise EditError(f"the {req.get('action')} edit needs {name!r}")
    return value


def edit_episode(doc: dict, req: dict, target: str, takes_path: Path | None = None) -> str:
    """Apply one story edit to an episode document in place; return its one-line summary."""
    action, shot_id = req["action"], _required(req, "shot")
    shot = find_shot(doc, shot_id, target)
    if action == "new_take":
        seed = next_seed(shot["seed"], promoted_seed(takes_path) if takes_path else None)
        summary = f"{shot_id}: new take, seed {shot['seed']} -> {seed}"
        shot["seed"] = seed
    elif action == "pin_take":
        seed = _required(req, "seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise EditError(f"pin_take needs a whole-number seed; got {seed!r}")
        seeds = take_seeds(takes_path) if takes_path else []
        if not seeds:
            raise EditError(
                f"shot {shot_id!r} has no takes recorded yet ({takes_path}): build the shot first, "
                "then pin one of its takes"
            )
        if seed not in seeds:
            raise EditError(
                f"shot {shot_id!r} has no take of seed {seed}: its takes record ({takes_path}) holds "
                f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}; pin one of those"
            )
        summary = f"{shot_id}: pin the take of seed {seed} (was {shot['seed']})"
        shot["seed"] = seed
    elif action == "action":
        text = _required(req, "text")
        summary = f"{shot_id}: action -> {text!r}"
        shot["action"] = _same_style(shot.get("action"), text)
    elif action == "line":
        line_id, text = _required(req, "line"), _required(req, "text")
        m = _LINE_ID.match(str(line_id))
        lines = shot.get("dialogue") or []
        if not m or m["shot"] != shot_id or int(m["n"]) > len(lines):
            raise EditError(
                f"shot {shot_id!r} in {target} has no line {line_id!r}; its lines are "
                f"{[f'{shot_id}_l{i + 1}' for i in range(len(lines))]}"
            )
        line = lines[int(m["n"]) - 1]
        summary = f"{line_id}: text -> {text!r}"
        line["text"] = _same_style(line.get("text"), text)
    else:
        raise EditError(f"unknown story edit {action!r}")
    return summary


def add_waiver(doc: dict, req: dict) -> str:
    """Add (or reword) a qc.waive entry in a config document; return its summary."""
    entry = {k: _required(req, k) for k in ("kind", "item", "check", "reason")}
    qc = doc.get("qc")
    if qc is None:
        doc["qc"] = qc = _mapping({})
    waive = qc.get("waive")
    if waive is None:
        qc["waive"] = waive = _sequence([])
    for w in waive:
        if all(w.get(k) == entry[k] for k in ("kind", "item", "check")):
            w["reason"] = entry["reason"]
            return f"waiver of {entry['kind']} {entry['item']} {entry['check']}: reason reworded"
    waive.append(_mapping(entry))
    return f"waive {entry['kind']} {entry['item']} {entry['check']}: {entry['reason']!r}"


def set_mark(doc: dict, req: dict, now: str | None = None) -> str:
    """Mark a shot approved or needs-work, with a note, in a review-notes document."""
    shot, status = _required(req, "shot"), _required(req, "status")
    shots = doc.get("shots")
    if shots is None:
        doc["shots"] = shots = _mapping({})
    mark = _mapping({"status": status})
    note = (req.get("note") or "").strip()
    if note:
        mark["note"] = note
    mark["updated"] = now or datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    shots[shot] = mark
    return f"{shot}: {status}" + (f" ({note})" if note else "")


def _mapping(data: dict):
    from ruamel.yaml.comments import CommentedMap

    return CommentedMap(data)


def _sequence(data: list):
    from ruamel.yaml.comments import CommentedSeq

    return CommentedSeq(data)


def _doc_text(doc: dict) -> str:
    import yaml as pyyaml

    return pyyaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


# --- checking a candidate as `tower-anime validate` would ---------------------------------------


def _same_file(a: str | Path, b: str | Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_candidate(config_path: str | Path, replaced: dict) -> Checked:
    """check_inputs on the project as it would be with some files' text replaced ({path: text},
    the config file or episode files); problems name the real files."""
    names = {}
    with tempfile.TemporaryDirectory(prefix="tower-review-") as tmp:
        tmp = Path(tmp)
        cfg = Path(config_path)
        for path, text in replaced.items():
            if _same_file(path, config_path):
                cfg = tmp / "config.yaml"
                cfg.write_text(text, encoding="utf-8")
                names[str(cfg)] = str(config_path)
        try:
            config = load_config(cfg)
            episodes_dir = Path(config["story"]["episodes_dir"])
            ours = {p: t for p, t in replaced.items() if Path(p).resolve().parent == episodes_dir.resolve()}
            if ours and config["story"]["source"] == "yaml":
                copy_dir = tmp / "episodes"
                copy_dir.mkdir()
                for f in sorted(episodes_dir.glob("*.yaml")):
                    (copy_dir / f.name).write_bytes(f.read_bytes())
                    names[str(copy_dir / f.name)] = str(episodes_dir / f.name)
                for path, text in ours.items():
                    (copy_dir / Path(path).name).write_text(text, encoding="utf-8")
                    names[str(copy_dir / Path(path).name)] = str(episodes_dir / Path(path).name)
                config["story"]["episodes_dir"] = str(copy_dir)
            return check_inputs(config, str(config_path), [cfg])
        except InvalidInput as e:
            raise InvalidInput(
                [ValidationProblem(names.get(p.file, p.file), p.field, p.message) for p in e.problems]
            ) from None


def notes_problems(doc: Any, where: str, shots: list) -> list:
    """The notes file's schema, and shot ids the episode has."""
    found = schema_problems(doc, load_schema("review"), where)
    if not found:
        found += [
            ValidationProblem(where, f"shots.{s}", f"unknown shot {s!r}; expected one of {shots}")
            for s in (doc.get("shots") or {})
            if s not in shots
        ]
    return found


# --- propose and save -------------------------------------------------------------------------


class Editor:
    """Proposes and saves edits of one project's story, config and notes. One save at a time
    (a lock), so two tabs cannot interleave a read and a write of the same file."""

    def __init__(self, config_path: str | Path, notes_dir: str | Path):
        self.config_path = Path(config_path)
        self.notes_dir = Path(notes_dir)
        self.lock = threading.Lock()
        self._seen: dict[str, str] = {}  # version -> text, of what pages were shown (for conflicts)

    def remember(self, text: str) -> str:
        """Keep a text the page is shown; its version goes into the page's forms."""
        version = version_of(text)
        self._seen[version] = text
        while len(self._seen) > 256:
            self._seen.pop(next(iter(self._seen)))
        return version

    def notes_path(self, episode: str) -> Path:
        return self.notes_dir / f"{episode}.yaml"

    def read_notes(self, episode: str) -> dict:
        """{shot: {status, note, updated}} (empty when there is no notes file)."""
        from ..schema import read_yaml

        path = self.notes_path(episode)
        if not path.is_file():
            return {}
        doc = read_yaml(path) or {}
        return dict(doc.get("shots") or {}) if isinstance(doc, dict) else {}

    def episode_target(self, checked: Checked, episode: str) -> tuple[str, Path | None]:
        """(name shown, file) of an episode's story: its YAML file, or None for the database."""
        if episode not in checked.story.episodes:
            raise EditError(f"no episode {episode!r}; the story has {sorted(checked.story.episodes)}")
        if checked.config["story"]["source"] == "database":
            return checked.story.files[episode], None
        return checked.story.files[episode], Path(checked.story.files[episode])

    def _target(self, checked: Checked, req: dict) -> tuple[str, str, Path | None]:
        kind = ACTIONS[check_types(req)]
        if kind == "episode":
            name, path = self.episode_target(checked, _required(req, "episode"))
            return kind, name, path
        if kind == "config":
            return kind, str(self.config_path), self.config_path
        episode = _required(req, "episode")
        if episode not in checked.plans:
            raise EditError(f"no episode {episode!r}; the story has {sorted(checked.plans)}")
        return kind, str(self.notes_path(episode)), self.notes_path(episode)

    def _apply(self, checked: Checked, kind: str, name: str, path: Path, before: str, req: dict) -> Proposal:
        """The proposal of `req` on the text `before` of the file `path`, checked."""
        from ..schema import read_yaml

        if before:
            read_yaml(path)  # a file broken by hand: the loader's own message (file, line)
        yaml, doc = round_trip(before)
        if doc is None:
            doc = _mapping({})
        if kind == "episode":
            ep = req["episode"]
            summary = edit_episode(doc, req, name, Path("reports") / ep / "stills" / f"{req.get('shot')}.takes.json")
            after = dump(yaml, doc)
            check_candidate(self.config_path, {path: after})
        elif kind == "config":
            summary = add_waiver(doc, req)
            after = dump(yaml, doc)
            check_candidate(self.config_path, {path: after})
        else:
            if req.get("status") not in STATUSES:
                raise EditError(f"a mark is one of {list(STATUSES)}; got {req.get('status')!r}")
            if not before:
                before_doc = (
                    f"# Review notes of episode {req['episode']} (tower-anime review): a mark per shot.\n"
                    "# Outside the story: a mark or a note re-plans nothing.\nshots: {}\n"
                )
                yaml, doc = round_trip(before_doc)
                doc["shots"] = _mapping({})
                after_prefix = "".join(line + "\n" for line in before_doc.splitlines()[:2])
            else:
                after_prefix = ""
            summary = set_mark(doc, req, req.get("now"))
            after = dump(yaml, doc)
            if after_prefix and not after.startswith("#"):
                after = after_prefix + after
            found = notes_problems(json.loads(json.dumps(doc)), name, checked.plans[req["episode"]].shot_ids())
            if found:
                raise InvalidInput(found)
        return Proposal(req["action"], kind, name, before, after, version_of(before), summary)

    def propose(self, checked: Checked, req: dict) -> Proposal:
        """The diff of an edit on the files as they are now; raises InvalidInput as validate does."""
        kind, name, path = self._target(checked, req)
        if path is None:
            return self._database(checked, req, name, version=None)
        before = read_text(path)
        proposal = self._apply(checked, kind, name, path, before, req)
        self.remember(before)
        return proposal

    def save(self, checked: Checked, req: dict, version: str) -> Proposal:
        """Save an edit made on the file's `version`; raise Conflict when the file is no longer it."""
        kind, name, path = self._target(checked, req)
        with self.lock:
            if path is None:
                return self._database(checked, req, name, version=version)
            before = read_text(path)
            if version_of(before) != version:
                raise Conflict(name, self._seen.get(version), before)
            proposal = self._apply(checked, kind, name, path, before, req)
            with atomic_path(path) as tmp:
                tmp.write_text(proposal.after, encoding="utf-8")
                # the last look before the rename: an editor that saved while we checked wins
                if version_of(read_text(path)) != version:
                    raise Conflict(name, before, read_text(path))
            self.remember(proposal.after)
            return proposal

    # -- a story kept in the database: the same edits on its documents, in one transaction --

    def database_text(self, checked: Checked, ep: str) -> str:
        """An episode kept in the database, as YAML text: what its diffs and versions are made of."""
        from ..store import connect, resolve_url
        from ..story.database import read_documents

        with connect(resolve_url(checked.config, "story")) as db:
            _, episodes = read_documents(db)
        return _doc_text(episodes.get(ep, {}))

    def _database(self, checked: Checked, req: dict, name: str, version: str | None) -> Proposal:
        from ..store import connect, resolve_url
        from ..store.story_rows import write_story
        from ..story.database import read_documents
        from ..story.load import Story, story_from_documents
        from ..story.source import load_prompt_context

        config = checked.config
        ep = req["episode"]
        text = _doc_text

        with connect(resolve_url(config, "story")) as db, db.transaction():
            characters_doc, episodes = read_documents(db)
            if ep not in episodes:
                raise EditError(f"{db.display} has no episode {ep!r}")
            before = text(episodes[ep])
            if version is not None and version_of(before) != version:
                raise Conflict(name, self._seen.get(version), before)
            doc = copy.deepcopy(episodes[ep])
            summary = edit_episode(doc, req, name, Path("reports") / ep / "stills" / f"{req.get('shot')}.takes.json")
            after = text(doc)
            docs = {
                e: (copy.deepcopy(d if e != ep else doc), f"{db.display} (episode {e})") for e, d in episodes.items()
            }
            story = story_from_documents(copy.deepcopy(characters_doc), docs, f"{db.display} (characters)")
            check_inputs(copy.deepcopy(config), name, inputs=(story, load_prompt_context(config, story.characters)))
            if version is not None:
                write_story(db, Story(characters=story.characters, episodes={ep: story.episodes[ep]}, files={}))
        self.remember(before)
        if version is not None:
            self.remember(after)
        return Proposal(req["action"], "episode", name, before, after, version_of(before), summary)
