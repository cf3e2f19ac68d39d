"""JSON-schema validation with messages that name the file, the field and what is expected."""

from __future__ import annotations

import copy
import functools
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import yaml

from .errors import InvalidInput, ValidationProblem

# libyaml's loader parses ~10x faster: a season of episode files is read at every Snakemake start
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Package data: whichever folder a workflow runs in, it validates against the schemas of the
# package it imports, never against files found by walking out of an installed package
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"

_T = TypeVar("_T")


def schema_dir() -> Path:
    """The folder of the config, character and episode schemas (package data)."""
    return SCHEMA_DIR


@functools.cache
def _cached_schema(name):
    with open(schema_dir() / f"{name}.schema.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=_LOADER)


def load_schema(name: str) -> dict[str, Any]:
    """A fresh copy each call: validation fills defaults into the instance, never the schema."""
    return copy.deepcopy(_cached_schema(name))


def field_path(path: Iterable[str | int]) -> str:
    """['scenes', 0, 'shots', 2, 'duration'] -> 'scenes[0].shots[2].duration'."""
    out = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():
            part = repr(part)  # a key holding a newline or a control character, shown escaped
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _expected(error):
    desc = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator in ("required", "additionalProperties", "minItems", "minProperties"):
        return error.message
    if error.validator == "oneOf":
        return f"{error.instance!r} is not valid here; expected {desc or 'one of the allowed forms'}"
    got = repr(error.instance)
    if len(got) > 60:
        got = got[:57] + "..."
    return f"got {got}; expected {desc}" if desc else error.message


def _with_defaults(validator_class):
    """A validator that also fills `default:` values in, as snakemake.utils.validate does."""
    validate_props = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for prop, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and prop not in instance:
                    instance[prop] = copy.deepcopy(sub["default"])
        yield from validate_props(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


@functools.cache
def _defaults_class(cls):
    return _with_defaults(cls)


def problems(
    instance: Any, schema: dict[str, Any], file: Path | str, fill_defaults: bool = True
) -> list[ValidationProblem]:
    """Every schema problem of `instance` as ValidationProblem, in document order."""
    cls = jsonschema.validators.validator_for(schema)
    if fill_defaults:
        cls = _defaults_class(cls)
    validator = cls(schema)
    found = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties":
            # name the unknown key itself rather than its parent
            extra = [k for k in error.instance if k not in error.schema.get("properties", {})]
            for key in extra:
                found.append(
                    ValidationProblem(file, field_path(path + [key]), "unknown field; remove it or check its spelling")
                )
            continue
        if "propertyNames" in error.schema_path and error.validator != "propertyNames":
            # jsonschema reports a bad key at its parent, as the key's own failed keyword
            desc = error.schema.get("description") if isinstance(error.schema, dict) else None
            found.append(
                ValidationProblem(
                    file, field_path(path + [error.instance]), f"bad key; expected {desc or error.message}"
                )
            )
            continue
        if error.validator == "propertyNames":
            found.append(
                ValidationProblem(
                    file,
                    field_path(path + [error.instance]) if not isinstance(error.instance, dict) else field_path(path),
                    f"bad key; expected {error.schema.get('description', 'a valid id')}",
                )
            )
            continue
        found.append(ValidationProblem(file, field_path(path), _expected(error)))
    return found + value_problems(instance, file)


# C0 controls but tab, newline and carriage return; DEL; C1 controls; the Unicode line and
# paragraph separators; lone surrogates (they cannot even be written as UTF-8)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """The first character no text field may hold (a NUL, an escape, ...), or None."""
    m = _CONTROL.search(text)
    return m.group() if m else None


def value_problems(instance: Any, file: Path | str, path: tuple[str | int, ...] = ()) -> list[ValidationProblem]:
    """What no schema keyword catches, anywhere in a document: NaN and infinite numbers
    (every comparison with NaN is false, so `minimum` lets it through) and control
    characters in text or keys (YAML writes them as escapes such as "\\0")."""
    found = []
    if isinstance(instance, float) and not math.isfinite(instance):
        found.append(ValidationProblem(file, field_path(list(path)), f"got {instance!r}; expected a finite number"))
    elif isinstance(instance, str):
        bad = control_character(instance)
        if bad is not None:
            found.append(
                ValidationProblem(
                    file,
                    field_path(list(path)),
                    f"holds the control character U+{ord(bad):04X} "
                    "(a NUL, escape or similar cannot be spoken, drawn or muxed); remove it",
                )
            )
    elif isinstance(instance, dict):
        for key, value in instance.items():
            key_text = str(key)
            if isinstance(key, str) and control_character(key) is not None:
                key_text = repr(key)[1:-1]
                found.append(
                    ValidationProblem(
                        file, field_path(list(path) + [key_text]), "the key holds a control character; remove it"
                    )
                )
            found += value_problems(value, file, (*path, key_text))
    elif isinstance(instance, list):
        for i, value in enumerate(instance):
            found += value_problems(value, file, (*path, i))
    return found


# No Tower file nests more than a handful of levels; the checks walk a value by recursion
MAX_DEPTH = 100


class _UnusableNodes(yaml.YAMLError):
    """A value no field can use, which every walk over it (the checks, a deep copy,
    Snakemake's config merge) would follow without end or past Python's recursion limit:
    one that holds itself through an alias (`title: &t [*t]`), or one nested too deep."""

    def __init__(self, node: yaml.Node, recursive: bool):
        super().__init__("a recursive alias" if recursive else "nested too deep")
        self.mark = node.start_mark
        self.recursive = recursive


def _check_nodes(root: yaml.Node) -> None:
    """Raise _UnusableNodes at the first collection that holds itself (through an alias) or
    lies more than MAX_DEPTH levels deep. Iterative and linear in the nodes: a node reached
    again through another alias is walked once."""
    if not isinstance(root, (yaml.SequenceNode, yaml.MappingNode)):
        return

    def children(node):
        if isinstance(node, yaml.MappingNode):
            return (n for pair in node.value for n in pair)
        return iter(node.value)

    open_, done = {id(root)}, set()
    stack = [(root, children(root))]
    while stack:
        node, rest = stack[-1]
        for child in rest:
            if id(child) in open_:  # an alias back to a node still being walked: the anchored one
                raise _UnusableNodes(child, recursive=True)
            if id(child) not in done and isinstance(child, (yaml.SequenceNode, yaml.MappingNode)):
                if len(stack) >= MAX_DEPTH:
                    raise _UnusableNodes(child, recursive=False)
                open_.add(id(child))
                stack.append((child, children(child)))
                break
        else:
            stack.pop()
            open_.discard(id(node))
            done.add(id(node))


class _UniqueKeyLoader(_LOADER):
    """The fast loader, refusing a key given twice in one mapping (YAML keeps the last value
    silently: a shot's second `duration` would win), a value that holds itself through an
    alias (`&t [*t]`: the checks would recurse without end) and one nested more than
    MAX_DEPTH levels deep (past Python's recursion limit). Merge keys (`<<`) may be overridden."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_nodes(node)
        return self.construct_document(node)

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                try:
                    first = seen.get(key)
                    seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key: the constructor reports it
                    continue
                if first is not None:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key {key!r} (first at line {first}); YAML keeps only the last value, "
                        "so remove or rename one of them",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep)


def _one_line(text):
    return " ".join(str(text).split())


_ANCHOR = re.compile(r"&([^\s,\[\]{}]+)")


def _unusable_problem(text: str, e: _UnusableNodes, path: Path | str) -> ValidationProblem:
    """A value that holds itself, named by its anchor and line (`&t [*t]` at line 1), or a
    value nested too deep, named by the line where it passes MAX_DEPTH."""
    where = f"line {e.mark.line + 1}, column {e.mark.column + 1}"
    if not e.recursive:
        return ValidationProblem(
            path,
            where,
            f"nested more than {MAX_DEPTH} levels deep, which no field is; check the brackets and the indentation",
        )
    found = _ANCHOR.match(text, e.mark.index) if 0 <= e.mark.index < len(text) else None
    alias = f"&{found[1]} ... *{found[1]}" if found else "&anchor ... *anchor"
    return ValidationProblem(
        path,
        where,
        f"a recursive alias ({alias}): the value holds itself, which no field can use; "
        "write the value out instead of the alias",
    )


def parse_yaml(text: str, path: Path | str) -> Any:
    """Parse YAML text read from `path`; InvalidInput names the file and the line on a syntax
    error, a duplicate key, a character YAML refuses (a control character), a recursive alias
    or a value nested too deep."""
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except _UnusableNodes as e:
        raise InvalidInput([_unusable_problem(text, e, path)]) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}"
        elif getattr(e, "position", None) is not None:  # the reader: a refused character
            where = f"character {e.position + 1}"
        else:
            where = ""
        problem = getattr(e, "problem", None)
        if problem is None and isinstance(e, yaml.reader.ReaderError):
            problem = f"unacceptable character #x{e.character:04x}: control characters are not allowed"
        raise InvalidInput([ValidationProblem(path, where, f"not valid YAML: {_one_line(problem or e)}")]) from None
    return {} if data is None else data


def read_yaml(path: Path | str) -> Any:
    """Read a UTF-8 YAML file, turning a missing file, bytes that are not UTF-8, a syntax error
    or a duplicate key into an InvalidInput naming the file and the place."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput([ValidationProblem(path, "", "file not found; check the path in config/config.yaml")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InvalidInput(
            [
                ValidationProblem(
                    path,
                    f"byte {e.start} (line {line})",
                    f"not UTF-8 text (byte 0x{raw[e.start]:02x}); save the file as UTF-8",
                )
            ]
        ) from None
    return parse_yaml(text, path)


def validate(instance: _T, name: str, file: Path | str) -> _T:
    """Validate against schemas/<name>.schema.yaml (filling defaults); raise on problems."""
    found = problems(instance, load_schema(name), file)
    if found:
        raise InvalidInput(found)
    return instance
