# Tower: story -> stills -> clips -> audio -> episode. This file only wires the stages;
# the logic lives in the tower_anime package (src/tower_anime), the stages in rules/.
from snakemake.utils import min_version

min_version("9.27")


# config/config.yaml is read by rules/common.smk (read_configfile), as `configfile:` would read
# it but with Tower's reader: an empty file is every default, a list or a recursive alias is
# one line naming the file (Snakemake's own loader stops such a file with its own error).


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


# every folder the rules write, checked before the DAG: a file in a folder's place or a
# read-only folder is one line now, not a traceback or a failed job after hours of renders
check_output_folders()


rule all:
    default_target: True
    input:
        # every episode, its QC report and summary, its timeline and the editor's timeline (--report: see default_targets)
        default_targets,
