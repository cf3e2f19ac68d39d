import json

from tower_anime.audio.mix import mix_episode
from tower_anime.audio.voice import wav_seconds
from tower_anime.episode.timeline import place_lines
from tower_anime.qc.report import require_pass
from tower_anime.scripting import run_step


def main(log):
    # a failed voice line or music cue stops the mix here, naming the item, metric and report
    require_pass(snakemake.input.reports)
    timeline = json.loads(snakemake.params.timeline)
    voices = {c["line"]: snakemake.input[f"voice_{c['line']}"] for c in timeline["lines"]}
    music = {s["scene"]: snakemake.input[f"music_{s['scene']}"] for s in timeline["scenes"]}
    placed = place_lines(timeline["lines"], {k: wav_seconds(v) for k, v in voices.items()})
    out = snakemake.output
    mix_episode(timeline, placed, music, voices, out.mix, json.loads(snakemake.params.settings), log,
                stems={"dialogue": out.dialogue, "music": out.music}, record=out.record)


run_step(snakemake, main)
