# Tower: story -> stills -> clips -> audio -> episode. This file only wires the stages;
# the logic lives in the tower_anime package (src/tower_anime), the stages in rules/.
from snakemake.utils import min_version

min_version("9.27")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/preflight.smk"
include: "rules/story.smk"
include: "rules/stills.smk"
include: "rules/clips.smk"
include: "rules/audio.smk"
include: "rules/episode.smk"
include: "rules/reports.smk"
include: "rules/editor.smk"


rule all:
    default_target: True
    input:
        # every episode, its QC report and summary, its timeline and the editor's timeline (--report: see default_targets)
        default_targets,
