from tower_anime.qc.report import require_pass
from tower_anime.qc.takes import clip_with_takes
from tower_anime.scripting import backend_files, run_step, spec


def main(log):
    # a failed still gate stops this shot here, naming the still, metric and report
    require_pass([snakemake.input.still_report])
    # qc from the config, not a param: a changed threshold re-runs checks, not renders
    clip_with_takes(
        spec(snakemake),
        snakemake.input.still,
        snakemake.output.clip,
        snakemake.output.takes,
        snakemake.config["qc"],
        log=log,
        config=snakemake.config,
        **backend_files(snakemake, "still", "still_report"),
    )


run_step(snakemake, main)
