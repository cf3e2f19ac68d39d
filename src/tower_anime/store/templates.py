"""Workflow templates (config/workflows/*): named text, checked and kept byte for byte."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2

from ..errors import InvalidInput, ValidationProblem

if TYPE_CHECKING:
    from .connection import Database

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")


def read_templates(folder: Path | str) -> dict[str, str]:
    """{file name: text} of every template file in `folder` ({} when there is no folder).

    Each must be UTF-8 text that Jinja2 can parse, so a broken template is named here,
    before anything is written, rather than when a render needs it."""
    folder = Path(folder)
    if not folder.is_dir():
        return {}
    found, templates = [], {}
    env = jinja2.Environment()
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if not SAFE_NAME.match(path.name):
            found.append(
                ValidationProblem(
                    path, "", "template file names are letters, digits, '_', '-' and '.'; rename the file"
                )
            )
            continue
        try:
            text = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            found.append(ValidationProblem(path, f"byte {e.start}", "not UTF-8 text; save the template as UTF-8"))
            continue
        try:
            env.parse(text)
        except jinja2.TemplateSyntaxError as e:
            found.append(ValidationProblem(path, f"line {e.lineno}", f"Jinja2 syntax error: {e.message}"))
            continue
        templates[path.name] = text
    if found:
        raise InvalidInput(found)
    return templates


def write_templates(db: Database, templates: dict[str, str]) -> None:
    db.execute_many(
        "INSERT INTO workflow_templates (name, body) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET body = excluded.body",
        sorted(templates.items()),
    )


def stored_templates(db: Database) -> dict[str, str]:
    return {r["name"]: r["body"] for r in db.rows("SELECT name, body FROM workflow_templates ORDER BY name")}
