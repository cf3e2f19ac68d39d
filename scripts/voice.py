from tower_anime.audio.voice import synthesize_line
from tower_anime.scripting import backend_files, run_step, spec

# transport settings (timeouts, retries, token variable) come from config, not params:
# changing them must not re-synthesize a line
run_step(
    snakemake,
    lambda log: synthesize_line(
        spec(snakemake),
        snakemake.output[0],
        sample_rate=snakemake.params.sample_rate,
        log=log,
        transport=snakemake.config["voice"]["http"],
        **backend_files(snakemake),
    ),
)
