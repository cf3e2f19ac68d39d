from tower_anime.episode.deliver import deliver
from tower_anime.scripting import run_step

run_step(
    snakemake,
    lambda log: deliver(snakemake.input.master, [snakemake.input.report, *snakemake.input.gates], snakemake.output[0]),
)
