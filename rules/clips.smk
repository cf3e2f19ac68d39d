# Clips stage: a moving shot of exactly the asked frame count from each still, made only
# from a still that passed its gate (its report ancient unless the still's bytes changed:
# a re-check alone never re-renders a clip; see clip_still_report).


rule clip:
    input:
        unpack(render_inputs("clips", clip_spec)),
        unpack(clip_voices),
        still="stills/{ep}/{shot}.png",
        still_report=clip_still_report,
        # out of date while its own gate refuses it (see refusal): a refused clip is made again
        verdict=refusal("clip", "clips", "shot"),
    output:
        clip="clips/{ep}/{shot}.mp4",
        takes="reports/{ep}/clips/{shot}.takes.json",
    params:
        spec=clip_spec,
    log:
        "logs/{ep}/clips/{shot}.log",
    benchmark:
        "benchmarks/clip/{ep}/{shot}.tsv"
    resources:
        gpu=1,
    localrule: on_submit_host("clips")
    priority: 10
    script:
        "../scripts/clip.py"
