import json

from tower_anime.qc.audio import music_report
from tower_anime.qc.report import write_gate_report
from tower_anime.scripting import run_step, spec


def main(log):
    qc = json.loads(snakemake.params.qc)
    report = music_report(snakemake.input.music, spec(snakemake), qc["thresholds"], qc["waive"])
    write_gate_report(snakemake.output[0], report)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
