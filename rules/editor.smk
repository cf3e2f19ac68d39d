# Editor stage: the episode as an OpenTimelineIO timeline for finishing in an editor, with FCP 7
# XML and a CMX 3600 EDL written through OTIO's adapters (README: Finish in an editor). Cheap:
# it reads the plan, the line placement, the subtitles and the clip reports, and renders nothing.


rule otio_timeline:
    input:
        placement="build/{ep}/placement.json",
        # the audience's subtitle track (the first): its events become the timeline's markers
        subs=lambda wc: subtitle_files(wc)[0],
        # the QC result of each shot goes into its clip's metadata
        clip_reports=clip_reports,
        # the media the timeline points at (relative paths, checked to exist)
        clips=clip_files,
        stems=lambda wc: [f"audio/{wc.ep}/mix.wav"] + [f"audio/{wc.ep}/stems/{s}.wav" for s in ("dialogue", "music")],
        builder=code("editor/otio_timeline.py"),
    output:
        otio="timelines/{ep}.otio",
        fcp="timelines/{ep}.xml",
        edl="timelines/{ep}.edl",
    params:
        timeline=timeline_json,
        editor=editor_metadata,
    log:
        "logs/{ep}/otio_timeline.log",
    localrule: True
    script:
        "../scripts/otio_timeline.py"
