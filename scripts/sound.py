import json

from tower_anime.episode.master import encode_sound
from tower_anime.scripting import run_step


def main(log):
    encode_sound(snakemake.input.mix, snakemake.output[0], json.loads(snakemake.params.settings), log)


run_step(snakemake, main)
