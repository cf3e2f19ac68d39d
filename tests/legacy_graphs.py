"""The filter graphs as the package wrote them by hand before ffmpeg-python built them, kept
verbatim as references: tests/test_ffgraph.py proves each new graph equivalent to its old text
(tests/ffgraph.py) and, run on the same input, byte-identical in output."""

from tower_anime.audio.fit import CUT_SLACK, fit_plan
from tower_anime.episode.transitions import shot_edges
from tower_anime.media import PCM, video_encode_args


def fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade):
    samples = round(target_seconds * sample_rate)
    repeats, c, joined = fit_plan(src_seconds, target_seconds, crossfade)
    parts = [
        f"[{i}:a]aresample={sample_rate},aformat=sample_fmts=fltp:channel_layouts=stereo[c{i}]" for i in range(repeats)
    ]
    current = "[c0]"
    for i in range(1, repeats):
        parts.append(f"{current}[c{i}]acrossfade=d={c:.4f}:c1=qsin:c2=qsin[x{i}]")
        current = f"[x{i}]"
    tail = [f"atrim=end_sample={samples}"]
    if joined > target_seconds + CUT_SLACK:
        f = min(fade, target_seconds / 3)
        tail.append(f"afade=t=out:st={target_seconds - f:.4f}:d={f:.4f}")
    tail.append(f"apad=whole_len={samples}")
    parts.append(f"{current}{','.join(tail)}[out]")
    return ";".join(parts)


def fit_args(src, part, src_seconds, target_seconds, sample_rate, fade, crossfade):
    repeats = fit_plan(src_seconds, target_seconds, crossfade)[0]
    return [
        *(["-i", src] * repeats),
        "-filter_complex",
        fit_graph(src_seconds, target_seconds, sample_rate, fade, crossfade),
        "-map",
        "[out]",
        "-ar",
        sample_rate,
        "-ac",
        2,
        "-c:a",
        "pcm_s16le",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        part,
    ]


BRIGHTNESS_HZ, WARMTH_HZ = 3000, 250


def shape_filters(voice: dict, sample_rate: int):
    """FFmpeg filters giving a line its character: pitch and timbre (formant shift, shelves)
    and, where the backend did not speak at the character's speed, the tempo. [] for none."""
    pitch = 2 ** (float(voice.get("pitch", 0)) / 12)
    tempo = float(voice.get("tempo", 1.0))
    timbre = voice.get("timbre") or {}
    formant = float(timbre.get("formant", 0))
    chain = []
    if formant:
        # resampled by the formant ratio, everything moves (formants, pitch, tempo); rubberband
        # then takes pitch and tempo back with the formants preserved: only the formants moved
        rate = round(sample_rate * 2 ** (formant / 12))
        ratio = rate / sample_rate
        chain += [
            f"aresample={sample_rate}",
            f"asetrate={rate}",
            f"rubberband=tempo={tempo / ratio:.6f}:pitch={pitch / ratio:.6f}:formant=preserved",
            f"aresample={sample_rate}",
        ]
    else:
        if pitch != 1:
            chain.append(f"rubberband=pitch={pitch:.6f}")
        if tempo != 1:
            chain.append(f"atempo={tempo:.6f}")
    warmth, brightness = float(timbre.get("warmth", 0)), float(timbre.get("brightness", 0))
    if warmth:
        chain.append(f"lowshelf=g={warmth:g}:f={WARMTH_HZ}")
    if brightness:
        chain.append(f"highshelf=g={brightness:g}:f={BRIGHTNESS_HZ}")
    boost = max(warmth, brightness, 0.0)
    if boost:
        chain.append(f"volume={-boost:g}dB")  # a boosted shelf must not clip; the mix sets the level
    return chain


def post_filter(voice, sample_rate):
    chain = shape_filters(voice, sample_rate)
    chain.append("silenceremove=start_periods=1:start_threshold=-50dB")
    chain.append("areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse")
    chain.append(f"aresample={sample_rate}")
    return ",".join(chain)


def post_args(raw, part, voice, sample_rate):
    return ["-i", raw, "-af", post_filter(voice, sample_rate), "-ac", "1", "-c:a", "pcm_s16le", part]


def finish_args(raw, tmp, rate, gain, duration, fade_in, fade_out):
    samples = round(duration * rate)
    filters = ",".join(
        [
            f"volume={gain:.2f}dB",
            f"atrim=end_sample={samples}",
            f"apad=whole_len={samples}",
            f"afade=t=in:st=0:d={fade_in:.3f}",
            f"afade=t=out:st={duration - fade_out:.3f}:d={fade_out:.3f}",
        ]
    )
    return [
        "-f",
        "f32le",
        "-ar",
        rate,
        "-ac",
        2,
        "-i",
        raw,
        "-af",
        filters,
        "-ar",
        rate,
        "-ac",
        2,
        "-c:a",
        "pcm_s16le",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        tmp,
    ]


OVERSAMPLE = 4
STEMS = ("dialogue", "music")


def _stereo(rate):
    return f"aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"


def mix_graph(timeline, placed, music_inputs, voice_inputs, cfg):
    """filter_complex text with three outputs: [out] the premix, [dstem] dialogue, [mstem] music.

    Inputs: music cues first (one per scene), then voice lines.
    """
    fps = timeline["fps"]
    rate = cfg["output"]["sample_rate"]
    samples = round(timeline["total_frames"] * rate / fps)
    music_cfg, duck = cfg["music"], cfg["mix"]
    fade = music_cfg["scene_fade"]
    parts, labels = [], []
    for i, scene in enumerate(timeline["scenes"]):
        start = scene["start_frame"] / fps
        dur = scene["frames"] / fps
        f = min(fade, dur / 4)
        parts.append(
            f"[{music_inputs[scene['scene']]}:a]{_stereo(rate)},"
            f"atrim=0:{dur:.4f},volume={music_cfg['bed_level_db']}dB,"
            f"afade=t=in:d={f:.3f},afade=t=out:st={dur - f:.4f}:d={f:.3f},"
            f"adelay={round(start * 1000)}:all=1[m{i}]"
        )
        labels.append(f"[m{i}]")
    parts.append(f"{''.join(labels)}amix=inputs={len(labels)}:normalize=0,apad,atrim=end_sample={samples}[music]")
    if placed:
        vl = []
        for j, cue in enumerate(placed):
            # a line fitted to its slot (voice.grow_shots) is sped up; atempo keeps the pitch
            tempo = f"atempo={cue['tempo']:.4f}," if cue.get("tempo", 1.0) > 1.0 else ""
            parts.append(
                f"[{voice_inputs[cue['line']]}:a]{tempo}{_stereo(rate)},adelay={round(cue['start'] * 1000)}:all=1[d{j}]"
            )
            vl.append(f"[d{j}]")
        parts.append(
            f"{''.join(vl)}amix=inputs={len(vl)}:normalize=0,apad,atrim=end_sample={samples},"
            "asplit=3[dkey][dmix][dstem]"
        )
        parts.append(
            f"[music][dkey]sidechaincompress=threshold={duck['duck_threshold']}:ratio={duck['duck_ratio']}:"
            f"attack={duck['duck_attack_ms']}:release={duck['duck_release_ms']},asplit=2[ducked][mstem]"
        )
        parts.append("[ducked][dmix]amix=inputs=2:normalize=0[out]")
    else:
        parts.append(f"anullsrc=r={rate}:cl=stereo,atrim=end_sample={samples}[dstem]")
        parts.append("[music]asplit=2[out][mstem]")
    return ";\n".join(parts)


def premix_args(timeline, placed, music_paths, voice_paths, cfg, premix, dialogue, music):
    inputs, music_inputs, voice_inputs = [], {}, {}
    for scene in timeline["scenes"]:
        music_inputs[scene["scene"]] = len(inputs) // 2
        inputs += ["-i", music_paths[scene["scene"]]]
    for cue in placed:
        voice_inputs[cue["line"]] = len(inputs) // 2
        inputs += ["-i", voice_paths[cue["line"]]]
    return [
        *inputs,
        "-filter_complex",
        mix_graph(timeline, placed, music_inputs, voice_inputs, cfg),
        "-map",
        "[out]",
        "-c:a",
        "pcm_f32le",
        premix,
        "-map",
        "[dstem]",
        "-c:a",
        "pcm_f32le",
        dialogue,
        "-map",
        "[mstem]",
        "-c:a",
        "pcm_f32le",
        music,
    ]


def pass2_args(premix, stems_in, parts, gain_db, limit_dbtp, samples, output):
    exact = f"apad,atrim=end_sample={samples}"
    chain = f"volume={gain_db:.3f}dB"
    if limit_dbtp is not None:
        rate = output["sample_rate"]
        chain += (
            f",aresample={rate * OVERSAMPLE},alimiter=limit={10 ** (limit_dbtp / 20):.5f}:"
            f"attack=5:release=50:level=false:latency=true,aresample={rate}"
        )
    graph = [f"[0:a]{chain},{exact}[mix]"]
    graph += [f"[{i + 1}:a]volume={gain_db:.3f}dB,{exact}[s{i}]" for i in range(len(STEMS))]
    args = ["-i", premix, "-i", stems_in["dialogue"], "-i", stems_in["music"], "-filter_complex", ";".join(graph)]
    for label, part in zip(("[mix]", "[s0]", "[s1]"), parts):
        args += ["-map", label, "-ar", output["sample_rate"], "-c:a", PCM[output["audio_bit_depth"]], part]
    return args


def grey_args(path, width, height, first_filter="format=gray", thumb=None, thumb_frames=(), thumb_width=192):
    scaled = f"{first_filter},scale={width}:{height}:flags=area"
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-threads", "2", "-i", str(path)]
    if thumb:
        pick = "+".join(f"eq(n\\,{n})" for n in thumb_frames)
        cmd += [
            "-filter_complex",
            f"[0:v]split=2[a][b];[a]{scaled}[grey];"
            f"[b]select='{pick}',scale={thumb_width}:-2,tile={len(thumb_frames)}x1:padding=4[strip]",
            "-map",
            "[grey]",
            "-f",
            "rawvideo",
            "pipe:1",
            "-map",
            "[strip]",
            "-frames:v",
            "1",
            "-q:v",
            "4",
            "-update",
            "1",
            "-y",
            str(thumb),
        ]
    else:
        cmd += ["-vf", scaled, "-f", "rawvideo", "pipe:1"]
    return cmd


def samples_args(path, rate, af="anull"):
    return ["ffmpeg", "-v", "error", "-i", str(path), "-af", af, "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"]


def loudness_args(path, stream="a:0"):
    return [
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-y",
        "-i",
        str(path),
        "-map",
        f"0:{stream}",
        "-af",
        "ebur128=peak=true",
        "-f",
        "null",
        "-",
    ]


def _fade_out(n, frames, fps, colour):
    return f"setpts=PTS+1,fade=t=out:st={(frames - n) / fps:.6f}:d={n / fps:.6f}:c={colour},setpts=PTS-1"


def video_graph(timeline):
    """episode/master.video_graph as text, joining inputs 0..n-1 into [vout] (see the new one for why)."""
    fps = timeline["fps"]
    tb = f"settb=1/{fps},setpts=N"
    parts = []
    for i, (shot, edge) in enumerate(zip(timeline["shots"], shot_edges(timeline))):
        n = shot["frames"]
        chain = [f"setpts=PTS-STARTPTS,fps={fps},format=yuv420p,setsar=1,{tb},trim=end_frame={n}"]
        if edge["fade_in"]:
            chain.append(f"fade=t=in:s=0:n={edge['fade_in']}:c={edge['fade_in_colour']}")
        if edge["fade_out"]:
            chain.append(_fade_out(edge["fade_out"], n, fps, edge["fade_out_colour"]))
        parts.append(f"[{i}:v]{','.join(chain)}[v{i}]")
    current, length = "[v0]", timeline["shots"][0]["frames"]
    for i, shot in enumerate(timeline["shots"][1:], 1):
        out = f"[j{i}]"
        if shot["transition_in"] == "crossfade":
            d = shot["transition_frames"]
            c = d / (d + 1)
            parts.append(
                f"{current}tpad=stop=1:stop_mode=clone[p{i}];\n"
                f"[p{i}][v{i}]xfade=transition=custom:expr='B+(A-B)*P*{c:.6f}+0.5'"
                f":duration={d / fps:.6f}:offset={(length - d) / fps:.6f},{tb}{out}"
            )
            length += shot["frames"] - d
        else:
            parts.append(f"{current}[v{i}]concat=n=2:v=1:a=0,{tb}{out}")
            length += shot["frames"]
        current = out
    parts.append(f"{current}null[vout]")
    return ";\n".join(parts)


def conform_graph(timeline, rows):
    """editor/conform.conform_graph: the trims spliced into video_graph's text by input label."""
    graph = video_graph(timeline)
    pre = []
    for i, row in enumerate(rows):
        if row["source_start"]:
            pre.append(f"[{i}:v]trim=start_frame={row['source_start']},setpts=PTS-STARTPTS[src{i}]")
            graph = graph.replace(f"[{i}:v]", f"[src{i}]", 1)
    return ";\n".join(pre + [graph])


def conform_args(timeline, rows, base, out_video, output_cfg):
    """editor/conform.conform_picture's argument list (after the global ones), the graph inline."""
    inputs = []
    for row in rows:
        inputs += ["-i", str((base / row["media"]).resolve())]
    return [
        *inputs,
        "-filter_complex",
        conform_graph(timeline, rows),
        "-map",
        "[vout]",
        *video_encode_args(output_cfg, timeline["fps"]),
        "-fflags",
        "+bitexact",
        "-y",
        str(out_video),
    ]
