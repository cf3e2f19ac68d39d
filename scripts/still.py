from tower_anime.qc.takes import still_with_takes
from tower_anime.scripting import backend_files, run_step, spec

# qc is read from the config, not a param: the thresholds choose between takes but changing
# them re-runs only the checks, never the renders. The files the backend declared (e.g. a
# workflow template) are inputs; the config goes to the backend for what never shapes the picture.
run_step(
    snakemake,
    lambda log: still_with_takes(
        spec(snakemake),
        snakemake.output.still,
        snakemake.output.takes,
        snakemake.config["qc"],
        log=log,
        config=snakemake.config,
        **backend_files(snakemake),
    ),
)
