import json

from tower_anime.episode.segments import encode_segment_files
from tower_anime.qc.report import require_pass
from tower_anime.scripting import run_step


def main(log):
    # a failed clip gate stops the picture here, naming the clip, metric and report
    require_pass(snakemake.input.clip_reports)
    encode_segment_files(
        json.loads(snakemake.params.segment),
        list(snakemake.input.clips),
        snakemake.output[0],
        json.loads(snakemake.params.settings),
        log,
    )


run_step(snakemake, main)
