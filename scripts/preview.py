import json

from tower_anime.episode.preview import make_preview
from tower_anime.scripting import run_step

run_step(
    snakemake,
    lambda log: make_preview(
        snakemake.input.master,
        snakemake.output.video,
        snakemake.output.subtitles,
        snakemake.output.chapters,
        json.loads(snakemake.params.settings),
        log,
    ),
)
