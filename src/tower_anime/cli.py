"""`tower-anime`: check the story and show the plan without running anything."""
import argparse
import sys

from .config import load_config
from .errors import TowerError
from .story import load_story, plan_story


def _plans(args):
    cfg = load_config(args.config)
    story = load_story(cfg["story"]["characters"], cfg["story"]["episodes_dir"])
    return cfg, story, plan_story(story, cfg)


def cmd_validate(args):
    _, story, plans = _plans(args)
    for ep, plan in plans.items():
        print(f"{ep}: {len(plan.scenes)} scenes, {len(plan.shots)} shots, {len(plan.lines)} lines, "
              f"{plan.total_frames} frames = {plan.duration:.2f} s")
    print(f"OK: {len(story.characters)} characters, {len(plans)} episode(s)")


def cmd_plan(args):
    _, _, plans = _plans(args)
    if args.episode not in plans:
        raise TowerError(f"no episode {args.episode!r}; the story has {sorted(plans)}")
    plan = plans[args.episode]
    fps = plan.fps
    print(f"{plan.id} \"{plan.title}\"  {plan.total_frames} frames @ {fps} fps = {plan.duration:.2f} s")
    for row in plan.shots:
        spec = plan.stills[row["shot"]]
        who = ",".join(c["id"] for c in spec["characters"]) or "-"
        print(f"  {row['start_frame'] / fps:7.2f}s  {row['scene']:>10} {row['shot']:<12} {row['frames']:4d}f "
              f"{row['transition_in']:<9} {spec['camera']['move']:<9} {who:<18} {spec['action'][:50]}")


def cmd_qc(args):
    """Summarise an episode's gates from the reports on disk (also after a failed build)."""
    from pathlib import Path

    from .qc.summary import episode_view, write_summary

    _, _, plans = _plans(args)
    if args.episode not in plans:
        raise TowerError(f"no episode {args.episode!r}; the story has {sorted(plans)}")
    out = Path("reports") / args.episode
    df = write_summary(episode_view(plans[args.episode]), out / "qc.csv", out / "qc.html")
    failed = df[~df["pass"]]
    for row in failed.itertuples():
        if row.check == "(no report)":
            print(f"NOT CHECKED {row.kind} {row.item}: {row.exempt}; report: {row.report}")
        else:
            print(f"FAIL {row.kind} {row.item}: {row.check} = {row.value} (required {row.op} {row.threshold}); "
                  f"report: {row.report}")
    waived = int((df["waived"] != "").sum())
    print(f"{args.episode}: {len(df)} checks, {len(failed)} failed, {waived} waived; "
          f"wrote {out / 'qc.csv'} and {out / 'qc.html'}")
    return 1 if len(failed) else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tower-anime", description=__doc__)
    parser.add_argument("--config", default="config/config.yaml", help="config file (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check config and story; print one line per problem").set_defaults(fn=cmd_validate)
    p = sub.add_parser("plan", help="print an episode's timeline")
    p.add_argument("episode")
    p.set_defaults(fn=cmd_plan)
    p = sub.add_parser("qc", help="write reports/<ep>/qc.csv and qc.html from the reports on disk; "
                                  "list failed checks (exit 1 if any)")
    p.add_argument("episode")
    p.set_defaults(fn=cmd_qc)
    args = parser.parse_args(argv)
    try:
        return args.fn(args) or 0
    except TowerError as e:
        print(f"tower-anime: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
