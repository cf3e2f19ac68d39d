from tower_anime.scripting import run_step, spec
from tower_anime.stills import render_still

run_step(snakemake, lambda log: render_still(spec(snakemake), snakemake.output[0], log=log))
