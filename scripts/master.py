import json

from tower_anime.episode.master import assemble_episode
from tower_anime.qc.report import require_pass
from tower_anime.scripting import run_step


def main(log):
    # a failed clip gate stops the episode here, naming the clip, metric and report
    require_pass(snakemake.input.clip_reports)
    assemble_episode(
        json.loads(snakemake.params.timeline),
        list(snakemake.input.segments),
        snakemake.input.mix,
        list(snakemake.input.subs),
        snakemake.output[0],
        json.loads(snakemake.params.settings)["output"],
        log,
        languages=json.loads(snakemake.params.languages),
        sound=snakemake.input.sound,
    )


run_step(snakemake, main)
