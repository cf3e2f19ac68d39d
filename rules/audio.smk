# Audio stage: a voice per dialogue line, a music cue per scene (each by its backend, whose
# declaration in tower_anime.backends gives the job's code and file inputs), and the episode
# mix with its stems, normalised to the delivery profile.


rule voice:
    input:
        unpack(render_inputs("voice", line_spec)),
        # out of date while its gate refuses it (see refusal): a refused line is made again
        verdict=refusal("voice", "voice", "line"),
    output:
        "audio/{ep}/voice/{line}.wav",
    params:
        spec=line_spec,
        sample_rate=config["output"]["sample_rate"],
    log:
        "logs/{ep}/voice/{line}.log",
    benchmark:
        "benchmarks/voice/{ep}/{line}.tsv"
    script:
        "../scripts/voice.py"


rule music:
    input:
        unpack(render_inputs("music", music_spec)),
        verdict=refusal("music", "music", "scene"),
    output:
        "audio/{ep}/music/{scene}.wav",
    params:
        spec=music_spec,
        soundfonts=lambda wc: dumps(config["music"]["soundfonts"]),
    log:
        "logs/{ep}/music/{scene}.log",
    benchmark:
        "benchmarks/music/{ep}/{scene}.tsv"
    script:
        "../scripts/music.py"


rule place_lines:
    input:
        unpack(voice_inputs),
        placer=code("episode/placement.py"),
    output:
        "build/{ep}/placement.json",
    params:
        timeline=audio_timeline_json,
    log:
        "logs/{ep}/place_lines.log",
    localrule: True
    script:
        "../scripts/place_lines.py"


rule mix:
    input:
        unpack(voice_inputs),
        unpack(music_inputs),
        placement="build/{ep}/placement.json",
        # refused when a voice line or music cue failed its gate (ancient: see rules/clips.smk)
        reports=lambda wc: ancient(sound_reports(wc)),
        mixer=code("audio/mix.py"),
    output:
        mix="audio/{ep}/mix.wav",
        dialogue="audio/{ep}/stems/dialogue.wav",
        music="audio/{ep}/stems/music.wav",
        record="audio/{ep}/mix.json",
    params:
        timeline=audio_timeline_json,
        settings=mix_settings,
    log:
        "logs/{ep}/mix.log",
    benchmark:
        "benchmarks/mix/{ep}.tsv"
    script:
        "../scripts/mix.py"
