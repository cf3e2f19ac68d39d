import json

from tower_anime.qc.summary import write_summary
from tower_anime.scripting import run_step

run_step(
    snakemake,
    lambda log: write_summary(json.loads(snakemake.params.view), snakemake.output.table, snakemake.output.sheet),
)
