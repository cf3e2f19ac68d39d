import json

from tower_anime.audio.voice import wav_seconds
from tower_anime.episode.placement import place_lines
from tower_anime.fsutil import write_json_atomic
from tower_anime.scripting import run_step


def main(log):
    timeline = json.loads(snakemake.params.timeline)
    durations = {c["line"]: wav_seconds(snakemake.input[f"voice_{c['line']}"]) for c in timeline["lines"]}
    placed = place_lines(timeline["lines"], durations)
    for cue in placed:
        if cue["tempo"] > 1.0:
            print(f"{cue['line']}: sped up {cue['tempo']}x to end inside shot {cue['shot']}", file=log)
    write_json_atomic(
        snakemake.output[0], {**{k: timeline[k] for k in ("episode", "fps", "total_frames")}, "lines": placed}
    )


run_step(snakemake, main)
