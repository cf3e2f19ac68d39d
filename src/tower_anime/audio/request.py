"""Plan-time half of the HTTP audio backends: the request each job will send.

The body is the user's Jinja2 template rendered to JSON for one line or one scene. The
rendered request (URL, method, headers, body, how to read the reply) goes into the job's
spec, so editing the template re-plans exactly the jobs whose request changed, and a bad
template stops the run before any job starts. The token and the transport settings
(timeout, retries) are not part of it: they change how a request travels, not its answer.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ..errors import InvalidInput, ValidationProblem


def _tojson(value):
    # Jinja's own tojson escapes <, >, & and ' for HTML; a JSON body wants the plain text back
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return json.dumps(value, ensure_ascii=False)


@functools.cache
def _environment():
    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.filters["tojson"] = _tojson
    return env


@functools.lru_cache(maxsize=256)
def _template(source):
    return _environment().from_string(source)


def render_body(source: str, context: dict[str, Any]) -> Any:
    """The template rendered with `context` and parsed as JSON; ValueError says what is wrong."""
    try:
        text = _template(source).render(**context)
    except jinja2.TemplateSyntaxError as e:
        raise ValueError(f"is not a valid Jinja2 template (line {e.lineno}: {e.message})") from None
    except jinja2.UndefinedError as e:
        raise ValueError(f"uses an unknown variable ({e.message}); known: {', '.join(sorted(context))}") from None
    except jinja2.exceptions.SecurityError as e:
        raise ValueError(
            f"does something the template sandbox refuses ({' '.join(str(e).split())[:200]}); "
            "use only the variables and filters such as |tojson"
        ) from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, MemoryError) as e:
        raise ValueError(f"fails to render ({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"does not render to JSON ({e.msg} at character {e.pos} of {text[:200]!r}); "
            "write text values as {{ name|tojson }}"
        ) from None


def service_request(
    service: dict[str, Any], context: dict[str, Any], where: str, config_file: str = "config", key: str = "voice.http"
) -> dict[str, Any]:
    """The request spec for one job: what is sent and how the answer is read (JSON-ready)."""
    try:
        body = render_body(service["body"], context)
    except ValueError as e:
        raise InvalidInput([ValidationProblem(config_file, f"{key}.body", f"{e} (rendering it for {where})")]) from None
    return {
        "url": service["url"],
        "method": service["method"],
        "headers": dict(sorted(service["headers"].items())),
        "body": body,
        "reply": dict(service["reply"]),
    }
