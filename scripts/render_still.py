from tower_anime.qc.takes import still_with_takes
from tower_anime.scripting import run_step, spec

# qc is read from the config, not a param: the thresholds choose between takes but changing
# them re-runs only the checks, never the renders. The workflow template (when a backend has
# one) is an input; the config goes to the backend for what never shapes the picture.
run_step(snakemake, lambda log: still_with_takes(spec(snakemake), snakemake.output.still, snakemake.output.takes,
                                                 snakemake.config["qc"], log=log,
                                                 workflow=getattr(snakemake.input, "workflow", None),
                                                 config=snakemake.config))
