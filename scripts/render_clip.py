from tower_anime.clips import render_clip
from tower_anime.scripting import run_step, spec

# The workflow template (comfyui) is an input; servers and timeouts come from the config.
run_step(snakemake, lambda log: render_clip(spec(snakemake), snakemake.input.still, snakemake.output[0], log=log,
                                            workflow=getattr(snakemake.input, "workflow", None),
                                            config=snakemake.config))
