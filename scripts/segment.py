import json

from tower_anime.episode.segments import encode_segment_files
from tower_anime.scripting import run_step


def main(log):
    encode_segment_files(
        json.loads(snakemake.params.segment),
        list(snakemake.input.clips),
        snakemake.output[0],
        json.loads(snakemake.params.settings),
        log,
        gates=list(snakemake.params.gates),
    )


run_step(snakemake, main)
