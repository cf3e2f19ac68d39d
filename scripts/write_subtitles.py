import json

from tower_anime.audio.voice import wav_seconds
from tower_anime.episode.subtitles import build_srt_for
from tower_anime.episode.timeline import place_lines
from tower_anime.episode.windows import with_windows
from tower_anime.fsutil import write_text_atomic
from tower_anime.scripting import run_step


def main(log):
    timeline = json.loads(snakemake.params.timeline)
    durations = {c["line"]: wav_seconds(snakemake.input[f"voice_{c['line']}"]) for c in timeline["lines"]}
    placed = with_windows(place_lines(timeline["lines"], durations), json.loads(snakemake.params.picture))
    srt = build_srt_for(placed, json.loads(snakemake.params.settings)["subtitles"], timeline["fps"])
    write_text_atomic(snakemake.output[0], srt)


run_step(snakemake, main)
