# Story stage: the resolved timeline of each episode, written for people to read.
# (Nothing depends on this file: every job gets just its own spec as a param.)


rule timeline:
    output:
        "build/{ep}/timeline.json",
    params:
        timeline=timeline_json,
    log:
        "logs/{ep}/timeline.log",
    localrule: True
    script:
        "../scripts/timeline.py"
