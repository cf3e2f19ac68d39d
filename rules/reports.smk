# Reports stage: measured QC of each clip and of the episode. A report is always written;
# the consumer of an item refuses it when it failed (so the report stays on disk to read,
# and a changed threshold re-runs only the checks). Checks take about a second: on a cluster
# they run on the submitting host (localrule) instead of paying a queue round-trip each.


rule qc_clip:
    input:
        clip="clips/{ep}/{shot}.mp4",
    output:
        report("reports/{ep}/clips/{shot}.json", caption="../report/qc_clip.rst", category="QC", subcategory="{ep}"),
    params:
        spec=clip_spec,
        thresholds=lambda wc: dumps(config["qc"]["clip"]),
    log:
        "logs/{ep}/qc/clips/{shot}.log",
    benchmark:
        "benchmarks/qc_clip/{ep}/{shot}.tsv"
    localrule: True
    script:
        "../scripts/qc_clip.py"


rule qc_episode:
    input:
        master="build/{ep}/master.mkv",
        dialogue="audio/{ep}/stems/dialogue.wav",
        mix_record="audio/{ep}/mix.json",
    output:
        report("reports/{ep}/episode.json", caption="../report/qc_episode.rst", category="QC", subcategory="{ep}"),
    params:
        timeline=timeline_json,
        settings=qc_episode_settings,
    log:
        "logs/{ep}/qc/episode.log",
    benchmark:
        "benchmarks/qc_episode/{ep}.tsv"
    localrule: True
    script:
        "../scripts/qc_episode.py"
