"""Time facts search per query size: the store's search_facts on SQLite (FTS5), side by side
for a query of one word repeated and of distinct words, with the ratio to the previous size.

    python bench/facts_search.py [--sizes 1000 2000 4000 8000 16000] [--database URL]

Before each word was searched once, n copies of a word cost n * n (16,000 words: 1 s;
100,000: about 20 s); now repeats cost what one word costs. Distinct words still cost what
FTS5 (or PostgreSQL's tsquery) costs to parse an n-way OR, a little above linear. The MCP
server refuses such queries anyway (facts.server.max_query_words, default 32). No assertions.
"""

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from tower_anime.facts import add_facts, read_facts_file, search_facts  # noqa: E402
from tower_anime.facts.store import _SQLITE_SEARCH  # noqa: E402
from tower_anime.store import connect, migrate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 8000, 16000])
    ap.add_argument("--database", help="a database URL (default: a new SQLite file)")
    args = ap.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='tower-bench-')}/facts.db"
    rnd = random.Random(1)
    vocab = ["".join(rnd.choice("abcdefghijklmnop") for _ in range(7)) for _ in range(max(args.sizes))]
    with connect(url, create=True) as db:
        migrate(db)
        add_facts(db, read_facts_file(ROOT / "config" / "facts" / "production.yaml"))
        old = db.dialect == "sqlite"
        print(f"{db.display}: seconds per search (best of 3), x = ratio to the previous size")
        print(
            f"{'words':>7}  {'repeated':>9} {'x':>5}  {'distinct':>9} {'x':>5}"
            + (f"  {'repeated, as before':>19} {'x':>5}" if old else "")
        )
        last = None
        for n in args.sizes:
            row = [
                best_of(lambda n=n: search_facts(db, " ".join(["luna"] * n))),
                best_of(lambda n=n: search_facts(db, " ".join(vocab[:n] + ["luna"]))),
            ]
            if old:  # the query as it was built before: every copy of the word a phrase of its own
                row.append(best_of(lambda n=n: db.rows(_SQLITE_SEARCH, (" OR ".join(['"luna"'] * n), 10)), repeat=1))
            ratios = [f"{t / p:.1f}" if last else "" for t, p in zip(row, last or row)]
            widths = [9, 9, 19]
            print(f"{n:>7}" + "".join(f"  {t:>{w}.4f} {r:>5}" for t, r, w in zip(row, ratios, widths)), flush=True)
            last = [max(t, 1e-6) for t in row]


if __name__ == "__main__":
    main()
