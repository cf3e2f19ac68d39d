"""Checks on the story's words that a schema cannot state: text that is only white space,
line breaks in one-line fields, and dialogue that subtitle players would read as markup.

Control characters and NaN anywhere are refused by schema.value_problems; lengths are in
the schemas (maxLength)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ValidationProblem

# SRT players (VLC, mpv, browsers) draw <i>, <b>, <u>, <font ...> as formatting and hide the
# tags; ASS-aware ones (mpv, MPC-HC, FFmpeg's subtitle filter) read {...} as override blocks
# such as {\an8} (move the line to the top) and hide them; {{ }} is template syntax
_TAG = re.compile(r"</?\s*[A-Za-z][^<>]*>")
_BRACES = re.compile(r"[{}]")
# SubRip readers (FFmpeg's, libass) take \N and \n as a line break and \h as a hard space
_ESCAPE = re.compile(r"\\[Nnh]")

# free text fields of a scene and of a shot that are shown on one line (chapter names, the
# file's title, prompts built line by line)
_ONE_LINE = re.compile(r"[\t\n\r]")


def markup_problem(text: str) -> str | None:
    """Why a dialogue line would not be shown as written, or None."""
    m = _TAG.search(text)
    if m:
        return (
            f"holds {m.group()!r}, which subtitle players draw as formatting (or hide) instead of showing it; "
            "write the words without <...> tags"
        )
    m = _BRACES.search(text)
    if m:
        return (
            "holds a brace '{' or '}': players read {...} as a subtitle override (such as {\\an8}) and hide it; "
            "write the words without braces"
        )
    m = _ESCAPE.search(text)
    if m:
        return (
            f"holds '{m.group()}', which players show as a line break or a space, not as written; "
            "write it without the backslash (C:/Nexus, or a space)"
        )
    return None


def _blank(text):
    return isinstance(text, str) and text.strip() == ""


def _text_field(found, where, field, value, one_line):
    if not isinstance(value, str):
        return
    if _blank(value):
        found.append(ValidationProblem(where, field, "is only white space; expected words"))
    elif one_line and _ONE_LINE.search(value.strip()):
        found.append(ValidationProblem(where, field, "holds a line break or tab; expected one line of text"))


def episode_text_problems(doc: dict[str, Any], where: Path | str) -> list:
    """Every text problem of a schema-valid episode document, one ValidationProblem each."""
    found = []
    _text_field(found, where, "title", doc.get("title"), True)
    for si, scene in enumerate(doc.get("scenes") or []):
        w = f"scenes[{si}]"
        for key in ("title", "location", "mood"):
            _text_field(found, where, f"{w}.{key}", scene.get(key), True)
        for hi, shot in enumerate(scene.get("shots") or []):
            ws = f"{w}.shots[{hi}]"
            _text_field(found, where, f"{ws}.action", shot.get("action"), False)
            for li, line in enumerate(shot.get("dialogue") or []):
                wl = f"{ws}.dialogue[{li}]"
                text = line.get("text")
                if _blank(text):
                    found.append(
                        ValidationProblem(
                            where,
                            f"{wl}.text",
                            "is only white space: there is nothing to speak "
                            "or to subtitle; write the words or remove the line",
                        )
                    )
                    continue
                _text_field(found, where, f"{wl}.emotion", line.get("emotion"), True)
                problem = markup_problem(text) if isinstance(text, str) else None
                if problem:
                    found.append(ValidationProblem(where, f"{wl}.text", problem))
    return found


def character_text_problems(characters: dict[str, dict[str, Any]] | None, where: Path | str) -> list:
    """Text problems of a schema-valid character sheet's characters."""
    found = []
    for cid, c in (characters or {}).items():
        _text_field(found, where, f"characters.{cid}.name", c.get("name"), True)
        _text_field(found, where, f"characters.{cid}.description", c.get("description"), False)
    return found
