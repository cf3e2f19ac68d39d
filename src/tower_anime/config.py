"""Workflow configuration: validated against config/schemas/config.schema.yaml, defaults filled."""
import copy

from .schema import read_yaml, validate


def validate_config(config, file="config/config.yaml"):
    """Validate (and fill defaults into) a config dict in place; raise InvalidInput on problems."""
    return validate(config, "config", file)


def load_config(path="config/config.yaml", overrides=None):
    """Read, merge overrides (like snakemake --config), validate. Returns a new dict."""
    data = copy.deepcopy(read_yaml(path))
    for key, value in (overrides or {}).items():
        data[key] = value
    return validate_config(data, path)
