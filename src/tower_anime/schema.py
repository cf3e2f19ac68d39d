"""JSON-schema validation with messages that name the file, the field and what is expected."""
import copy
import functools
from pathlib import Path

import jsonschema
import yaml

from .errors import InvalidInput, ValidationProblem

# libyaml's loader parses ~10x faster: a season of episode files is read at every Snakemake start
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "config" / "schemas"


def schema_dir():
    """The schemas ship in config/schemas of the checkout (the workflow's own config)."""
    return SCHEMA_DIR


@functools.lru_cache(maxsize=None)
def _cached_schema(name):
    with open(schema_dir() / f"{name}.schema.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=_LOADER)


def load_schema(name):
    """A fresh copy each call: validation fills defaults into the instance, never the schema."""
    return copy.deepcopy(_cached_schema(name))


def field_path(path):
    """['scenes', 0, 'shots', 2, 'duration'] -> 'scenes[0].shots[2].duration'."""
    out = ""
    for part in path:
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


@functools.lru_cache(maxsize=None)
def _defaults_class(cls):
    return _with_defaults(cls)


def problems(instance, schema, file, fill_defaults=True):
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
                found.append(ValidationProblem(file, field_path(path + [key]), "unknown field; remove it or check its spelling"))
            continue
        if error.validator == "propertyNames":
            found.append(ValidationProblem(file, field_path(path + [error.instance]) if not isinstance(error.instance, dict) else field_path(path),
                                           f"bad key; expected {error.schema.get('description', 'a valid id')}"))
            continue
        found.append(ValidationProblem(file, field_path(path), _expected(error)))
    return found


def read_yaml(path):
    """Read a YAML file, turning a missing file or a syntax error into an InvalidInput."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput([ValidationProblem(path, "", "file not found; check the path in config/config.yaml")])
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_LOADER)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput([ValidationProblem(path, where, f"not valid YAML: {getattr(e, 'problem', e)}")]) from None
    return {} if data is None else data


def validate(instance, name, file):
    """Validate against config/schemas/<name>.schema.yaml (filling defaults); raise on problems."""
    found = problems(instance, load_schema(name), file)
    if found:
        raise InvalidInput(found)
    return instance
