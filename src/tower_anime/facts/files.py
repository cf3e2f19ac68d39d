"""Facts as data: the Fact triple, and facts files (config/facts/*.yaml) read and checked."""

from __future__ import annotations

import glob
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..schema import load_schema, problems, read_yaml, validate


@dataclass(frozen=True)
class Fact:
    subject: str
    predicate: str
    object: str
    source: str = ""

    @property
    def triple(self) -> tuple[str, str, str]:
        return (self.subject, self.predicate, self.object)


def _clean(text):
    # surrounding white space would make two spellings of one fact
    return " ".join(str(text).split())


def make_fact(subject: object, predicate: object, obj: object, source: str, where: Path | str = "command line") -> Fact:
    """One fact from loose values, checked against the same schema as a facts file."""
    item = {"subject": subject, "predicate": predicate, "object": obj}
    # the schema of one item of a facts file, so problems name just the argument
    found = problems(item, load_schema("facts")["properties"]["facts"]["items"], where)
    if found:
        raise InvalidInput(found)
    return Fact(_clean(subject), _clean(predicate), _clean(obj), source)


def read_facts_file(path: Path | str) -> list[Fact]:
    """The facts of one file; every problem is named with the file and the field."""
    doc = read_yaml(path)
    validate(doc, "facts", path)
    default_source = doc.get("source") or str(path)
    return [
        Fact(_clean(f["subject"]), _clean(f["predicate"]), _clean(f["object"]), f.get("source") or default_source)
        for f in doc["facts"]
    ]


def read_fact_files(patterns: Iterable[Path | str]) -> list[Fact]:
    """Every fact in the files matching the glob patterns (relative to the working folder),
    first occurrence of a triple kept, problems of all files reported together."""
    found, facts, seen = [], [], set()
    paths = sorted({p for pattern in patterns for p in glob.glob(str(pattern))})
    for path in paths:
        if not Path(path).is_file():
            continue
        try:
            for fact in read_facts_file(path):
                if fact.triple not in seen:
                    seen.add(fact.triple)
                    facts.append(fact)
        except InvalidInput as e:
            found.extend(e.problems)
    if found:
        raise InvalidInput(found)
    return facts
