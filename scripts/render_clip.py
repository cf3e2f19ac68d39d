from tower_anime.qc.report import require_pass
from tower_anime.qc.takes import clip_with_takes
from tower_anime.scripting import run_step, spec


def main(log):
    # a failed still gate stops this shot here, naming the still, metric and report
    require_pass([snakemake.input.still_report])
    # qc from the config, not a param: a changed threshold re-runs checks, not renders
    clip_with_takes(spec(snakemake), snakemake.input.still, snakemake.output.clip, snakemake.output.takes,
                    snakemake.config["qc"], log=log, workflow=getattr(snakemake.input, "workflow", None),
                    config=snakemake.config)


run_step(snakemake, main)
