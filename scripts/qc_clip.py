import json

from tower_anime.qc.clip import clip_report
from tower_anime.qc.report import write_gate_report
from tower_anime.scripting import run_step, spec


def main(log):
    qc = json.loads(snakemake.params.qc)
    report = clip_report(
        snakemake.input.clip,
        spec(snakemake),
        qc["thresholds"],
        snakemake.input.still,
        thumb=snakemake.output.thumb,
        waivers=qc["waive"],
    )
    report["takes"] = json.loads(open(snakemake.input.takes).read())
    still = json.loads(open(snakemake.input.still_report).read())
    report["still"] = {"report": snakemake.input.still_report, "pass": still["pass"], "seed": still.get("seed")}
    write_gate_report(snakemake.output.report, report)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
