"""`tower-anime`: check the story and show the plan without running anything; manage the
story database (`db`) and the facts knowledge base (`facts`)."""

import argparse
import json
import os
import sys
from pathlib import Path

from .check import check_config_file
from .config import load_config, validate_config
from .errors import TowerError


def _plans(args):
    checked = check_config_file(args.config)  # the same checks as the workflow's
    for ep, plan in checked.plans.items():
        for note in plan.notes:  # shots grown or sped up for their dialogue (voice.fit_lines)
            print(f"note: {ep}: {note}", file=sys.stderr)
    return checked.config, checked.story, checked.plans


def cmd_validate(args: argparse.Namespace) -> None:
    _, story, plans = _plans(args)
    for ep, plan in plans.items():
        print(
            f"{ep}: {len(plan.scenes)} scenes, {len(plan.shots)} shots, {len(plan.lines)} lines, "
            f"{plan.total_frames} frames = {plan.duration:.2f} s"
        )
    print(f"OK: {len(story.characters)} characters, {len(plans)} episode(s)")


def cmd_plan(args: argparse.Namespace) -> None:
    _, _, plans = _plans(args)
    if args.episode not in plans:
        raise TowerError(f"no episode {args.episode!r}; the story has {sorted(plans)}")
    plan = plans[args.episode]
    fps = plan.fps
    print(f'{plan.id} "{plan.title}"  {plan.total_frames} frames @ {fps} fps = {plan.duration:.2f} s')
    for row in plan.shots:
        spec = plan.stills[row["shot"]]
        who = ",".join(c["id"] for c in spec["characters"]) or "-"
        print(
            f"  {row['start_frame'] / fps:7.2f}s  {row['scene']:>10} {row['shot']:<12} {row['frames']:4d}f "
            f"{row['transition_in']:<9} {spec['camera']['move']:<9} {who:<18} {spec['action'][:50]}"
        )


def _config_or_defaults(args):
    """The config file (and any --configfile merged over it) when there is one; the schema
    defaults otherwise (db/facts work anywhere)."""
    extra = getattr(args, "configfile", None) or []
    if Path(args.config).is_file():
        return load_config(args.config, extra_files=extra)
    from .config import merge_config
    from .schema import read_yaml

    data = {}
    for path in extra:
        merge_config(data, read_yaml(path) or {})
    return validate_config(data, extra[-1] if extra else "(defaults)")


def _database(args, section, create=False):
    from .store import connect, resolve_url

    url = resolve_url(_config_or_defaults(args), section, args.database, getattr(args, "schema", None))
    return connect(url, create=create)


def _where(db):
    """The database as messages name it: its masked URL, and Tower's schema on PostgreSQL."""
    return db.display + (f" (schema {db.url.schema})" if db.dialect == "postgresql" else "")


def cmd_db_init(args: argparse.Namespace) -> None:
    from .store import migrate

    with _database(args, "story", create=True) as db:
        applied = migrate(db)
        print(f"{_where(db)}: " + (f"applied {', '.join(applied)}" if applied else "schema up to date"))


def cmd_db_import(args: argparse.Namespace) -> None:
    from .story.database import import_folder

    with _database(args, "story", create=True) as db:
        n = import_folder(db, args.folder)
        print(
            f"{_where(db)}: imported {n['characters']} characters, {n['episodes']} episode(s), "
            f"{n['shots']} shots, {n['templates']} workflow template(s) from {args.folder}"
        )


def cmd_db_export(args: argparse.Namespace) -> None:
    from .story.database import export_folder

    with _database(args, "story") as db:
        n = export_folder(db, args.folder)
        print(
            f"{db.display}: wrote {n['characters']} characters, {n['episodes']} episode(s), "
            f"{n['templates']} workflow template(s) to {args.folder}"
        )


def cmd_facts_add(args: argparse.Namespace) -> None:
    from .facts import add_facts, make_fact
    from .store import migrate

    fact = make_fact(args.subject, args.predicate, args.object, args.source)
    with _database(args, "facts", create=True) as db:
        migrate(db)
        added = add_facts(db, [fact])
        print(f"{db.display}: " + ("added 1 fact" if added else "already known, nothing added"))


def cmd_facts_import(args: argparse.Namespace) -> None:
    from .facts import add_facts, read_facts_file
    from .store import migrate

    facts = read_facts_file(args.file)
    with _database(args, "facts", create=True) as db:
        migrate(db)
        added = add_facts(db, facts)
        print(f"{db.display}: {len(facts)} fact(s) in {args.file}, {added} new")


def _print_facts(rows, as_json, score=False):
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        print("no facts found")
        return
    cols = (["score"] if score else []) + ["subject", "predicate", "object"]
    cells = [[f"{r['score']:.3f}" if c == "score" else r[c] for c in cols] for r in rows]
    widths = [min(40, max(len(c), *(len(row[i]) for row in cells))) for i, c in enumerate(cols[:-1])]
    print("  ".join(c.ljust(w) for c, w in zip(cols[:-1], widths)) + "  " + cols[-1])
    for row in cells:
        print("  ".join(v[:w].ljust(w) for v, w in zip(row[:-1], widths)) + "  " + row[-1])


def cmd_facts_search(args: argparse.Namespace) -> None:
    from .facts import search_facts
    from .store import require_schema

    with _database(args, "facts") as db:
        require_schema(db)
        _print_facts(search_facts(db, args.query, args.limit), args.json, score=True)


def cmd_facts_list(args: argparse.Namespace) -> None:
    from .facts import list_facts
    from .store import require_schema

    with _database(args, "facts") as db:
        require_schema(db)
        _print_facts(list_facts(db, args.subject), args.json)


def cmd_facts_serve(args: argparse.Namespace) -> None:
    from .facts.server import Limits, serve, serve_http
    from .store import resolve_url

    cfg = _config_or_defaults(args)
    limits = Limits.from_config(
        cfg,
        max_query_chars=args.max_query_chars,
        max_query_words=args.max_query_words,
        max_results=args.max_results,
        timeout_s=args.timeout,
        max_message_bytes=args.max_message_bytes,
    )
    from .story.source import load_configured_story

    url = resolve_url(cfg, "facts", args.database, args.schema)
    characters = lambda: load_configured_story(cfg).characters  # noqa: E731
    if args.http:
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(
                f"warning: serving facts on {args.host}: the MCP endpoint has no authentication; anyone who "
                "reaches that address can read and add facts",
                file=sys.stderr,
            )
        serve_http(url, cfg, limits, characters, args.host, args.port)
    else:
        serve(url, cfg, limits, characters)


def _knowledge_base(args):
    from .knowledge_base import KnowledgeBase

    cfg = _config_or_defaults(args)
    settings = dict(cfg["knowledge_base"])
    if args.url:
        settings["url"] = args.url
    return cfg, KnowledgeBase(settings)


def _print_changes(changes, verb, where, dry_run):
    head = "would add" if dry_run else "added"
    print(
        f"{where}: {changes.total} fact(s) {verb}, {changes.present} already there, {len(changes.added)} {head}"
        + (" (dry run: nothing changed)" if dry_run else "")
    )
    for f in changes.added:
        print(f"  + {f.subject} | {f.predicate} | {f.object}")
    for why in changes.skipped:
        print(f"  skipped: {why}")


def cmd_facts_push(args: argparse.Namespace) -> None:
    from .facts import read_fact_files
    from .knowledge_base import push

    cfg, kb = _knowledge_base(args)
    source = args.source or ("database" if cfg["facts"]["source"] == "database" else "files")
    if source == "database":
        from .facts.files import Fact
        from .facts.store import list_facts
        from .store import require_schema

        with _database(args, "facts") as db:
            require_schema(db)
            facts = [Fact(r["subject"], r["predicate"], r["object"], r["source"]) for r in list_facts(db)]
    else:
        facts = read_fact_files(cfg["facts"]["files"])
    _print_changes(push(kb, facts, args.dry_run), f"in Tower's {source}", kb.display, args.dry_run)


def cmd_facts_pull(args: argparse.Namespace) -> None:
    from .knowledge_base import pull, remote_facts
    from .store import migrate

    _, kb = _knowledge_base(args)
    if args.to_file:
        import yaml

        from .fsutil import write_text_atomic

        facts, skipped = remote_facts(kb, args.subject)
        doc = {
            "source": f"knowledge base {kb.display}",
            "facts": [{"subject": f.subject, "predicate": f.predicate, "object": f.object} for f in facts],
        }
        if not args.dry_run:
            write_text_atomic(Path(args.to_file), yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        print(
            f"{kb.display}: {len(facts)} fact(s)"
            + (f", {len(skipped)} skipped" if skipped else "")
            + (f" would be written to {args.to_file} (dry run)" if args.dry_run else f" written to {args.to_file}")
        )
        for why in skipped:
            print(f"  skipped: {why}")
        return
    if args.dry_run:
        from .errors import DatabaseError
        from .store import require_schema

        try:
            with _database(args, "facts") as db:
                require_schema(db)
                where = _where(db)
                changes = pull(kb, db, args.subject, dry_run=True)
        except DatabaseError as e:  # no database yet: everything would be added
            where = f"the facts database ({' '.join(str(e).split())[:120]})"
            changes = pull(kb, None, args.subject, dry_run=True)
        _print_changes(changes, f"in {kb.display}", where, True)
        return
    with _database(args, "facts", create=True) as db:
        migrate(db)
        changes = pull(kb, db, args.subject)
        _print_changes(changes, f"in {kb.display}", _where(db), False)


def cmd_services_check(args: argparse.Namespace) -> int:
    from .services import check_services

    cfg = _config_or_defaults(args)
    results = check_services(
        cfg, sample=not args.no_sample, everything=args.all, database=args.database, schema=args.schema
    )
    for r in results:
        print(r.line())
    return 1 if any(r.status == "FAIL" for r in results) else 0


def _add_db_commands(sub):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database",
        metavar="URL",
        help="postgresql://user@host:5432/dbname or sqlite:///path.db (default: story.database_url, "
        "then $TOWER_DATABASE_URL, then sqlite:///build/tower.db)",
    )
    common.add_argument(
        "--schema",
        metavar="NAME",
        help="PostgreSQL: the schema of Tower's tables (default: story.database_schema, tower); "
        "nothing outside it is touched",
    )
    common.add_argument(
        "--configfile",
        metavar="FILE",
        action="append",
        help="a config file merged over --config, as snakemake --configfile (repeatable), "
        "e.g. config/services/user-database.yaml",
    )
    db = sub.add_parser("db", help="the story database: init, import, export").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("init", parents=[common], help="create or migrate the schema (safe to run again)").set_defaults(
        fn=cmd_db_init
    )
    p = db.add_parser(
        "import",
        parents=[common],
        help="load DIR/characters.yaml, DIR/episodes/*.yaml and DIR/workflows/* "
        "(all checked first, written in one transaction)",
    )
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(fn=cmd_db_import)
    p = db.add_parser("export", parents=[common], help="write the database's story back to DIR as YAML")
    p.add_argument("folder", metavar="DIR")
    p.set_defaults(fn=cmd_db_export)

    facts = sub.add_parser(
        "facts", help="the facts knowledge base: add, import, search, list, serve, push, pull"
    ).add_subparsers(dest="facts_command", required=True)
    p = facts.add_parser("add", parents=[common], help="add one fact (nothing happens if it is known)")
    p.add_argument("subject")
    p.add_argument("predicate")
    p.add_argument("object")
    p.add_argument("--source", default="cli", help="where the fact comes from (default: %(default)s)")
    p.set_defaults(fn=cmd_facts_add)
    p = facts.add_parser("import", parents=[common], help="add the facts of a YAML file (again: adds nothing)")
    p.add_argument("file", metavar="FILE.yaml")
    p.set_defaults(fn=cmd_facts_import)
    p = facts.add_parser("search", parents=[common], help="ranked full-text search")
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10, help="at most this many results (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(fn=cmd_facts_search)
    p = facts.add_parser("list", parents=[common], help="list facts, optionally about one subject")
    p.add_argument("--subject", help="only facts about this subject (any case)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(fn=cmd_facts_list)
    p = facts.add_parser(
        "serve",
        parents=[common],
        help="run the MCP server on stdio (tools: search_facts, list_facts, add_fact, character_sheet)",
    )
    p.add_argument("--max-query-chars", type=int, metavar="N", help="longest search query (default: facts.server)")
    p.add_argument(
        "--max-query-words", type=int, metavar="N", help="most words in a search query (default: facts.server)"
    )
    p.add_argument("--max-results", type=int, metavar="N", help="most facts one search returns (default: facts.server)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="time bound of one call (default: facts.server)")
    p.add_argument(
        "--max-message-bytes", type=int, metavar="N", help="longest JSON-RPC message (default: facts.server)"
    )
    p.add_argument(
        "--http", action="store_true", help="serve MCP over streamable HTTP at http://HOST:PORT/mcp instead of stdio"
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="--http: the address to bind (default: %(default)s; there is no authentication, so keep it on loopback)",
    )
    p.add_argument("--port", type=int, default=8765, help="--http: the port (default: %(default)s)")
    p.set_defaults(fn=cmd_facts_serve)
    kb = argparse.ArgumentParser(add_help=False, parents=[common])
    kb.add_argument("--url", help="the knowledge base's API prefix (default: knowledge_base.url)")
    kb.add_argument("--dry-run", action="store_true", help="show what would be added; change nothing")
    p = facts.add_parser(
        "push",
        parents=[kb],
        help="add Tower's facts to your knowledge base (knowledge_base.url); facts it holds are left alone",
    )
    p.add_argument(
        "--from",
        dest="source",
        choices=["files", "database"],
        help="Tower's facts from facts.files or the facts database (default: as facts.source)",
    )
    p.set_defaults(fn=cmd_facts_push)
    p = facts.add_parser("pull", parents=[kb], help="add your knowledge base's facts to Tower's facts database")
    p.add_argument("--subject", help="only the facts about this subject")
    p.add_argument("--to-file", metavar="FILE.yaml", help="write them as a facts file instead (for facts.files)")
    p.set_defaults(fn=cmd_facts_pull)

    services = sub.add_parser("services", help="your own services: check them").add_subparsers(
        dest="services_command", required=True
    )
    p = services.add_parser(
        "check",
        parents=[common],
        help="for each configured service (voice, music, knowledge "
        "base, database): reachable, auth, one sample request; tokens never shown",
    )
    p.add_argument("--no-sample", action="store_true", help="only reachability and auth, no sample request")
    p.add_argument("--all", action="store_true", help="also the services the config does not use")
    p.set_defaults(fn=cmd_services_check)


def cmd_estimate(args: argparse.Namespace) -> None:
    from .estimate import describe_estimate, estimate, planned_jobs, read_benchmarks

    records = read_benchmarks(args.benchmarks)
    if not records:
        raise TowerError(
            f"no benchmark records under {args.benchmarks}/; build an episode once "
            "(snakemake --cores 2 episodes/ep01.mkv) so there is something to measure"
        )
    extra = ["--configfile", args.configfile] if args.configfile else []
    jobs = planned_jobs(args.targets, extra, cores=args.cores)
    est = estimate(jobs, records, args.gpus, args.cores, args.job_overhead, args.startup)
    print(describe_estimate(est, args.targets, args.cores))


def cmd_init(args: argparse.Namespace) -> int:
    from .series import init_series

    written = init_series(args.folder, args.title)
    print(
        f"created {args.folder}: {len(written)} files. Next:\n  cd {args.folder}\n"
        "  snakemake --cores 2 episodes/ep01.mkv"
    )
    return 0


def cmd_qc(args: argparse.Namespace) -> int:
    """Summarise an episode's gates from the reports on disk (also after a failed build).
    Exit 1 when a check failed that no waiver accepts, or an item was never checked."""
    from .qc.hints import hint
    from .qc.summary import episode_view, write_summary

    _, _, plans = _plans(args)
    if args.episode not in plans:
        raise TowerError(f"no episode {args.episode!r}; the story has {sorted(plans)}")
    out = Path("reports") / args.episode
    df = write_summary(episode_view(plans[args.episode]), out / "qc.csv", out / "qc.html")
    # a waived check keeps pass=False in the table (the metric did fail) and its reason
    waived = df[df["waived"] != ""]
    failed = df[~df["pass"] & (df["waived"] == "")]
    for row in failed.itertuples():
        if row.check == "(no report)":
            print(f"NOT CHECKED {row.kind} {row.item}: {row.exempt}; report: {row.report}")
        else:
            print(
                f"FAIL {row.kind} {row.item}: {row.check} = {row.value} (required {row.op} {row.threshold}); "
                f"report: {row.report}\n  likely cause and fix: {hint(row.kind, row.check)}"
            )
    for row in waived.itertuples():
        print(
            f"WAIVED {row.kind} {row.item}: {row.check} = {row.value} (required {row.op} {row.threshold}): {row.waived}"
        )
    print(
        f"{args.episode}: {len(df)} checks, {len(failed)} failed, {len(waived)} waived; "
        f"wrote {out / 'qc.csv'} and {out / 'qc.html'}"
    )
    return 1 if len(failed) else 0


def cmd_timeline_diff(args: argparse.Namespace) -> int:
    """An edited timeline as changes to the story; with --apply, written into the story."""
    from .editor.roundtrip import EditRefused, apply_yaml, fill_old_at, kept_lengths, read_edit
    from .errors import InvalidInput
    from .story.load import Story, check_episode
    from .story.plan import plan_story

    config, story, plans = _plans(args)
    if args.episode not in plans:
        raise TowerError(f"no episode {args.episode!r}; the story has {sorted(plans)}")
    edit = read_edit(args.edited, plans[args.episode])
    fill_old_at(edit, story.episodes[args.episode])
    print(edit.text(args.episode))
    if edit.refused:
        raise EditRefused(
            f"{len(edit.refused)} change(s) above the story cannot hold; make them in the story "
            "(or undo them in the editor). Nothing was written."
        )
    if not args.apply or edit.empty:
        return 0
    if config["story"]["source"] == "database":
        from .editor.roundtrip import apply_database

        where = apply_database(edit, args.episode, config)
        print(
            f"wrote episode {args.episode} in {where}; the next build follows the edit "
            "(`snakemake -n` lists what runs again)"
        )
        return 0
    path = story.files[args.episode]

    def check(doc):
        found, episodes = [], {}
        check_episode(args.episode, doc, story.characters, path, found, episodes)
        if found:
            raise InvalidInput(found)
        plans = plan_story(Story(story.characters, episodes, {args.episode: path}), config)
        kept_lengths(edit, plans[args.episode], str(path))

    apply_yaml(edit, args.episode, path, check)
    print(f"wrote {path}; the next build follows the edit (`snakemake -n` lists what runs again)")


def cmd_review(args: argparse.Namespace) -> int:
    """The review room: a local web page to look at an episode, edit the story and rebuild."""
    try:
        from .review.server import serve
    except ImportError as e:  # the web stack is only needed here, never by the workflow
        raise TowerError(
            f"the review room needs {e.name}: pip install -e . (it is a dependency of tower-anime)"
        ) from None
    token = args.token or os.environ.get("TOWER_REVIEW_TOKEN") or None
    default = Path("config/config.yaml")
    # the workflow always reads config/config.yaml; another --config is passed as Snakemake's --configfile
    extra = [] if Path(args.config).resolve() == default.resolve() else ["--configfile", args.config]
    serve(Path.cwd(), args.config, extra + list(args.snakemake_args or []), args.host, args.port, token, args.cores)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tower-anime", description=__doc__)
    parser.add_argument("--config", default="config/config.yaml", help="config file (default: %(default)s)")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (for reporting a bug)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check config and story; print one line per problem").set_defaults(fn=cmd_validate)
    p = sub.add_parser("plan", help="print an episode's timeline")
    p.add_argument("episode")
    p.set_defaults(fn=cmd_plan)
    _add_db_commands(sub)
    p = sub.add_parser("estimate", help="predict a target's wall time on N GPUs from earlier benchmark records")
    p.add_argument("targets", nargs="+", help="Snakemake targets, e.g. episodes/ep01.mkv")
    p.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4], help="GPU counts to predict for")
    p.add_argument("--cores", type=int, default=2, help="CPU job slots (--cores locally, --jobs on a cluster)")
    p.add_argument(
        "--job-overhead",
        type=float,
        default=0.1,
        help="seconds added per job: ~0.1 locally; on SLURM the queue and status polling, ~5-15",
    )
    p.add_argument("--startup", type=float, default=3.0, help="seconds Snakemake takes to start and plan")
    p.add_argument("--benchmarks", default="benchmarks", help="folder of benchmark records (default: %(default)s)")
    p.add_argument("--configfile", help="extra config file passed to Snakemake (as for the build)")
    p.set_defaults(fn=cmd_estimate)
    p = sub.add_parser(
        "qc", help="write reports/<ep>/qc.csv and qc.html from the reports on disk; list failed checks (exit 1 if any)"
    )
    p.add_argument("episode")
    p.set_defaults(fn=cmd_qc)
    timeline = sub.add_parser("timeline", help="the editor's timeline: read an edited one back").add_subparsers(
        dest="timeline_command", required=True
    )
    p = timeline.add_parser(
        "diff",
        help="show an edited .otio's changes to the story (exit 1 if it holds any the "
        "story cannot express); --apply writes them into the episode's YAML",
    )
    p.add_argument("episode")
    p.add_argument("edited", help="the edited timeline (.otio)")
    p.add_argument("--apply", action="store_true", help="write the changes into the story (comments kept)")
    p.set_defaults(fn=cmd_timeline_diff)
    p = sub.add_parser(
        "review",
        help="the review room: a web page to look at an episode by scene, edit the story "
        "(shown as a diff first) and rebuild",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to serve (default: %(default)s; any other address needs a token)"
    )
    p.add_argument("--port", type=int, default=8700, help="port (default: %(default)s)")
    p.add_argument("--token", help="access token (default: $TOWER_REVIEW_TOKEN); required off loopback")
    p.add_argument("--cores", type=int, default=2, help="--cores of the builds it starts (default: %(default)s)")
    p.add_argument(
        "--snakemake-args",
        nargs="*",
        metavar="ARG",
        help="more Snakemake arguments for its dry runs and builds (e.g. --resources gpu=1)",
    )
    p.set_defaults(fn=cmd_review)
    p = sub.add_parser(
        "init",
        help="create your own series in a new folder: config, characters, one episode and "
        "a Snakefile that uses Tower's workflow as a module",
    )
    p.add_argument("folder")
    p.add_argument("--title", help="the series' title (default: the folder's name)")
    p.set_defaults(fn=cmd_init)
    args = parser.parse_args(argv)
    try:
        code = args.fn(args) or 0
        sys.stdout.flush()  # here, so that a closed pipe is caught below and not at exit
        return code
    except TowerError as e:
        if args.debug:
            raise
        print(f"tower-anime: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader went away (`tower-anime plan ep01 | head -1`): stop quietly, the way the
        # Python docs advise (signal module, "Note on SIGPIPE"): point stdout at /dev/null so
        # that the interpreter's last flush does not raise again, and exit as a process
        # ended by SIGPIPE would (128 + 13)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug, not the user's input: one line unless --debug asks for more
        if args.debug:
            raise
        text = " ".join(str(e).split())[:300]
        print(
            f"tower-anime: unexpected error ({type(e).__name__}: {text}); run again with --debug to see the traceback",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
