from tower_anime.scripting import run_step, spec
from tower_anime.stills import render_still

# The workflow template (comfyui) is an input; servers and timeouts come from the config,
# never from params: they must not re-render anything when they change.
run_step(snakemake, lambda log: render_still(spec(snakemake), snakemake.output[0], log=log,
                                              workflow=getattr(snakemake.input, "workflow", None),
                                              config=snakemake.config))
