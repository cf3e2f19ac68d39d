# Episode stage: subtitles from the real line timing, the assembled master, and delivery
# of the master once its QC report passes.


rule subtitles:
    input:
        unpack(voice_inputs),
    output:
        "subs/{ep}.srt",
    params:
        timeline=audio_timeline_json,
    log:
        "logs/{ep}/subtitles.log",
    benchmark:
        "benchmarks/subtitles/{ep}.tsv"
    localrule: True
    script:
        "../scripts/write_subtitles.py"


rule master:
    input:
        clips=clip_files,
        clip_reports=clip_reports,
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
        "benchmarks/master/{ep}.tsv"
    threads: 2
    script:
        "../scripts/assemble_episode.py"


rule deliver:
    input:
        master="build/{ep}/master.mkv",
        report="reports/{ep}/episode.json",
    output:
        "episodes/{ep}.mkv",
    log:
        "logs/{ep}/deliver.log",
    benchmark:
        "benchmarks/deliver/{ep}.tsv"
    localrule: True
    script:
        "../scripts/deliver_episode.py"
