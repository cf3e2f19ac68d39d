import json

from tower_anime.audio.mix import mix_episode
from tower_anime.qc.report import require_pass
from tower_anime.scripting import run_step


def main(log):
    # a failed voice line or music cue stops the mix here, naming the item, metric and report
    require_pass(snakemake.input.reports)
    timeline = json.loads(snakemake.params.timeline)
    placed = json.load(open(snakemake.input.placement))["lines"]
    voices = {c["line"]: snakemake.input[f"voice_{c['line']}"] for c in placed}
    music = {s["scene"]: snakemake.input[f"music_{s['scene']}"] for s in timeline["scenes"]}
    out = snakemake.output
    mix_episode(
        timeline,
        placed,
        music,
        voices,
        out.mix,
        json.loads(snakemake.params.settings),
        log,
        stems={"dialogue": out.dialogue, "music": out.music},
        record=out.record,
    )


run_step(snakemake, main)
