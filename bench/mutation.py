"""Mutation testing of the quality gates: do their tests fail when the gate code is wrong?

Each mutant is one small change to one module (a comparison turned, a check's operator
loosened, a number moved by one, abs() or a guard dropped, `and`/`or`, `+`/`-`, min/max
swapped), made with Python's ast module, one at a time. For each mutant only the tests that
guard that module run (MODULES below), in a fresh pytest against a copy of src/ holding the
mutant; the mutant is killed when a test fails (or the run hangs), survived when all pass.
Tests marked workflow, slurm or load, and tests that need the session's Snakemake build
(the `built` fixture), never run here: a run takes minutes, not hours.

Mutants on lines the guarding tests never execute are not run (they cannot be killed): they
count as survivors, listed as "not covered".

    PYTHONPATH=src python bench/mutation.py                       # every module below
    PYTHONPATH=src python bench/mutation.py qc/still.py qc/episode.py
    PYTHONPATH=src python bench/mutation.py --list qc/speech.py   # the mutants, not run

Prints killed / survived / total and the kill rate per module and overall, then every
survivor (file:line, the mutation, the line). Needs only pytest (the `test` extra).
"""

import argparse
import ast
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "tower_anime"

# module (under src/tower_anime) -> the test files that guard it
MODULES = {
    "qc/still.py": ["tests/test_qc_still.py", "tests/test_qc_still_edges.py"],
    "qc/clip.py": ["tests/test_qc_clip.py", "tests/test_qc_clip_edges.py"],
    "qc/frames.py": [
        "tests/test_qc_clip.py",
        "tests/test_qc_frames.py",
        "tests/test_ffgraph.py::test_qc_grey_decode",
    ],
    "qc/audio.py": ["tests/test_qc_audio.py", "tests/test_qc_audio_edges.py"],
    "qc/speech.py": ["tests/test_qc_speech.py", "tests/test_qc_speech_edges.py"],
    "qc/subtitles.py": [
        "tests/test_qc_episode.py",
        "tests/test_subtitle_limits.py",
        "tests/test_qc_subtitles_edges.py",
    ],
    "qc/episode.py": [
        "tests/test_qc_episode.py",
        "tests/test_assemble.py",
        "tests/test_delivery.py",
        "tests/test_qc_episode_gate.py",
    ],
    "qc/report.py": [
        "tests/test_qc_report.py",
        "tests/test_qc_still.py",
        "tests/test_qc_hints.py",
        "tests/test_qc_takes.py",
    ],
    "qc/hints.py": ["tests/test_qc_hints.py"],
    "qc/takes.py": ["tests/test_qc_takes_unit.py", "tests/test_qc_takes.py"],
    "qc/summary.py": ["tests/test_qc_summary.py", "tests/test_qc_takes.py", "tests/test_qc_hints.py"],
    "audio/verify.py": ["tests/test_audio_verify.py", "tests/test_audio_service.py"],
    "verify_output.py": ["tests/test_verify_output.py", "tests/test_fsutil.py"],
    "audio/delivery.py": ["tests/test_delivery.py", "tests/test_qc_episode.py", "tests/test_delivery_profiles.py"],
    "episode/deliver.py": ["tests/test_deliver.py", "tests/test_fsutil.py", "tests/test_delivery.py"],
}
DESELECT = "not workflow and not slurm and not load"

CMP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
BIN = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
}
CHECK_OPS = {"<=": "<", ">=": ">", "==": "!=", "<": "<=", ">": ">=", "between": "=="}  # check()'s op strings
SWAP_CALLS = {"min": "max", "max": "min", "any": "all", "all": "any"}


def _docstrings(tree):
    """ids of the docstring constants: never mutated."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def _annotations(tree):
    """ids of every node inside a type annotation: not behaviour."""
    out = set()
    for node in ast.walk(tree):
        anns = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            anns = [a.annotation for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs] + [
                node.returns
            ]
        elif isinstance(node, ast.AnnAssign):
            anns = [node.annotation]
        for a in anns:
            if a is not None:
                out.update(id(n) for n in ast.walk(a))
    return out


class Mutator(ast.NodeTransformer):
    """Walks a module; with target=None it lists the sites, otherwise it applies site `target`."""

    def __init__(self, skip, target=None):
        self.skip, self.target, self.sites, self.n = skip, target, [], 0

    def _site(self, node, what):
        """True when this site is the one to apply."""
        i = self.n
        self.n += 1
        if self.target is None:
            self.sites.append((node.lineno, what))
        return i == self.target

    def visit_Compare(self, node):
        self.generic_visit(node)
        for k, op in enumerate(node.ops):
            new = CMP.get(type(op))
            if new and self._site(node, f"{_op(op)} -> {_op(new())}"):
                node.ops[k] = new()
        return node

    def visit_BinOp(self, node):
        self.generic_visit(node)
        new = BIN.get(type(node.op))
        if new and self._site(node, f"{_op(node.op)} -> {_op(new())}"):
            node.op = new()
        return node

    def visit_AugAssign(self, node):
        self.generic_visit(node)
        new = BIN.get(type(node.op))
        if new and self._site(node, f"{_op(node.op)}= -> {_op(new())}="):
            node.op = new()
        return node

    def visit_BoolOp(self, node):
        self.generic_visit(node)
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        if self._site(node, f"{_op(node.op)} -> {_op(new())}"):
            node.op = new()
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (ast.Not, ast.USub)) and self._site(node, f"drop unary {_op(node.op)}"):
            return node.operand
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "abs" and len(node.args) == 1 and self._site(node, "abs(x) -> x"):
            return node.args[0]
        if name in SWAP_CALLS and self._site(node, f"{name}() -> {SWAP_CALLS[name]}()"):
            node.func = ast.Name(id=SWAP_CALLS[name], ctx=ast.Load())
        return node

    def visit_If(self, node):
        self.generic_visit(node)
        # a guard that refuses something: drop it (the defect "a short reply was accepted")
        if any(isinstance(s, (ast.Raise, ast.Return)) for s in node.body) and self._site(
            node, "guard dropped: if ... -> if False"
        ):
            node.test = ast.Constant(False)
        return node

    def visit_Constant(self, node):
        if id(node) in self.skip:
            return node
        v = node.value
        if isinstance(v, bool):
            if self._site(node, f"{v} -> {not v}"):
                return ast.copy_location(ast.Constant(not v), node)
        elif isinstance(v, int):
            if self._site(node, f"{v} -> {v + 1}"):
                return ast.copy_location(ast.Constant(v + 1), node)
        elif isinstance(v, float):
            new = v * 2 if v else 1.0
            if self._site(node, f"{v} -> {new}"):
                return ast.copy_location(ast.Constant(new), node)
        elif isinstance(v, str) and v in CHECK_OPS:
            if self._site(node, f"{v!r} -> {CHECK_OPS[v]!r}"):
                return ast.copy_location(ast.Constant(CHECK_OPS[v]), node)
        return node

    def visit(self, node):
        # a skipped subtree (an annotation, round()'s digits) is neither entered nor mutated
        # itself: `x: dict | None` is never evaluated (from __future__ import annotations)
        if id(node) in self.skip and not isinstance(node, ast.Constant):
            return node
        return super().visit(node)


def _op(op):
    return {
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.In: "in",
        ast.NotIn: "not in",
        ast.Is: "is",
        ast.IsNot: "is not",
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.FloorDiv: "//",
        ast.Mod: "%",
        ast.Pow: "**",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.BitOr: "|",
        ast.BitAnd: "&",
        ast.And: "and",
        ast.Or: "or",
        ast.Not: "not",
        ast.USub: "-",
    }[type(op)]


def _precisions(tree):
    """ids of round()'s digits: how precisely a value is reported moves a verdict only for a
    value within its last digit of the threshold; a test pinning the digits would pin the
    report's formatting, not the check."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round":
            digits = node.args[1:] + [k.value for k in node.keywords if k.arg == "ndigits"]
            out.update(id(n) for d in digits for n in ast.walk(d))
    return out


def _tree(source):
    tree = ast.parse(source)
    return tree, _docstrings(tree) | _annotations(tree) | _precisions(tree)


def mutants(source):
    """[(index, line, description)] of one module's source; lines marked `# no mutate` are left out."""
    tree, skip = _tree(source)
    m = Mutator(skip)
    m.visit(tree)
    lines = source.splitlines()
    return [(i, line, what) for i, (line, what) in enumerate(m.sites) if "# no mutate" not in lines[line - 1]]


def mutate(source, index):
    tree, skip = _tree(source)
    tree = Mutator(skip, index).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


# --- the pytest side: deselect what needs the Snakemake build; record covered lines -------------


def pytest_collection_modifyitems(config, items):
    keep = [i for i in items if "built" not in getattr(i, "fixturenames", ())]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_configure(config):
    spec = os.environ.get("TOWER_MUTATION_TRACE")
    if not spec:
        return
    import threading

    target, out = spec.split(os.pathsep)
    seen: dict[int, set] = {}  # line -> the tests that ran it ("" while no test runs: imports)
    current = [""]

    def tracer(frame, event, arg):
        if frame.f_code.co_filename != target:
            return None

        def local(f, e, a):
            if e == "line":
                seen.setdefault(f.f_lineno, set()).add(current[0])
            return local

        seen.setdefault(frame.f_lineno, set()).add(current[0])
        return local

    sys.settrace(tracer)
    threading.settrace(tracer)
    config._mutation_trace = (out, seen, current)


def pytest_runtest_setup(item):
    trace = getattr(item.config, "_mutation_trace", None)
    if trace:
        trace[2][0] = item.nodeid


def pytest_runtest_teardown(item):
    trace = getattr(item.config, "_mutation_trace", None)
    if trace:
        trace[2][0] = ""


def pytest_unconfigure(config):
    trace = getattr(config, "_mutation_trace", None)
    if trace:
        sys.settrace(None)
        Path(trace[0]).write_text(json.dumps({line: sorted(tests) for line, tests in trace[1].items()}))


# --- the runner -------------------------------------------------------------------------------


def run_tests(tests, src, timeout, trace=None):
    """(exit code or 'timeout', seconds, output) of the guarding tests against the package in `src`.

    A child forked from this process runs pytest: the heavy imports (numpy, scipy, PIL,
    requests, pytest) are done once here, not once per mutant; tower_anime is imported
    fresh in each child, from `src`."""
    args = ["-q", "-x", "-p", "no:cacheprovider", "-p", "mutation", "-o", "addopts=", "-m", DESELECT, *tests]
    start = time.monotonic()
    out = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 70
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            os.chdir(ROOT)
            os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
            if trace:
                os.environ["TOWER_MUTATION_TRACE"] = trace
            sys.dont_write_bytecode = True
            sys.path[:0] = [str(src), str(ROOT / "bench"), str(ROOT / "tests")]
            import pytest

            code = int(pytest.main(args))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = None if timeout is None else start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if deadline and time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            code = "timeout"
            break
        time.sleep(0.05)
    out.seek(0)
    text = out.read().decode(errors="replace")[-3000:]
    out.close()
    return code, time.monotonic() - start, text


def _preload():
    """What every child needs, imported once (not tower_anime: each child imports the mutant)."""
    import numpy  # noqa: F401
    import PIL.Image  # noqa: F401
    import pytest  # noqa: F401
    import requests  # noqa: F401
    import scipy.ndimage  # noqa: F401
    import skimage.metrics  # noqa: F401
    import yaml  # noqa: F401

    assert "tower_anime" not in sys.modules


def _in_order(nodeids):
    """Test ids in file order, so that -x stops a mutant's run at the first failure as before."""
    return sorted(nodeids, key=lambda n: (n.split("::")[0], n))


EQUIVALENT = ROOT / "bench" / "mutation_equivalent.txt"


def equivalents(path=EQUIVALENT):
    """{(module, mutation, source line)} from `module | mutation | line | why` rows: mutants no
    input can tell from the original. They still run; a listed one that is killed is reported
    as a wrong entry. Matched by the line's text, not its number, so edits elsewhere keep them.
    The line may hold " | " itself (a bitwise or): the reason is what follows the last one."""
    out = set()
    if path.exists():
        for row in path.read_text().splitlines():
            if row.strip() and not row.startswith("#"):
                module, what, rest = row.split(" | ", 2)
                text, why = (part.strip() for part in rest.rsplit(" | ", 1))
                module, what = module.strip(), what.strip()
                if not why:
                    raise SystemExit(f"{path.name}: {row!r} gives no reason")
                out.add((module, what, text))
    return out


def run_module(module, work, say, only=None):
    """only: the (mutation, line text) pairs to run (an earlier run's survivors), or None: all."""
    tests = MODULES[module]
    path = PKG / module
    source = path.read_text()
    listed = mutants(source)
    target = work / "src" / "tower_anime" / module
    trace_out = work / "lines.json"
    code, base, out = run_tests(tests, work / "src", None, f"{target}{os.pathsep}{trace_out}")
    if code != 0:
        raise SystemExit(f"{module}: its tests fail before any mutation (exit {code}):\n{out}")
    # line -> the tests that run it: a mutant runs only those (all of them for a line run
    # outside any test, such as a module-level constant read at import)
    covered = {int(line): tests for line, tests in json.loads(trace_out.read_text()).items()}
    if not covered:
        raise SystemExit(f"{module}: its tests never ran {target}: is another tower_anime imported first?")
    timeout = max(30.0, 3 * base + 10)
    say(f"{module}: {len(listed)} mutants, tests {' '.join(tests)} take {base:.1f} s")
    result = {"killed": 0, "survived": [], "total": len(listed)}
    lines = source.splitlines()
    try:
        for i, line, what in listed:
            if only is not None and (what, lines[line - 1].strip()) not in only:
                result["total"] -= 1
                continue
            if line not in covered:
                result["survived"].append((line, what, lines[line - 1].strip(), "not covered"))
                continue
            target.write_text(mutate(source, i))
            chosen = tests if "" in covered[line] else _in_order(covered[line])
            code, took, _ = run_tests(chosen, work / "src", timeout)
            if code == 0:
                result["survived"].append((line, what, lines[line - 1].strip(), ""))
                say(f"  SURVIVED {module}:{line}: {what}")
            elif code in (1, "timeout"):
                result["killed"] += 1
            else:  # 2-5: the mutant broke collection or pytest itself: it did not run, it was caught
                result["killed"] += 1
    finally:
        target.write_text(source)
    return result


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help=f"modules under src/tower_anime (default: all of {', '.join(MODULES)})")
    ap.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument(
        "--again", metavar="JSON", help="run only the mutants that survived in this earlier --json (quick re-checks)"
    )
    args = ap.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        ap.error(f"no tests mapped for {', '.join(unknown)}; known: {', '.join(MODULES)}")
    if args.list:
        for module in modules:
            for _, line, what in mutants((PKG / module).read_text()):
                print(f"{module}:{line}: {what}")
        return 0
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    _preload()
    results, started = {}, time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tower-mutation-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        for entry in ROOT.iterdir():  # the package finds config/ and the rest beside its src/
            if entry.name not in ("src", ".git"):
                (work / entry.name).symlink_to(entry)
        earlier = json.loads(Path(args.again).read_text()) if args.again else {}
        for module in modules:
            only = {(what, text) for _, what, text, _ in earlier[module]["survived"]} if module in earlier else None
            results[module] = run_module(module, work, say, only)
    same = equivalents()
    print(f"{'module':24} {'killed':>6} {'survived':>8} {'equivalent':>10} {'total':>5}  kill rate (of non-equivalent)")
    killed = total = equal = 0
    for module, r in results.items():
        r["equivalent"] = [s for s in r["survived"] if (module, s[1], s[2]) in same]
        r["survived"] = [s for s in r["survived"] if (module, s[1], s[2]) not in same]
        eq = len(r["equivalent"])
        killed, total, equal = killed + r["killed"], total + r["total"], equal + eq
        rate = r["killed"] / (r["total"] - eq) if r["total"] > eq else 1.0
        print(f"{module:24} {r['killed']:6} {len(r['survived']):8} {eq:10} {r['total']:5}  {rate:6.1%}")
    print(
        f"{'overall':24} {killed:6} {total - killed - equal:8} {equal:10} {total:5}  {killed / max(total - equal, 1):6.1%}"
        f"   (all mutants: {killed / max(total, 1):.1%}; {(time.monotonic() - started) / 60:.1f} min)"
    )
    for module, r in results.items():
        for line, what, text, note in r["survived"]:
            print(f"survived {module}:{line}: {what}{' (' + note + ')' if note else ''}   | {text}")
    # with --again the listed mutants that were counted equivalent before do not run again
    listed = {(m, w, t) for m, w, t in same if m in results and m not in earlier}
    left = listed - {(m, s[1], s[2]) for m, r in results.items() for s in r["equivalent"]}
    for module, what, text in sorted(left):
        print(f"WRONG ENTRY in {EQUIVALENT.name}: {module} | {what} | {text} was killed or no longer exists")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
