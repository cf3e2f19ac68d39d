"""The episode's sound, delivery grade: scene cues as a music bed, dialogue placed on the
timeline, the music ducked under speech (sidechain), stems kept beside the mix, and two-pass
loudness normalisation to the delivery profile (see delivery.py).

Pass 1 measures the premix and the dialogue stem with FFmpeg's ebur128 meter. Pass 2 applies
one linear gain to the mix and to each stem, so the stems still add up to the mix, and puts a
true-peak limiter (4x oversampled) on the mix only when the gain would push its peaks past the
ceiling. FFmpeg's loudnorm is not used: its linear mode quietly turns into dynamic processing
when the peaks do not allow the gain, which would pump the dialogue and break the stems' sum.

"""
import math
import tempfile
from pathlib import Path

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_paths, write_json_atomic
from ..media import PCM, ffmpeg, loudness
from .delivery import reference, resolve_profile

OVERSAMPLE = 4            # the limiter runs at 192 kHz so that it sees inter-sample peaks
CORRECTION_LU = 0.2       # EBU R128 s1 QC tolerance: a pass 2 further off than this is redone once
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
            parts.append(f"[{voice_inputs[cue['line']]}:a]{tempo}{_stereo(rate)},"
                         f"adelay={round(cue['start'] * 1000)}:all=1[d{j}]")
            vl.append(f"[d{j}]")
        parts.append(f"{''.join(vl)}amix=inputs={len(vl)}:normalize=0,apad,atrim=end_sample={samples},"
                     "asplit=3[dkey][dmix][dstem]")
        parts.append(
            f"[music][dkey]sidechaincompress=threshold={duck['duck_threshold']}:ratio={duck['duck_ratio']}:"
            f"attack={duck['duck_attack_ms']}:release={duck['duck_release_ms']},asplit=2[ducked][mstem]"
        )
        parts.append("[ducked][dmix]amix=inputs=2:normalize=0[out]")
    else:
        parts.append(f"anullsrc=r={rate}:cl=stereo,atrim=end_sample={samples}[dstem]")
        parts.append("[music]asplit=2[out][mstem]")
    return ";\n".join(parts)


def _pass2(premix, stems_in, out_wav, stems_out, gain_db, limit_dbtp, samples, output, log):
    """Gain on the mix and the stems, the limiter on the mix only; every output written atomically."""
    exact = f"apad,atrim=end_sample={samples}"
    chain = f"volume={gain_db:.3f}dB"
    if limit_dbtp is not None:
        rate = output["sample_rate"]
        chain += (f",aresample={rate * OVERSAMPLE},alimiter=limit={10 ** (limit_dbtp / 20):.5f}:"
                  f"attack=5:release=50:level=false:latency=true,aresample={rate}")
    graph = [f"[0:a]{chain},{exact}[mix]"]
    graph += [f"[{i + 1}:a]volume={gain_db:.3f}dB,{exact}[s{i}]" for i in range(len(STEMS))]
    # all three checked complete before any takes its real name
    with atomic_paths([out_wav, stems_out["dialogue"], stems_out["music"]],
                      check=lambda p: verify_output.wav(p, samples)) as (mix_part, d_part, m_part):
        args = ["-i", premix, "-i", stems_in["dialogue"], "-i", stems_in["music"],
                "-filter_complex", ";".join(graph)]
        for label, part in (("[mix]", mix_part), ("[s0]", d_part), ("[s1]", m_part)):
            # the delivery format for a mix and its stems (config output: rate, bit depth)
            args += ["-map", label, "-ar", output["sample_rate"], "-c:a", PCM[output["audio_bit_depth"]], part]
        ffmpeg(args, "loudness normalisation (pass 2)", log)


def mix_episode(timeline, placed, music_paths, voice_paths, out_wav, cfg, log=None, stems=None, record=None):
    """Render the ducked mix of exactly the episode's length, its stems, normalised to the profile.

    stems: {"dialogue": path, "music": path} to keep (48 kHz 24-bit WAVs); record: a JSON path
    for what was measured and done. Returns the record.
    """
    inputs, music_inputs, voice_inputs = [], {}, {}
    for scene in timeline["scenes"]:
        music_inputs[scene["scene"]] = len(inputs) // 2
        inputs += ["-i", music_paths[scene["scene"]]]
    for cue in placed:
        voice_inputs[cue["line"]] = len(inputs) // 2
        inputs += ["-i", voice_paths[cue["line"]]]
    total = timeline["total_frames"] / timeline["fps"]
    samples = round(total * cfg["output"]["sample_rate"])
    profile = resolve_profile(cfg)
    share = round(sum(c["end"] - c["start"] for c in placed) / total, 4) if total else 0.0
    what, target = reference(profile, share)
    ceiling = profile["true_peak_dbtp"] - cfg["loudness"]["codec_headroom_db"]
    with tempfile.TemporaryDirectory(prefix="tower-mix-") as tmp:
        tmp = Path(tmp)
        stems = stems or {name: tmp / f"{name}.wav" for name in STEMS}
        graph = tmp / "graph.txt"
        graph.write_text(mix_graph(timeline, placed, music_inputs, voice_inputs, cfg))
        premix = tmp / "premix.wav"
        raw = {name: tmp / f"{name}.raw.wav" for name in STEMS}
        # long graphs go through a file: the command line stays short whatever the episode size
        ffmpeg([*inputs, "-filter_complex_script", graph,
                "-map", "[out]", "-c:a", "pcm_f32le", premix,
                "-map", "[dstem]", "-c:a", "pcm_f32le", raw["dialogue"],
                "-map", "[mstem]", "-c:a", "pcm_f32le", raw["music"]], "premix", log)
        before = {"programme": loudness(premix), "dialogue": loudness(raw["dialogue"])}
        measured = before[what]["integrated_lufs"]
        if not math.isfinite(measured) or measured <= -69.9:
            raise MediaError(f"the {what} of episode {timeline['episode']} is silent "
                             f"({measured} LUFS); nothing to normalise")
        gain = target - measured
        passes = []
        for _ in range(2):
            limit = ceiling if before["programme"]["true_peak_dbtp"] + gain > ceiling else None
            _pass2(premix, raw, out_wav, stems, gain, limit, samples, cfg["output"], log)
            after = {"programme": loudness(out_wav), "dialogue": loudness(stems["dialogue"])}
            passes.append({"gain_db": round(gain, 3), "limiter_dbtp": limit, "measured": after})
            error = target - after[what]["integrated_lufs"]
            if abs(error) <= CORRECTION_LU:
                break
            gain += error  # the limiter took some loudness away: ask for it once more
    result = {
        "episode": timeline["episode"], "profile": profile, "reference": what, "target_lufs": target,
        "ceiling_dbtp": round(ceiling, 2), "dialogue_share": share, "premix": before, "passes": passes,
        "result": passes[-1]["measured"],
    }
    if log is not None:
        print(f"loudness: {what} {before[what]['integrated_lufs']} -> "
              f"{result['result'][what]['integrated_lufs']} LUFS (target {target}, profile {profile['name']}), "
              f"gain {passes[-1]['gain_db']} dB, limiter {'on' if passes[-1]['limiter_dbtp'] is not None else 'off'}",
              file=log, flush=True)
    if record:
        write_json_atomic(record, result)
    return result
