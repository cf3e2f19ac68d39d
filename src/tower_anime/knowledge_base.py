"""The user's knowledge base over REST (config `knowledge_base`; Echo Brain's /api/knowledge):
`tower-anime facts push` sends Tower's facts there, `facts pull` brings its facts here.

Its API: GET <url>/facts?subject=&search=&limit(<=500)&offset= answers {"facts": [{id, subject,
predicate, object, confidence, created_at, source}], "total", "limit", "offset"}; POST
<url>/facts with {subject, predicate, object, confidence} adds one and answers 409 when the
fact exists. Both directions compare facts as Tower does (subject, predicate and object
regardless of case and spacing), so pushing or pulling twice changes nothing, and a dry run
says exactly what a real run would add. The bearer token (token_env) is never shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit

from .errors import InvalidInput, ServiceError
from .facts.context import fold
from .facts.files import Fact, make_fact

PUSH_SOURCE = "knowledge base"


def key(subject: str, predicate: str, obj: str) -> tuple[str, str, str]:
    """How two facts are found to be the same one."""
    return fold(subject), fold(predicate), fold(obj)


@dataclass
class Changes:
    """What a push or a pull did (or, in a dry run, would do)."""

    total: int = 0  # facts on the sending side
    present: int = 0  # already on the receiving side
    added: list[Fact] = field(default_factory=list)  # added (or to add, in a dry run)
    skipped: list[str] = field(default_factory=list)  # facts that cannot be taken, and why


class KnowledgeBase:
    """The REST client: paged reads and idempotent adds, with the HTTP client's retries and masking."""

    def __init__(self, settings: dict, log: TextIO | None = None, environ: dict | None = None):
        from .audio.service import ServiceClient

        self.settings = settings
        self.base = settings["url"].rstrip("/")
        self.origin = urlsplit(self.base)
        transport = {k: settings[k] for k in ("timeout_s", "connect_timeout_s", "retries", "backoff_s", "token_env")}
        self.client = ServiceClient(transport, "knowledge base", log, environ, key="knowledge_base")

    @property
    def display(self) -> str:
        return self.client.mask(self.base)

    def facts(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Every fact (or every fact about `subject`), page by page."""
        out, offset, size = [], 0, int(self.settings["page_size"])
        while True:
            params = {"limit": size, "offset": offset, **({"subject": subject} if subject else {})}
            resp = self.client.send(
                "GET", f"{self.base}/facts", "reading the knowledge base", self.origin, params=params
            )
            try:
                doc = resp.json()
                page, total = doc["facts"], int(doc.get("total", 0))
            except (ValueError, KeyError, TypeError):
                raise ServiceError(
                    f"reading the knowledge base: GET {self.display}/facts did not answer "
                    '{"facts": [...], "total": ...}; check knowledge_base.url'
                ) from None
            out.extend(page)
            offset += len(page)
            if not page or offset >= total:
                return out

    def add(self, fact: Fact, confidence: float) -> bool:
        """POST one fact; True when added, False when the knowledge base had it (409)."""
        body = {"subject": fact.subject, "predicate": fact.predicate, "object": fact.object, "confidence": confidence}
        resp = self.client.send(
            "POST",
            f"{self.base}/facts",
            f"adding {fact.subject} / {fact.predicate}",
            self.origin,
            accept=(409,),
            json=body,
        )
        return resp.status_code != 409


def push(kb: KnowledgeBase, facts: list[Fact], dry_run: bool = False) -> Changes:
    """Add to the knowledge base each fact it does not hold yet (a 409 counts as held)."""
    there = {
        key(f["subject"], f["predicate"], f["object"])
        for f in kb.facts()
        if all(isinstance(f.get(k), str) for k in ("subject", "predicate", "object"))
    }
    changes = Changes(total=len(facts))
    for fact in facts:
        if key(*fact.triple) in there:
            changes.present += 1
        elif dry_run or kb.add(fact, float(kb.settings["confidence"])):
            changes.added.append(fact)
            there.add(key(*fact.triple))
        else:
            changes.present += 1
    return changes


def remote_facts(kb: KnowledgeBase, subject: str | None = None) -> tuple[list[Fact], list[str]]:
    """The knowledge base's facts as Tower facts, and why any could not be taken (Tower's limits)."""
    facts, skipped = [], []
    for f in kb.facts(subject):
        try:
            facts.append(
                make_fact(
                    f.get("subject"),
                    f.get("predicate"),
                    f.get("object"),
                    PUSH_SOURCE if not f.get("source") else f"{PUSH_SOURCE}: {f['source']}",
                    where=f"knowledge base fact {f.get('id', '?')}",
                )
            )
        except InvalidInput as e:
            skipped.extend(str(p) for p in e.problems)
    return facts, skipped


def pull(kb: KnowledgeBase, db: Any, subject: str | None = None, dry_run: bool = False) -> Changes:
    """Add to Tower's facts database each knowledge-base fact it does not hold yet (db None:
    a database that does not exist yet, for a dry run)."""
    from .facts.store import add_facts, list_facts

    facts, skipped = remote_facts(kb, subject)
    here = set() if db is None else {key(r["subject"], r["predicate"], r["object"]) for r in list_facts(db)}
    new, seen = [], set()
    for fact in facts:
        k = key(*fact.triple)
        if k not in here and k not in seen:
            seen.add(k)
            new.append(fact)
    changes = Changes(total=len(facts), present=len(facts) - len(new), added=new, skipped=skipped)
    if new and not dry_run:
        add_facts(db, new)
    return changes
