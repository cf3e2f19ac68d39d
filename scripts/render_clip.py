from tower_anime.clips import render_clip
from tower_anime.scripting import run_step, spec

run_step(snakemake, lambda log: render_clip(spec(snakemake), snakemake.input.still, snakemake.output[0], log=log))
