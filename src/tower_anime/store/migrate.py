"""Versioned SQL migrations (store/migrations/NNNN_name.sql), applied in order, each once.

A version is one file that runs on both databases, or a pair `NNNN_name.sqlite.sql` +
`NNNN_name.postgresql.sql` where the two must differ (full-text search). Applied versions
are recorded with a checksum in `schema_migrations`, so `db init` is safe to run again and
an edited, already-applied migration is reported instead of silently ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatabaseError

if TYPE_CHECKING:
    from .connection import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgresql))?\.sql$")
# any constant: serialises concurrent `db init`s on one PostgreSQL server
_PG_LOCK_KEY = 0x746F776572


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()[:16]


def migrations(dialect: str, folder: Path | str = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations for one dialect, in version order."""
    found = {}
    for path in sorted(Path(folder).glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise DatabaseError(f"{path}: migration file names are NNNN_name.sql or NNNN_name.<sqlite|postgresql>.sql")
        version, name, only = int(m.group(1)), m.group(2), m.group(3)
        if only and only != dialect:
            continue
        if version in found:
            raise DatabaseError(f"{path}: two migrations with version {version:04d} for {dialect}")
        found[version] = Migration(version, name, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def latest_version(dialect: str) -> int:
    return migrations(dialect)[-1].version


def _ensure_table(db):
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL,"
        " applied TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )


def applied_versions(db: Database) -> dict[int, str]:
    """{version: checksum} of what this database has applied ({} for a new database)."""
    if not db.table_exists("schema_migrations"):
        return {}
    return {r["version"]: r["checksum"] for r in db.rows("SELECT version, checksum FROM schema_migrations")}


def migrate(db: Database) -> list[str]:
    """Create or upgrade the schema; returns the names of the migrations applied now."""
    done = []
    with db.transaction():
        if db.dialect == "postgresql":
            db.execute("SELECT pg_advisory_xact_lock(?)", (_PG_LOCK_KEY,))
            db.ensure_schema()  # Tower's own schema: the search path points there alone
        _ensure_table(db)
        applied = applied_versions(db)
        for m in migrations(db.dialect):
            if m.version in applied:
                if applied[m.version] != m.checksum:
                    raise DatabaseError(
                        f"database {db.display}: migration {m.version:04d}_{m.name} was changed after it was "
                        "applied; add a new migration instead of editing an applied one"
                    )
                continue
            db.run_script(m.sql)
            db.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                (m.version, m.name, m.checksum),
            )
            done.append(f"{m.version:04d}_{m.name}")
    return done


def require_schema(db: Database) -> None:
    """Stop with a clear message when the database lacks (part of) the schema."""
    applied = applied_versions(db)
    missing = [m for m in migrations(db.dialect) if m.version not in applied]
    if not applied:
        where = f"; Tower's tables are in the schema {db.url.schema}" if db.dialect == "postgresql" else ""
        raise DatabaseError(
            f"database {db.display} has no Tower tables yet; run `tower-anime db init` "
            f"(then `tower-anime db import config/` to load the story){where}"
        )
    if missing:
        raise DatabaseError(
            f"database {db.display} is at schema version {max(applied):04d}, this Tower "
            f"needs {missing[-1].version:04d}; run `tower-anime db init` to migrate it"
        )
