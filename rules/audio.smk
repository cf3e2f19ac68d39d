# Audio stage: a voice per dialogue line, a music cue per scene, and the episode mix.


rule voice:
    input:
        engine=code("audio/voice.py"),
    output:
        "audio/{ep}/voice/{line}.wav",
    params:
        spec=line_spec,
        sample_rate=lambda wc: config["output"]["sample_rate"],
    log:
        "logs/{ep}/voice/{line}.log",
    benchmark:
        "benchmarks/{ep}/voice/{line}.tsv"
    script:
        "../scripts/speak_line.py"


rule music:
    input:
        composer=code("audio/music.py"),
    output:
        "audio/{ep}/music/{scene}.wav",
    params:
        spec=music_spec,
        soundfonts=lambda wc: dumps(config["music"]["soundfonts"]),
    log:
        "logs/{ep}/music/{scene}.log",
    benchmark:
        "benchmarks/{ep}/music/{scene}.tsv"
    script:
        "../scripts/compose_music.py"


rule mix:
    input:
        unpack(voice_inputs),
        unpack(music_inputs),
        # refused when a voice line or music cue failed its gate (ancient: see rules/clips.smk)
        reports=lambda wc: ancient(sound_reports(wc)),
        mixer=code("audio/mix.py"),
    output:
        "audio/{ep}/mix.wav",
    params:
        timeline=audio_timeline_json,
        settings=lambda wc: section("music", "mix", "loudness"),
    log:
        "logs/{ep}/mix.log",
    benchmark:
        "benchmarks/{ep}/mix.tsv"
    script:
        "../scripts/mix_audio.py"
