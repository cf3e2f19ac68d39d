import json

from tower_anime.episode.subtitles import track_srt
from tower_anime.fsutil import write_text_atomic
from tower_anime.scripting import run_step


def main(log):
    placement = json.load(open(snakemake.input.placement))
    track = json.loads(snakemake.params.track)
    srt = track_srt(placement["lines"], track["lines"], track["subtitles"], placement["fps"])
    write_text_atomic(snakemake.output[0], srt)


run_step(snakemake, main)
