"""Facts as prompt context: each character's facts and the shared style bible, resolved
into the per-shot specs so that a changed fact re-plans exactly the shots it concerns.

Pure functions over Fact triples: the same facts give the same lists, in the same order,
whether they came from config/facts/*.yaml or from the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .files import Fact


def fold(text: object) -> str:
    """How subjects are matched: regardless of case and spacing."""
    return " ".join(str(text).split()).casefold()


def character_subjects(char_id: str, character: dict[str, Any]) -> set[str]:
    """The subjects that name a character: its id and its display name."""
    return {fold(char_id), fold(character.get("name", char_id))}


def _pairs(facts):
    """[{predicate, object}] without repeats, sorted: independent of where the facts came from."""
    return [{"predicate": p, "object": o} for p, o in sorted({(f.predicate, f.object) for f in facts})]


def character_facts(
    facts: Sequence[Fact], character_ids: Iterable[str], characters: dict[str, dict[str, Any]]
) -> dict[str, list[dict[str, str]]]:
    """{character id: [{predicate, object}, ...]} for the given ids."""
    return {
        cid: _pairs(f for f in facts if fold(f.subject) in character_subjects(cid, characters[cid]))
        for cid in character_ids
    }


def style_bible(
    facts: Iterable[Fact], subject: str = "Style Bible", predicates: Iterable[str] | None = None
) -> list[dict[str, str]]:
    """The style bible's facts ({predicate, object}), only `predicates` when given."""
    key = fold(subject)
    wanted = None if predicates is None else set(predicates)
    return _pairs(f for f in facts if fold(f.subject) == key and (wanted is None or f.predicate in wanted))


def prompt_context(
    facts: Sequence[Fact],
    character_ids: Iterable[str],
    characters: dict[str, dict[str, Any]],
    style_subject: str = "Style Bible",
    style_predicates: Iterable[str] | None = None,
) -> dict[str, Any]:
    """What a prompt template needs: {"characters": {id: [...]}, "style": [...]}."""
    return {
        "characters": character_facts(facts, character_ids, characters),
        "style": style_bible(facts, style_subject, style_predicates),
    }


class PromptContext:
    """The facts of one story, resolved once per character and per stage for the planner."""

    def __init__(self, facts, characters, style_subject="Style Bible", stage_style=None):
        facts = list(facts)
        self._characters = character_facts(facts, list(characters), characters)
        self._style = {stage: style_bible(facts, style_subject, preds) for stage, preds in (stage_style or {}).items()}

    def character(self, char_id: str) -> list[dict[str, str]]:
        """This character's facts (a fresh list: specs must not share mutable parts)."""
        return [dict(p) for p in self._characters.get(char_id, [])]

    def style(self, stage: str) -> list[dict[str, str]]:
        """The style-bible facts that shape this stage's outputs ([] when none are configured)."""
        return [dict(p) for p in self._style.get(stage, [])]


def subjects_for(characters: dict[str, dict[str, Any]], style_subject: str) -> set[str]:
    """Every subject the planner reads facts about (to fetch only those from a database)."""
    names = {style_subject}
    for cid, c in characters.items():
        names |= {cid, c.get("name", cid)}
    return names
