import json

from tower_anime.fsutil import write_json_atomic
from tower_anime.scripting import run_step

run_step(snakemake, lambda log: write_json_atomic(snakemake.output[0], json.loads(snakemake.params.timeline)))
