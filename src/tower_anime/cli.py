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


def cmd_estimate(args):
    from .estimate import estimate, planned_jobs, read_benchmarks, report

    records = read_benchmarks(args.benchmarks)
    if not records:
        raise TowerError(f"no benchmark records under {args.benchmarks}/; build an episode once "
                         "(snakemake --cores 2 episodes/ep01.mkv) so there is something to measure")
    extra = ["--configfile", args.configfile] if args.configfile else []
    jobs = planned_jobs(args.targets, extra, cores=args.cores)
    est = estimate(jobs, records, args.gpus, args.cores, args.job_overhead, args.startup)
    print(report(est, args.targets, args.cores))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="tower-anime", description=__doc__)
    parser.add_argument("--config", default="config/config.yaml", help="config file (default: %(default)s)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("validate", help="check config and story; print one line per problem").set_defaults(fn=cmd_validate)
    p = sub.add_parser("plan", help="print an episode's timeline")
    p.add_argument("episode")
    p.set_defaults(fn=cmd_plan)
    p = sub.add_parser("estimate", help="predict a target's wall time on N GPUs from earlier benchmark records")
    p.add_argument("targets", nargs="+", help="Snakemake targets, e.g. episodes/ep01.mkv")
    p.add_argument("--gpus", type=int, nargs="+", default=[1, 2, 4], help="GPU counts to predict for")
    p.add_argument("--cores", type=int, default=2, help="CPU job slots (--cores locally, --jobs on a cluster)")
    p.add_argument("--job-overhead", type=float, default=0.1,
                   help="seconds added per job: ~0.1 locally; on SLURM the queue and status polling, ~5-15")
    p.add_argument("--startup", type=float, default=3.0, help="seconds Snakemake takes to start and plan")
    p.add_argument("--benchmarks", default="benchmarks", help="folder of benchmark records (default: %(default)s)")
    p.add_argument("--configfile", help="extra config file passed to Snakemake (as for the build)")
    p.set_defaults(fn=cmd_estimate)
    args = parser.parse_args(argv)
    try:
        args.fn(args)
    except TowerError as e:
        print(f"tower-anime: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
