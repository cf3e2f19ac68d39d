"""YAML files edited in place as a person wrote them: comments, key order, flow style,
quotes and the file's own indentation kept (ruamel.yaml's round trip). The review room's edits
and an editor's timeline applied back to the story both write through it."""

from __future__ import annotations

import io
from typing import Any


def round_trip(text: str) -> tuple[Any, Any]:
    """(ruamel YAML object set to the text's own indentation, document)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.util import load_yaml_guess_indent

    _, indent, block_seq_indent = load_yaml_guess_indent(text or "{}\n")
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long action or line onto a second line
    if block_seq_indent is not None:
        yaml.indent(mapping=2, sequence=indent, offset=block_seq_indent)
    else:
        yaml.indent(mapping=2, sequence=2, offset=0)
    return yaml, yaml.load(text)


def dump(yaml: Any, doc: Any) -> str:
    """The document as text, written by the YAML object round_trip gave."""
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()
