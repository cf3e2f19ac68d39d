"""Database URLs: which database to open, and how to name it without its password.

`postgresql://user:password@host:5432/dbname` opens PostgreSQL (psycopg 3);
`sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or a plain file path open SQLite,
the embedded default. Every message about a database uses `DatabaseURL.masked`.

On PostgreSQL Tower's tables live in a schema of their own (`DatabaseURL.schema`, config
`story.database_schema`, default `tower`): a database that already has tables called
characters or episodes in `public` is never touched. SQLite has no schemas (an attached file
is the nearest thing); a SQLite file is Tower's own, so its tables need no prefix.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..errors import DatabaseError

ENV_VAR = "TOWER_DATABASE_URL"
DEFAULT_SCHEMA = "tower"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
_RESERVED_SCHEMAS = {"public", "pg_catalog", "information_schema"}
# SQLite is the embedded default wherever a database is needed without a server
DEFAULT_URL = "sqlite:///build/tower.db"
_MASK = "***"
_SECRET_PARAMS = {"password", "passfile", "sslpassword"}


@dataclass(frozen=True)
class DatabaseURL:
    raw: str
    dialect: str  # "sqlite" or "postgresql"
    path: str = ""  # sqlite: file path (or ":memory:")
    host: str = ""  # postgresql
    port: int = 5432
    dbname: str = ""
    user: str = ""
    password: str = ""
    schema: str = DEFAULT_SCHEMA  # postgresql: where Tower's tables are (unused by SQLite)

    @property
    def masked(self) -> str:
        """The URL as it may be printed: any password replaced by ***."""
        return mask_url(self.raw)

    @property
    def conninfo(self) -> str:
        """The URL for the driver, user and password percent-encoded: libpq ends the password
        at its first @, this module (and mask_url) at the last, so an unescaped @ would
        otherwise make libpq connect to (and quote) a host holding the rest of the password."""
        if self.dialect != "postgresql" or "@" not in urlsplit(self.raw).netloc:
            return self.raw
        scheme, rest = self.raw.split("://", 1)
        after = rest.rsplit("@", 1)[1]
        cred = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        return f"{scheme}://{cred}@{after}"

    @property
    def where(self) -> str:
        """host:port (PostgreSQL) or the file (SQLite): what a 'cannot connect' message names."""
        if self.dialect == "sqlite":
            return self.path
        return f"{self.host or 'localhost'}:{self.port}"

    def scrub(self, text: object) -> str:
        """A driver's message with the password removed, in case it echoes the URL."""
        text = mask_urls_in(text)
        if self.password:
            text = text.replace(self.raw, self.masked)
            for secret in {self.password, quote(self.password, safe="")}:
                text = text.replace(secret, _MASK)
        return text


_SECRET_QUERY = re.compile(r"(?i)([?&;](?:" + "|".join(_SECRET_PARAMS) + r")=)[^&;#]*")


def mask_url(url: object) -> str:
    """postgresql://u:secret@h/db -> postgresql://u:***@h/db (also ?password=...).

    Everything between :// and the LAST @ is credentials: a password may hold an unescaped
    @, / , ? or # (which a URL parser would take for the host, path, query or fragment),
    and none of it may be shown. Only a user name before the first ':' is kept."""
    url = str(url)
    if "://" in url:
        scheme, rest = url.split("://", 1)
        if "@" in rest:
            userinfo, after = rest.rsplit("@", 1)
            user = userinfo.split(":", 1)[0] if ":" in userinfo else userinfo
            if ":" in userinfo or any(c in user for c in "@/?#"):
                user = (user if not any(c in user for c in "@/?#") else "") + ":" + _MASK
            url = f"{scheme}://{user}@{after}"
    return _SECRET_QUERY.sub(r"\1" + _MASK, url)


_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*@\S*")


def mask_urls_in(text: object) -> str:
    """Any text with every URL in it masked as mask_url does (a driver or service message may
    quote one); a URL ends at white space, its credentials at its last @."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group()), str(text))


def _split(url):
    """urlsplit, with its ValueError (an unclosed '[' in the host, a bad port) as DatabaseError."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parses the port, raising ValueError on a bad one
        return parts
    except ValueError as e:
        raise DatabaseError(
            f"cannot read database URL {mask_url(url)}: {e}; expected "
            "postgresql://user:password@host:5432/dbname (write @ [ ] / ? # in a password "
            "as %40 %5B %5D %2F %3F %23)"
        ) from None


def parse_url(url: object) -> DatabaseURL:
    """Parse a database URL; raise DatabaseError naming the expected forms."""
    url = str(url).strip()
    if not url:
        raise DatabaseError(
            "empty database URL; expected postgresql://user@host:5432/dbname or sqlite:///build/tower.db"
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("postgresql", "postgres"):
        parts = _split(url)
        query = dict(parse_qsl(parts.query))
        try:
            port = parts.port or int(query.get("port", 5432))
        except ValueError:
            raise DatabaseError(f"bad port in database URL {mask_url(url)}; expected a number such as 5432") from None
        return DatabaseURL(
            raw=url,
            dialect="postgresql",
            host=parts.hostname or query.get("host", ""),
            port=port,
            dbname=unquote(parts.path.lstrip("/")) or query.get("dbname", ""),
            user=unquote(parts.username or "") or query.get("user", ""),
            password=unquote(parts.password or "") or query.get("password", ""),
        )
    if scheme == "sqlite":
        # sqlite:///rel/path (three slashes) is relative, sqlite:////abs/path absolute
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path
        if not path:
            raise DatabaseError(f"no file in database URL {url!r}; expected sqlite:///build/tower.db")
        return DatabaseURL(raw=url, dialect="sqlite", path=unquote(path))
    if scheme:
        raise DatabaseError(
            f"unsupported database URL scheme {scheme!r} in {mask_url(url)}; "
            "expected postgresql://user@host:5432/dbname or sqlite:///path/to/file.db"
        )
    if "=" in url and " " in url:
        raise DatabaseError(
            "a libpq keyword string is not supported here; expected a URL such as postgresql://user@host:5432/dbname"
        )
    return DatabaseURL(raw=f"sqlite:///{url}", dialect="sqlite", path=url)


def check_schema(schema: str) -> str:
    """A schema name Tower may own: lower-case letters, digits and '_', not public or a system one."""
    if not _SCHEMA.match(schema or "") or schema in _RESERVED_SCHEMAS:
        raise DatabaseError(
            f"bad database schema {schema!r}: expected a name of lower-case letters, digits and '_' "
            f"(at most 63), not one of {sorted(_RESERVED_SCHEMAS)}, such as {DEFAULT_SCHEMA!r}"
        )
    return schema


def resolve_url(
    config: dict[str, Any] | None = None, section: str = "story", explicit: str | None = None, schema: str | None = None
) -> DatabaseURL:
    """The database to use: an explicit URL, else `<section>.database_url`, else (for facts)
    `story.database_url`, else $TOWER_DATABASE_URL, else the SQLite file build/tower.db.
    Its schema: an explicit one, else `<section>.database_schema`, else `story.database_schema`,
    else `tower`."""
    config = config or {}
    names = list(dict.fromkeys([section, "story"]))
    schema = schema or next(
        (config[n]["database_schema"] for n in names if (config.get(n) or {}).get("database_schema")), DEFAULT_SCHEMA
    )
    url = None if not explicit else parse_url(explicit)
    for name in names:
        value = (config.get(name) or {}).get("database_url")
        if url is None and value:
            url = parse_url(value)
    url = url or parse_url(os.environ.get(ENV_VAR) or DEFAULT_URL)
    return dataclasses.replace(url, schema=check_schema(schema))


def sqlite_file(url: DatabaseURL) -> Path | None:
    """The SQLite file of a parsed URL, as a Path (None for an in-memory database)."""
    return None if url.path == ":memory:" else Path(url.path)
