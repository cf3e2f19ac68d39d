import json

from tower_anime.audio.cue import make_cue
from tower_anime.scripting import backend_files, run_step, spec

# transport settings (timeouts, retries, token variable) come from config, not params:
# changing them must not re-render a cue
run_step(
    snakemake,
    lambda log: make_cue(
        spec(snakemake),
        snakemake.output[0],
        json.loads(snakemake.params.soundfonts),
        transport=snakemake.config["music"]["http"],
        log=log,
        **backend_files(snakemake),
    ),
)
