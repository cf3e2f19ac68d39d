"""Facts as prompt context: each character's facts and the shared style bible, resolved
into the per-shot specs so that a changed fact re-plans exactly the shots it concerns.

Pure functions over Fact triples: the same facts give the same lists, in the same order,
whether they came from config/facts/*.yaml or from the database.
"""


def fold(text):
    """How subjects are matched: regardless of case and spacing."""
    return " ".join(str(text).split()).casefold()


def character_subjects(char_id, character):
    """The subjects that name a character: its id and its display name."""
    return {fold(char_id), fold(character.get("name", char_id))}


def _pairs(facts):
    """[{predicate, object}] without repeats, sorted: independent of where the facts came from."""
    return [{"predicate": p, "object": o} for p, o in sorted({(f.predicate, f.object) for f in facts})]


def character_facts(facts, character_ids, characters):
    """{character id: [{predicate, object}, ...]} for the given ids."""
    return {cid: _pairs(f for f in facts if fold(f.subject) in character_subjects(cid, characters[cid]))
            for cid in character_ids}


def style_bible(facts, subject="Style Bible", predicates=None):
    """The style bible's facts ({predicate, object}), only `predicates` when given."""
    key = fold(subject)
    wanted = None if predicates is None else set(predicates)
    return _pairs(f for f in facts if fold(f.subject) == key and (wanted is None or f.predicate in wanted))


def prompt_context(facts, character_ids, characters, style_subject="Style Bible", style_predicates=None):
    """What a prompt template needs: {"characters": {id: [...]}, "style": [...]}."""
    return {"characters": character_facts(facts, character_ids, characters),
            "style": style_bible(facts, style_subject, style_predicates)}


class PromptContext:
    """The facts of one story, resolved once per character and per stage for the planner."""

    def __init__(self, facts, characters, style_subject="Style Bible", stage_style=None):
        facts = list(facts)
        self._characters = character_facts(facts, list(characters), characters)
        self._style = {stage: style_bible(facts, style_subject, preds) for stage, preds in (stage_style or {}).items()}

    def character(self, char_id):
        """This character's facts (a fresh list: specs must not share mutable parts)."""
        return [dict(p) for p in self._characters.get(char_id, [])]

    def style(self, stage):
        """The style-bible facts that shape this stage's outputs ([] when none are configured)."""
        return [dict(p) for p in self._style.get(stage, [])]


def subjects_for(characters, style_subject):
    """Every subject the planner reads facts about (to fetch only those from a database)."""
    names = {style_subject}
    for cid, c in characters.items():
        names |= {cid, c.get("name", cid)}
    return names
