"""Read the story (character sheet + episode files) and check it, collecting every problem."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, ValidationProblem
from ..schema import load_schema, read_yaml
from ..schema import problems as schema_problems
from .text import character_text_problems, episode_text_problems

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")  # ids become file names

# Ids are wildcard values too (stills/{ep}/{shot}.png), and Snakemake stops a job whose
# wildcard value ends in one piece repeated 20 times or more, taking it for rules that call
# themselves without end ("PeriodicWildcardError": snakemake.io.PeriodicityDetector, the
# suffix pattern ((.+)\1{19,99})$, min_repeat=20). A run of 20 repeats at the end of a value
# always has a suffix of exactly 20, so this is the same test.
MIN_PERIODIC_REPEATS = 20
_PERIODIC = re.compile(rf"(.+?)\1{{{MIN_PERIODIC_REPEATS - 1},}}\Z")


def periodic_run(value: str) -> tuple[str, int] | None:
    """(the piece, how many times it repeats) when `value` ends in one piece repeated
    MIN_PERIODIC_REPEATS times or more, which Snakemake refuses as a wildcard value; else None."""
    # (an id longer than any valid one is the schema's to refuse: the search is quadratic)
    m = _PERIODIC.search(value) if isinstance(value, str) and len(value) <= 2 * 64 else None
    return None if m is None else (m[1], len(m[0]) // len(m[1]))


def periodic_problem(value: str, where: Path | str, field: str, subject: str = "") -> ValidationProblem | None:
    """A ValidationProblem for an id Snakemake would refuse as a wildcard value (periodic_run);
    `subject` says what has that id when it is not the field itself (an id made from it)."""
    run = periodic_run(value)
    if run is None:
        return None
    piece, count = run
    said = f"{subject} gets the id {value!r}" if subject else f"got {value!r}"
    return ValidationProblem(
        where,
        field,
        f"{said}, which ends in {piece!r} repeated {count} times: Snakemake stops such a name as a loop of "
        f"rules without end (PeriodicWildcardError); write the id without a run of {MIN_PERIODIC_REPEATS} or "
        "more repeats of one piece at its end",
    )


@dataclass
class Story:
    characters: dict  # id -> character dict (defaults filled)
    episodes: dict  # id -> episode dict (defaults filled), in file-name order
    files: dict  # episode id -> source file path


def _collect(fn, found):
    try:
        return fn()
    except InvalidInput as e:
        found.extend(e.problems)
        return None


def load_characters(path: Path | str, found: list[ValidationProblem]) -> dict[str, Any] | None:
    data = _collect(lambda: read_yaml(path), found)
    if data is None:
        return None
    return check_characters(data, path, found)


def check_characters(data: Any, where: Path | str, found: list[ValidationProblem]) -> dict[str, Any] | None:
    """A character-sheet document (as parsed from YAML) -> characters with defaults, or None."""
    before = len(found)
    found.extend(schema_problems(data, load_schema("characters"), where))
    if len(found) > before or not isinstance(data, dict):
        return None
    text_found = character_text_problems(data["characters"], where)
    found.extend(text_found)
    return None if text_found else data["characters"]


def _check_episode(ep_id, doc, characters, path):
    """Checks a schema cannot express: unique ids, known characters, a first scene that joins nothing.

    (Whether transitions fit their shots is checked on the plan, which knows the frames.)"""
    found = []
    if doc.get("id", ep_id) != ep_id:
        found.append(
            ValidationProblem(
                path, "id", f"{doc['id']!r} differs from the file name; expected {ep_id!r} (or leave id out)"
            )
        )
    periodic = [periodic_problem(ep_id, path, "id" if "id" in doc else "", "" if "id" in doc else "the episode")]
    seen_scenes, seen_shots = {}, {}
    for si, scene in enumerate(doc["scenes"]):
        where = f"scenes[{si}]"
        periodic.append(periodic_problem(scene["id"], path, f"{where}.id"))
        if scene["id"] in seen_scenes:
            found.append(
                ValidationProblem(
                    path,
                    f"{where}.id",
                    f"duplicate scene id {scene['id']!r} (first at {seen_scenes[scene['id']]}); expected a unique id",
                )
            )
        seen_scenes.setdefault(scene["id"], where)
        if si == 0 and scene.get("transition", "cut") != "cut":
            found.append(
                ValidationProblem(
                    path,
                    f"{where}.transition",
                    f"got {scene['transition']!r}, but the first scene has nothing before it to join; expected cut (fade_in_seconds fades the episode in from black)",
                )
            )
        for hi, shot in enumerate(scene["shots"]):
            w = f"{where}.shots[{hi}]"
            if shot["id"] in seen_shots:
                found.append(
                    ValidationProblem(
                        path,
                        f"{w}.id",
                        f"duplicate shot id {shot['id']!r} (first at {seen_shots[shot['id']]}); expected an id unique in the episode",
                    )
                )
            seen_shots.setdefault(shot["id"], w)
            periodic.append(periodic_problem(shot["id"], path, f"{w}.id"))
            if periodic[-1] is None and isinstance(shot["id"], str):
                # a line's id is its shot's and `_l<n>`: a shot id ending in 19 `_l1` makes a 20th
                periodic += [
                    periodic_problem(f"{shot['id']}_l{li + 1}", path, f"{w}.id", f"its dialogue[{li}]")
                    for li in range(len(shot.get("dialogue", [])))
                ]
            has_d, has_f = "duration" in shot, "frames" in shot
            if has_d == has_f:
                found.append(ValidationProblem(path, w, "give exactly one of duration (seconds) or frames"))
            for ci, cid in enumerate(shot.get("characters", [])):
                if characters is not None and cid not in characters:
                    found.append(
                        ValidationProblem(
                            path,
                            f"{w}.characters[{ci}]",
                            f"unknown character {cid!r}; expected one of {sorted(characters)} (defined in the character sheet)",
                        )
                    )
            for li, line in enumerate(shot.get("dialogue", [])):
                if characters is not None and line["speaker"] not in characters:
                    found.append(
                        ValidationProblem(
                            path,
                            f"{w}.dialogue[{li}].speaker",
                            f"unknown character {line['speaker']!r}; expected one of {sorted(characters)}",
                        )
                    )
    return found + [p for p in periodic if p is not None]


def load_story(
    characters_path: Path | str, episodes_dir: Path | str, episode_ids: Iterable[str] | None = None
) -> Story:
    """Load and check the whole story; raise InvalidInput listing every problem found."""
    found = []
    characters = load_characters(characters_path, found)
    episodes_dir = Path(episodes_dir)
    if episode_ids:
        files = {e: episodes_dir / f"{e}.yaml" for e in episode_ids}
    else:
        files = {p.stem: p for p in sorted(episodes_dir.glob("*.yaml"))}
        if not files:
            found.append(ValidationProblem(episodes_dir, "", "no episode files (*.yaml) found; expected at least one"))
    episodes = {}
    ep_schema = load_schema("episode")
    for ep_id, path in files.items():
        if not SAFE_ID.match(ep_id):
            found.append(
                ValidationProblem(
                    path,
                    "",
                    f"episode id {ep_id!r} (the file name) is not a safe id; expected letters, digits, '_' or '-'",
                )
            )
            continue
        doc = _collect(lambda path=path: read_yaml(path), found)
        if doc is None:
            continue
        check_episode(ep_id, doc, characters, path, found, episodes, ep_schema)
    if found:
        raise InvalidInput(found)
    return Story(characters=characters, episodes=episodes, files={k: str(v) for k, v in files.items()})


def check_episode(
    ep_id: str,
    doc: dict[str, Any],
    characters: dict[str, Any] | None,
    where: Path | str,
    found: list[ValidationProblem],
    episodes: dict[str, dict[str, Any]],
    ep_schema: dict[str, Any] | None = None,
) -> None:
    """Check one episode document (filling defaults); add it to `episodes` when it is sound."""
    schema_found = schema_problems(doc, ep_schema or load_schema("episode"), where)
    found.extend(schema_found)
    if not schema_found:
        found.extend(episode_text_problems(doc, where))
    try:
        found.extend(_check_episode(ep_id, doc, characters, where))
    except (KeyError, TypeError, AttributeError):
        # the structure itself is broken: the schema problems above already say how
        if not schema_found:
            raise
    if not schema_found:
        doc["id"] = ep_id
        episodes[ep_id] = doc


def story_from_documents(
    characters_doc: Any, episode_docs: Mapping[str, tuple[dict[str, Any], Path | str]], characters_where: Path | str
) -> Story:
    """The checks of load_story on documents read from elsewhere (the database).

    episode_docs: {episode id: (document, where)}, where names the source in messages."""
    found = []
    characters = check_characters(characters_doc, characters_where, found)
    episodes = {}
    ep_schema = load_schema("episode")
    for ep_id, (doc, where) in episode_docs.items():
        check_episode(ep_id, doc, characters, where, found, episodes, ep_schema)
    if found:
        raise InvalidInput(found)
    return Story(characters=characters, episodes=episodes, files={k: str(w) for k, (_, w) in episode_docs.items()})
