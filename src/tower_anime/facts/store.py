"""Facts in the database: add (each triple once), list, and ranked full-text search
(FTS5 + bm25 on SQLite, a tsvector with a GIN index + ts_rank on PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .context import fold as _fold
from .files import Fact

if TYPE_CHECKING:
    from ..store.connection import Database

_WORD = re.compile(r"\w+")

# bm25 weights per FTS column (subject, predicate, object): a word in the subject counts most,
# then the object, then the predicate (the same 10 : 6 : 3 as the PostgreSQL weights below)
_SQLITE_SEARCH = """
SELECT f.subject, f.predicate, f.object, f.source, f.created,
       -bm25(facts_fts, 10.0, 3.0, 6.0) AS score
  FROM facts_fts
  JOIN facts AS f
    ON f.subject = facts_fts.subject AND f.predicate = facts_fts.predicate AND f.object = facts_fts.object
 WHERE facts_fts MATCH ?
 ORDER BY score DESC, f.subject, f.predicate, f.object
 LIMIT ?"""

# plainto_tsquery ANDs the words; turning & into | also finds facts that match some of them,
# as the SQLite query does. ts_rank on an OR query averages the best weight of each query
# word, so a fact that matches more of the words ranks higher. Weights {D, C, B, A}:
# predicate (C) 0.3, object (B) 0.6, subject (A) 1.0. No length normalisation: facts are short.
_PG_SEARCH = """
SELECT subject, predicate, object, source, created, ts_rank('{0.1, 0.3, 0.6, 1.0}', search, query.q) AS score
  FROM facts, (SELECT replace(plainto_tsquery('english', ?)::text, '&', '|')::tsquery AS q) AS query
 WHERE search @@ query.q
 ORDER BY score DESC, subject, predicate, object
 LIMIT ?"""


def _now():
    # always given by Tower (UTC), never the server's local CURRENT_TIMESTAMP
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _row(r):
    created = r["created"]
    created = (
        created.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(created, "strftime") else str(created).replace(" ", "T") + "Z"
    )
    out = {
        "subject": r["subject"],
        "predicate": r["predicate"],
        "object": r["object"],
        "source": r["source"],
        "created": created,
    }
    if "score" in r:
        out["score"] = round(float(r["score"]), 6)
    return out


def add_facts(db: Database, facts: Iterable[Fact]) -> int:
    """Add facts in one transaction; a triple already stored is left as it is. Returns how many were new."""
    added = 0
    created = _now()
    with db.transaction():
        for f in facts:
            added += db.execute(
                "INSERT INTO facts (subject, predicate, object, source, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (subject, predicate, object) DO NOTHING",
                (f.subject, f.predicate, f.object, f.source, created),
            )
    return added


def list_facts(db: Database, subject: str | None = None) -> list[dict[str, Any]]:
    """Facts in (subject, predicate, object) order; `subject` matches regardless of case."""
    rows = db.rows("SELECT subject, predicate, object, source, created FROM facts ORDER BY subject, predicate, object")
    if subject:
        rows = [r for r in rows if _fold(r["subject"]) == _fold(subject)]
    return [_row(r) for r in rows]


def query_words(query: str) -> list[str]:
    """The words of a query, each once (regardless of case), in the order they first appear."""
    return list(dict.fromkeys(w.casefold() for w in _WORD.findall(query)))


def search_facts(db: Database, query: str, limit: int = 10, timeout_s: float | None = None) -> list[dict]:
    """Facts matching any word of the query, best first (a higher score is a better match).

    timeout_s: the database stops the search after this long (QueryTimeout); None: no bound.
    Each word is searched once: FTS5 ranks a row by merging the hits of every query phrase,
    scanning all phrases for each hit, so n copies of a word cost n * n per matching row
    (16,000 words took 1 s, 100,000 about 20 s); repeats add nothing to which facts match."""
    words = query_words(query)
    if not words or limit < 1:
        return []
    with db.deadline(timeout_s):
        if db.dialect == "sqlite":
            # each word quoted: FTS5 operators and punctuation in the query are taken as plain text
            return [_row(r) for r in db.rows(_SQLITE_SEARCH, (" OR ".join(f'"{w}"' for w in words), limit))]
        return [_row(r) for r in db.rows(_PG_SEARCH, (" ".join(words), limit))]


def facts_about(db: Database, subjects: Iterable[str]) -> list[Fact]:
    """Facts whose subject is one of `subjects` (regardless of case), as Fact triples."""
    keys = {_fold(s) for s in subjects if s}
    rows = db.rows("SELECT subject, predicate, object, source FROM facts ORDER BY subject, predicate, object")
    return [Fact(r["subject"], r["predicate"], r["object"], r["source"]) for r in rows if _fold(r["subject"]) in keys]
