import json

from tower_anime.episode.master import encode_sound
from tower_anime.scripting import run_step


def main(log):
    out = snakemake.output
    encode_sound(snakemake.input.mix, out.sound, json.loads(snakemake.params.settings), log, record=out.record)


run_step(snakemake, main)
