# Clips stage: a moving shot of exactly the asked frame count from each still.


rule clip:
    input:
        unpack(render_inputs("clips", "clips/camera.py")),
        still="stills/{ep}/{shot}.png",
    output:
        "clips/{ep}/{shot}.mp4",
    params:
        spec=clip_spec,
    log:
        "logs/{ep}/clips/{shot}.log",
    benchmark:
        "benchmarks/clip/{ep}/{shot}.tsv"
    resources:
        gpu=1,
    localrule: comfyui_on_submit_host("clips")
    priority: 10
    script:
        "../scripts/render_clip.py"
