# Stills stage: one frame per shot at the output size, by the backend the config names (its
# declaration in tower_anime.backends gives the job's code and file inputs). A failed take is
# rendered again with the next seed (qc.takes); every take's report stays.


rule still:
    input:
        unpack(render_inputs("stills", still_spec)),
        # out of date while its gate refuses it (see refusal): a refused still is made again
        verdict=refusal("still", "stills", "shot"),
    output:
        still=report("stills/{ep}/{shot}.png", caption="../report/still.rst", category="Stills", subcategory="{ep}"),
        takes="reports/{ep}/stills/{shot}.takes.json",
    params:
        spec=still_spec,
    log:
        "logs/{ep}/stills/{shot}.log",
    benchmark:
        "benchmarks/still/{ep}/{shot}.tsv"
    resources:
        gpu=1,
    localrule: on_submit_host("stills")
    # all stills before clips where the DAG allows: one model on the card at a time (the
    # greedy scheduler picks the highest priority first; bench/gpu_order.py measures it)
    priority: 20
    script:
        "../scripts/still.py"
