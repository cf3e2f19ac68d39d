# Reports stage: measured QC of every still, clip, voice line, music cue and episode. A
# report is always written; the consumer of an item refuses it when it failed (so the
# report stays on disk to read, and a changed threshold re-runs only the checks). Checks take
# about a second: on a cluster they run on the submitting host (localrule) instead of paying a
# queue round-trip each.


rule qc_still:
    input:
        still="stills/{ep}/{shot}.png",
        takes="reports/{ep}/stills/{shot}.takes.json",
        references=reference_images,
    output:
        report=report("reports/{ep}/stills/{shot}.json", caption="../report/qc_still.rst", category="QC",
                      subcategory="{ep}"),
        thumb="reports/{ep}/thumbs/{shot}.still.jpg",
    params:
        spec=still_spec,
        qc=qc_params("still", "shot"),
    log:
        "logs/{ep}/qc/stills/{shot}.log",
    benchmark:
        "benchmarks/qc_still/{ep}/{shot}.tsv"
    localrule: True
    script:
        "../scripts/qc_still.py"


rule qc_clip:
    input:
        clip="clips/{ep}/{shot}.mp4",
        still="stills/{ep}/{shot}.png",
        # recorded in the clip report; also the path by which a clip that its gate refused
        # is made again once the still passes (the clip rule reads this report ancient)
        still_report="reports/{ep}/stills/{shot}.json",
        takes="reports/{ep}/clips/{shot}.takes.json",
    output:
        report=report("reports/{ep}/clips/{shot}.json", caption="../report/qc_clip.rst", category="QC",
                      subcategory="{ep}"),
        thumb="reports/{ep}/thumbs/{shot}.clip.jpg",
    params:
        spec=clip_spec,
        qc=qc_params("clip", "shot"),
    log:
        "logs/{ep}/qc/clips/{shot}.log",
    benchmark:
        "benchmarks/qc_clip/{ep}/{shot}.tsv"
    localrule: True
    # before a segment cut from the same clip when both are ready: the gate's verdict is
    # then written in the run where a segment fails on a damaged clip
    priority: 1
    script:
        "../scripts/qc_clip.py"


rule qc_voice:
    input:
        voice="audio/{ep}/voice/{line}.wav",
    output:
        "reports/{ep}/voice/{line}.json",
    params:
        spec=line_spec,
        qc=qc_params("voice", "line", sample_rate=config["output"]["sample_rate"]),
    log:
        "logs/{ep}/qc/voice/{line}.log",
    benchmark:
        "benchmarks/qc_voice/{ep}/{line}.tsv"
    localrule: True
    script:
        "../scripts/qc_voice.py"


rule qc_music:
    input:
        music="audio/{ep}/music/{scene}.wav",
    output:
        "reports/{ep}/music/{scene}.json",
    params:
        spec=music_spec,
        qc=qc_params("music", "scene"),
    log:
        "logs/{ep}/qc/music/{scene}.log",
    benchmark:
        "benchmarks/qc_music/{ep}/{scene}.tsv"
    localrule: True
    script:
        "../scripts/qc_music.py"


rule qc_episode:
    input:
        placement="build/{ep}/placement.json",
        master="build/{ep}/master.mkv",
        dialogue="audio/{ep}/stems/dialogue.wav",
        mix_record="audio/{ep}/mix.json",
        sound_record="build/{ep}/sound.json",
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


rule qc_summary:
    input:
        unpack(summary_inputs),
    output:
        table=report("reports/{ep}/qc.csv", caption="../report/qc_table.rst", category="QC", subcategory="{ep}"),
        sheet=report("reports/{ep}/qc.html", caption="../report/qc_sheet.rst", category="QC", subcategory="{ep}"),
    params:
        view=lambda wc: dumps(episode_view(plan(wc))),
    log:
        "logs/{ep}/qc/summary.log",
    localrule: True
    script:
        "../scripts/qc_summary.py"
