from tower_anime.qc.takes import still_with_takes
from tower_anime.scripting import run_step, spec

# qc is read from the config, not a param: the thresholds choose between takes but
# changing them re-runs only the checks, never the renders
run_step(snakemake, lambda log: still_with_takes(spec(snakemake), snakemake.output.still, snakemake.output.takes,
                                                 snakemake.config["qc"], log=log))
