import json

from tower_anime.audio.voice import wav_seconds
from tower_anime.episode.timeline import place_lines
from tower_anime.episode.windows import with_windows
from tower_anime.qc.episode import episode_report
from tower_anime.qc.report import write_report
from tower_anime.scripting import run_step


def main(log):
    audio = json.loads(snakemake.params.audio_timeline)
    durations = {c["line"]: wav_seconds(snakemake.input[f"voice_{c['line']}"]) for c in audio["lines"]}
    settings = json.loads(snakemake.params.settings)
    mix = json.loads(open(snakemake.input.mix_record).read())
    timeline = json.loads(snakemake.params.timeline)
    report = episode_report(snakemake.input.master, timeline, settings,
                            with_windows(place_lines(audio["lines"], durations), timeline), settings["waive"],
                            dialogue_stem=snakemake.input.dialogue, dialogue_share=mix["dialogue_share"])
    write_report(snakemake.output[0], report)
    print(json.dumps(report, indent=2), file=log)


run_step(snakemake, main)
