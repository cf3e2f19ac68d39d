import json

from tower_anime.qc.episode import episode_report
from tower_anime.qc.report import write_gate_report
from tower_anime.scripting import run_step


def main(log):
    settings = json.loads(snakemake.params.settings)
    mix = json.load(open(snakemake.input.mix_record))
    placed = json.load(open(snakemake.input.placement))["lines"]
    report = episode_report(
        snakemake.input.master,
        json.loads(snakemake.params.timeline),
        settings,
        placed,
        settings["waive"],
        dialogue_stem=snakemake.input.dialogue,
        dialogue_share=mix["dialogue_share"],
        sound_record=snakemake.input.sound_record,
        mix_record=mix,
    )
    write_gate_report(snakemake.output[0], report)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
