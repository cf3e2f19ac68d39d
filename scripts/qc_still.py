import json

from tower_anime.qc.report import write_gate_report
from tower_anime.qc.still import still_report, thumbnail
from tower_anime.scripting import run_step, spec


def main(log):
    qc = json.loads(snakemake.params.qc)
    report = still_report(snakemake.input.still, spec(snakemake), qc["thresholds"], qc["waive"])
    report["takes"] = json.loads(open(snakemake.input.takes).read())
    write_gate_report(snakemake.output.report, report)
    thumbnail(snakemake.input.still, snakemake.output.thumb)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
