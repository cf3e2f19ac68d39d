"""The story in the database: import a story folder, export it back, read it for the workflow.

A folder has the layout of config/: characters.yaml, episodes/<id>.yaml and optionally
workflows/<template>. Import checks everything with the story loader first and writes in one
transaction, so a bad file changes nothing; importing the same folder again changes nothing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import DatabaseError, InvalidInput, TowerError, ValidationProblem
from ..fsutil import atomic_path, write_text_atomic
from ..store.migrate import migrate, require_schema
from ..store.story_rows import character_document, episode_documents, orphan_rows, read_rows, write_story
from ..store.templates import read_templates, stored_templates, write_templates
from .load import Story, load_story, story_from_documents

if TYPE_CHECKING:
    from ..store.connection import Database


def folder_parts(folder: Path | str) -> tuple[Path, Path, Path]:
    folder = Path(folder)
    return folder / "characters.yaml", folder / "episodes", folder / "workflows"


def import_folder(db: Database, folder: Path | str) -> dict[str, int]:
    """Check, then write the folder's story and templates in one transaction. Returns counts."""
    characters_path, episodes_dir, workflows_dir = folder_parts(folder)
    story = load_story(characters_path, episodes_dir)  # raises InvalidInput, nothing written
    templates = read_templates(workflows_dir)
    migrate(db)
    with db.transaction():
        write_story(db, story)
        write_templates(db, templates)
    shots = sum(len(s["shots"]) for ep in story.episodes.values() for s in ep["scenes"])
    return {
        "characters": len(story.characters),
        "episodes": len(story.episodes),
        "shots": shots,
        "templates": len(templates),
    }


def read_documents(db: Database) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The character-sheet document and {episode id: document}, as the YAML files would hold them."""
    require_schema(db)
    rows = read_rows(db)
    if not rows["characters"] and not rows["episodes"]:
        raise DatabaseError(f"database {db.display} holds no story yet; load one with `tower-anime db import config/`")
    orphans = orphan_rows(rows)
    if orphans:
        raise InvalidInput([ValidationProblem(db.display, table, message) for table, message in orphans])
    return character_document(rows["characters"]), episode_documents(rows)


def read_story(db: Database) -> Story:
    """The story from the database, checked exactly as load_story checks the files."""
    characters_doc, episodes = read_documents(db)
    if not episodes:
        raise DatabaseError(
            f"database {db.display} has characters but no episodes; load them with `tower-anime db import config/`"
        )
    docs = {ep: (doc, f"{db.display} (episode {ep})") for ep, doc in episodes.items()}
    return story_from_documents(characters_doc, docs, f"{db.display} (characters)")


def _dump(data):
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _check_export_folder(folder, characters_path, *dirs):
    """Refuse, before writing anything, a target that is a file, or holds a folder where a file
    goes (or the other way round)."""
    blocked = [(p, "a folder") for p in (folder, *dirs) if p.exists() and not p.is_dir()]
    blocked += [(characters_path, "a file")] if characters_path.is_dir() else []
    if blocked:
        path, want = blocked[0]
        raise TowerError(
            f"cannot export the story to {folder}: {path} exists and is not {want}; "
            "give a new or empty folder (export writes characters.yaml, episodes/ and workflows/ there)"
        )


def export_folder(db: Database, folder: Path | str) -> dict[str, int]:
    """Write characters.yaml, episodes/<id>.yaml and workflows/<name>; they re-import to the same rows."""
    characters_doc, episodes = read_documents(db)
    # the same checks as the workflow: never write out a story that would not load
    story_from_documents(
        copy.deepcopy(characters_doc),
        {ep: (copy.deepcopy(doc), f"{db.display} (episode {ep})") for ep, doc in episodes.items()},
        f"{db.display} (characters)",
    )
    characters_path, episodes_dir, workflows_dir = folder_parts(folder)
    _check_export_folder(Path(folder), characters_path, episodes_dir, workflows_dir)
    header = f"# Exported by `tower-anime db export` from {db.display}\n"
    write_text_atomic(characters_path, header + _dump(characters_doc))
    for ep, doc in episodes.items():
        write_text_atomic(episodes_dir / f"{ep}.yaml", header + _dump(doc))
    templates = stored_templates(db)
    for name, body in templates.items():
        with atomic_path(workflows_dir / name) as tmp:
            tmp.write_bytes(body.encode("utf-8"))
    return {"characters": len(characters_doc["characters"]), "episodes": len(episodes), "templates": len(templates)}
