# Stills stage: one 768x512 frame per shot (embedded default: the storyboard renderer).
# A failed take is rendered again with the next seed (qc.takes); every take's report stays.


rule still:
    input:
        renderer=code("stills/storyboard.py"),
    output:
        still=report("stills/{ep}/{shot}.png", caption="../report/still.rst", category="Stills", subcategory="{ep}"),
        takes="reports/{ep}/stills/{shot}.takes.json",
    params:
        spec=still_spec,
    log:
        "logs/{ep}/stills/{shot}.log",
    benchmark:
        "benchmarks/{ep}/stills/{shot}.tsv"
    resources:
        gpu=1,
    # all stills before clips where the DAG allows: one model on the card at a time
    priority: 20
    script:
        "../scripts/render_still.py"
