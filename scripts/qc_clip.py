import json

from tower_anime.qc.clip import clip_report
from tower_anime.qc.report import write_report
from tower_anime.scripting import run_step, spec


def main(log):
    report = clip_report(snakemake.input.clip, spec(snakemake), json.loads(snakemake.params.thresholds))
    write_report(snakemake.output[0], report)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
