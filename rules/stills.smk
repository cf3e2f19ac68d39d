# Stills stage: one 768x512 frame per shot (embedded default: the storyboard renderer).


rule still:
    input:
        renderer=code("stills/storyboard.py"),
    output:
        report("stills/{ep}/{shot}.png", caption="../report/still.rst", category="Stills", subcategory="{ep}"),
    params:
        spec=still_spec,
    log:
        "logs/{ep}/stills/{shot}.log",
    benchmark:
        "benchmarks/still/{ep}/{shot}.tsv"
    resources:
        gpu=1,
    # all stills before clips where the DAG allows: one model on the card at a time
    priority: 20
    script:
        "../scripts/render_still.py"
