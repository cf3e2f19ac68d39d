"""One small interface over SQLite (sqlite3) and PostgreSQL (psycopg 3).

Queries are written once with `?` placeholders and always take their values as parameters;
for PostgreSQL the placeholders become `%s`. Driver errors become DatabaseError messages
that name the database by its masked URL, never with a traceback or a password.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import DatabaseError, QueryTimeout
from .url import DatabaseURL, parse_url, sqlite_file

CONNECT_TIMEOUT_S = 5


def connect(url: str | DatabaseURL, create: bool = False) -> Database:
    """Open the database named by a URL string or a parsed DatabaseURL.

    create: make a missing SQLite file (and its folder); readers leave it False so that a
    mistyped path is reported instead of silently becoming a new, empty database."""
    url = parse_url(url) if isinstance(url, str) else url
    return SQLiteDatabase(url, create) if url.dialect == "sqlite" else PostgresDatabase(url)


class Database:
    dialect = ""

    def __init__(self, url):
        self.url = url
        self._depth = 0

    @property
    def display(self) -> str:
        return self.url.masked

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- what callers use ---------------------------------------------------------------

    def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        with self._errors(sql):
            return self._execute(sql, tuple(params))

    def execute_many(self, sql: str, seq_of_params: Iterable[Iterable[Any]]) -> None:
        """One statement for each parameter tuple (batched by the driver)."""
        seq = [tuple(p) for p in seq_of_params]
        if seq:
            with self._errors(sql):
                self._execute_many(sql, seq)

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query as dicts (column name -> value)."""
        with self._errors(sql):
            return self._rows(sql, tuple(params))

    def value(self, sql: str, params: Iterable[Any] = ()) -> Any:
        rows = self.rows(sql, params)
        return next(iter(rows[0].values())) if rows else None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All or nothing. Nested use joins the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with self._errors("BEGIN"):
            self._begin()
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._depth = 0
            with contextlib.suppress(Exception):
                self._rollback()
            raise
        self._depth = 0
        with self._errors("COMMIT"):
            self._commit()

    def run_script(self, sql: str) -> None:
        """A migration file: several statements, no parameters, inside the current transaction."""
        with self._errors(sql):
            self._run_script(sql)

    @contextlib.contextmanager
    def deadline(self, seconds: float | None) -> Iterator[Database]:
        """Statements inside stop with QueryTimeout once `seconds` have passed (None: no bound).

        The database stops the statement itself (SQLite: a progress handler; PostgreSQL:
        statement_timeout), so a stopped search holds no lock and leaves no work behind."""
        if seconds is None:
            yield self
            return
        end = time.monotonic() + seconds
        self._set_deadline(end, seconds)
        try:
            yield self
        except DatabaseError:
            if time.monotonic() >= end - 0.001:
                raise QueryTimeout(
                    f"database {self.display}: stopped after {seconds:g} s (the time bound); "
                    "ask for fewer words or a smaller limit, or raise the bound"
                ) from None
            raise
        finally:
            self._clear_deadline()

    def interrupt(self) -> None:
        """Stop the statement running now, from any thread (it fails with a DatabaseError)."""
        raise NotImplementedError

    def table_exists(self, name: str) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # --- error translation --------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, sql):
        try:
            yield
        except DatabaseError:
            raise
        except self._driver_errors as e:
            raise DatabaseError(self._describe(e, sql)) from None

    def _describe(self, error, sql):
        first = " ".join(str(sql).split())[:80]
        return f"database {self.display}: {self.url.scrub(error).strip()} (in: {first})"


class SQLiteDatabase(Database):
    dialect = "sqlite"
    _driver_errors = (sqlite3.Error,)

    def __init__(self, url, create=False):
        super().__init__(url)
        path = sqlite_file(url)
        if path is not None and not create and not path.is_file():
            raise DatabaseError(
                f"no SQLite database at {path}; create it with `tower-anime db init` "
                "(then `tower-anime db import config/`), or check the URL"
            )
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            # autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE) so that
            # DDL in migrations is transactional too (sqlite3's implicit BEGIN skips DDL)
            self.conn = sqlite3.connect(url.path, isolation_level=None, timeout=30)
        except (OSError, sqlite3.Error) as e:
            raise DatabaseError(
                f"cannot open the SQLite database {url.path}: {e}; check that its folder exists and is writable"
            ) from None
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")

    def _execute(self, sql, params):
        return self.conn.execute(sql, params).rowcount

    def _execute_many(self, sql, seq):
        self.conn.executemany(sql, seq)

    def _rows(self, sql, params):
        return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def _begin(self):
        self.conn.execute("BEGIN IMMEDIATE")

    def _commit(self):
        self.conn.execute("COMMIT")

    def _rollback(self):
        self.conn.execute("ROLLBACK")

    def _run_script(self, sql):
        # executescript() would COMMIT first; split into complete statements instead
        # (complete_statement keeps a trigger's BEGIN ... END; body together)
        buf = ""
        for line in sql.splitlines(keepends=True):
            buf += line
            if sqlite3.complete_statement(buf):
                self.conn.execute(buf)
                buf = ""
        leftover = [line for line in buf.splitlines() if line.strip() and not line.strip().startswith("--")]
        if leftover:
            raise DatabaseError(f"incomplete SQL statement (missing ';'?) at the end of: {' '.join(leftover)[:80]}")

    def _set_deadline(self, end, seconds):
        # called every 1000 virtual-machine steps (~10-50 us here); non-zero aborts the statement
        self.conn.set_progress_handler(lambda: int(time.monotonic() >= end), 1000)

    def _clear_deadline(self):
        self.conn.set_progress_handler(None, 0)

    def interrupt(self) -> None:
        self.conn.interrupt()

    def table_exists(self, name: str) -> bool:
        return bool(self.rows("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    def close(self) -> None:
        self.conn.close()


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, url):
        super().__init__(url)
        import psycopg
        from psycopg.rows import dict_row

        self._psycopg = psycopg
        self._driver_errors = (psycopg.Error,)
        kwargs = {} if "connect_timeout" in url.raw else {"connect_timeout": CONNECT_TIMEOUT_S}
        try:
            self.conn = psycopg.connect(url.conninfo, autocommit=True, row_factory=dict_row, **kwargs)
            # every unqualified table name is Tower's schema's: nothing outside it is read or
            # written (pg_catalog is searched implicitly; Tower needs no extension in public)
            from psycopg import sql

            self.conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(url.schema)))
        except psycopg.Error as e:
            raise DatabaseError(
                f"cannot connect to PostgreSQL at {url.where} (database {url.dbname or '(default)'}, "
                f"user {url.user or '(default)'}): {_reason(url.scrub(e))}. Check that the server is running "
                f"and reachable and that the URL is right: {url.masked} (from --database, story.database_url, "
                "facts.database_url or $TOWER_DATABASE_URL)"
            ) from None
        self._tx = None

    @staticmethod
    def _sql(sql):
        return sql.replace("%", "%%").replace("?", "%s")

    def _execute(self, sql, params):
        with self.conn.cursor() as cur:
            cur.execute(self._sql(sql), params)
            return cur.rowcount

    def _execute_many(self, sql, seq):
        with self.conn.cursor() as cur:
            cur.executemany(self._sql(sql), seq)

    def _rows(self, sql, params):
        with self.conn.cursor() as cur:
            cur.execute(self._sql(sql), params)
            return cur.fetchall() if cur.description else []

    def _begin(self):
        self._tx = self.conn.transaction()
        self._tx.__enter__()

    def _commit(self):
        tx, self._tx = self._tx, None
        tx.__exit__(None, None, None)

    def _rollback(self):
        tx, self._tx = self._tx, None
        tx.__exit__(DatabaseError, DatabaseError("rollback"), None)

    def _run_script(self, sql):
        # no parameters: psycopg sends the text as is, several statements at once
        self.conn.execute(sql)

    def _set_deadline(self, end, seconds):
        # session-wide (autocommit: no transaction to scope it), reset by _clear_deadline
        self.execute("SELECT set_config('statement_timeout', ?, false)", (f"{max(1, int(seconds * 1000))}",))

    def _clear_deadline(self):
        if not self.conn.closed:
            with contextlib.suppress(DatabaseError):
                self.execute("RESET statement_timeout")

    def interrupt(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.cancel_safe(timeout=2)

    def table_exists(self, name: str) -> bool:
        return self.value("SELECT to_regclass(?) IS NOT NULL AS x", (name,))

    def ensure_schema(self) -> bool:
        """Create Tower's schema when it is missing; True when it was created. Looked up first:
        CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists."""
        if self.value("SELECT count(*) AS n FROM pg_namespace WHERE nspname = ?", (self.url.schema,)):
            return False
        from psycopg import sql

        with self._errors("CREATE SCHEMA"):
            self.conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.url.schema)))
        return True

    def close(self) -> None:
        self.conn.close()

    def _describe(self, error, sql):
        if isinstance(error, self._psycopg.OperationalError) and self.conn.closed:
            return (
                f"lost the connection to PostgreSQL at {self.url.where} ({self.display}): "
                f"{_reason(self.url.scrub(error))}"
            )
        diag = getattr(error, "diag", None)
        message = getattr(diag, "message_primary", None) or str(error)
        return super()._describe(message, sql)


def _reason(text):
    """libpq's reason from its message: 'connection to server at "h", port 1 failed: Connection
    refused' -> 'Connection refused' (the rest repeats host and port, which we name ourselves)."""
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    for line in lines:
        if "failed:" in line:
            return line.rsplit("failed:", 1)[1].strip()
    return lines[0] if lines else "unknown error"
