# Episode stage: subtitles from the real line timing, the assembled master, and delivery
# of the master once its QC report and every item's report pass.


rule subtitles:
    input:
        unpack(voice_inputs),
    output:
        "subs/{ep}.srt",
    params:
        timeline=audio_timeline_json,
        settings=lambda wc: section("subtitles"),
    log:
        "logs/{ep}/subtitles.log",
    localrule: True
    script:
        "../scripts/write_subtitles.py"


rule master:
    input:
        clips=clip_files,
        clip_reports=lambda wc: ancient(clip_reports(wc)),
        mix="audio/{ep}/mix.wav",
        subs="subs/{ep}.srt",
        assembler=code("episode/assemble.py"),
    output:
        "build/{ep}/master.mkv",
    params:
        timeline=timeline_json,
        settings=lambda wc: section("output"),
    log:
        "logs/{ep}/master.log",
    benchmark:
        "benchmarks/{ep}/master.tsv"
    threads: 2
    script:
        "../scripts/assemble_episode.py"


rule deliver:
    input:
        master="build/{ep}/master.mkv",
        report="reports/{ep}/episode.json",
        # every gate again, not ancient: a threshold tightened after the renders stops delivery
        gates=gate_reports,
    output:
        "episodes/{ep}.mkv",
    log:
        "logs/{ep}/deliver.log",
    localrule: True
    script:
        "../scripts/deliver_episode.py"
