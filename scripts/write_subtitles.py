import json

from tower_anime.episode.subtitles import build_srt_for
from tower_anime.fsutil import write_text_atomic
from tower_anime.scripting import run_step


def main(log):
    placement = json.load(open(snakemake.input.placement))
    srt = build_srt_for(placement["lines"], json.loads(snakemake.params.settings)["subtitles"], placement["fps"])
    write_text_atomic(snakemake.output[0], srt)


run_step(snakemake, main)
