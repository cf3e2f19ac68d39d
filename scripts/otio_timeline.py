import json
from pathlib import Path

from tower_anime.editor.otio_timeline import build_timeline, write_timeline_files
from tower_anime.qc.subtitles import parse_srt
from tower_anime.scripting import run_step


def main(log):
    editor = json.loads(snakemake.params.editor)
    timeline = json.loads(snakemake.params.timeline)
    reports = {Path(p).stem: json.loads(Path(p).read_text()) for p in snakemake.input.clip_reports}
    tl = build_timeline(
        timeline,
        editor["shots"],
        editor["music"],
        json.loads(Path(snakemake.input.placement).read_text()),
        parse_srt(Path(snakemake.input.subs).read_text(encoding="utf-8")),
        reports,
        editor["paths"],
        Path(snakemake.output.otio).parent,
        editor["sample_rate"],
        snakemake.params.timeline,
    )
    write_timeline_files(tl, snakemake.output.otio, snakemake.output.fcp, snakemake.output.edl)
    print(f"{len(timeline['shots'])} shots, {len(tl.tracks)} tracks, {len(tl.tracks.markers)} markers", file=log)


run_step(snakemake, main)
