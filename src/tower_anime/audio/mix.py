"""The episode's sound: scene cues as a music bed, dialogue placed on the timeline, the music
ducked under speech (sidechain), then two-pass loudness normalisation to the target.

Graph shapes measured on these machines are in ../shared/media-notes.md.
"""
import json
import re
import tempfile
from pathlib import Path

from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import ffmpeg


def mix_graph(timeline, placed, music_inputs, voice_inputs, cfg):
    """filter_complex text. Inputs: music cues first (one per scene), then voice lines."""
    total = timeline["total_frames"] / timeline["fps"]
    music_cfg, duck = cfg["music"], cfg["mix"]
    fade = music_cfg["scene_fade"]
    parts, labels = [], []
    for i, scene in enumerate(timeline["scenes"]):
        start = scene["start_frame"] / timeline["fps"]
        dur = scene["frames"] / timeline["fps"]
        f = min(fade, dur / 4)
        parts.append(
            f"[{music_inputs[scene['scene']]}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
            f"atrim=0:{dur:.4f},volume={music_cfg['bed_level_db']}dB,"
            f"afade=t=in:d={f:.3f},afade=t=out:st={dur - f:.4f}:d={f:.3f},"
            f"adelay={round(start * 1000)}:all=1[m{i}]"
        )
        labels.append(f"[m{i}]")
    parts.append(f"{''.join(labels)}amix=inputs={len(labels)}:normalize=0,apad,atrim=0:{total:.4f}[music]")
    if placed:
        vl = []
        for j, cue in enumerate(placed):
            parts.append(
                f"[{voice_inputs[cue['line']]}:a]aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"adelay={round(cue['start'] * 1000)}:all=1[d{j}]"
            )
            vl.append(f"[d{j}]")
        parts.append(f"{''.join(vl)}amix=inputs={len(vl)}:normalize=0,apad,atrim=0:{total:.4f},asplit=2[dkey][dmix]")
        parts.append(
            f"[music][dkey]sidechaincompress=threshold={duck['duck_threshold']}:ratio={duck['duck_ratio']}:"
            f"attack={duck['duck_attack_ms']}:release={duck['duck_release_ms']}[ducked]"
        )
        parts.append("[ducked][dmix]amix=inputs=2:normalize=0[out]")
    else:
        parts.append("[music]anull[out]")
    return ";\n".join(parts)


_JSON_BLOCK = re.compile(r"\{[^{}]*\"input_i\"[^{}]*\}", re.S)


def measure_loudnorm(path, target, log=None):
    """loudnorm pass 1: the measured values pass 2 needs."""
    proc = ffmpeg(["-i", path, "-af", f"loudnorm={target}:print_format=json", "-f", "null", "-"],
                  "loudness measurement (pass 1)", log)
    match = _JSON_BLOCK.search(proc.stderr)
    if not match:
        raise MediaError("loudnorm pass 1 printed no measurement")
    return json.loads(match.group(0))


def loudnorm_target(cfg):
    loud = cfg["loudness"]
    tp = loud["true_peak_dbtp"] - loud["codec_headroom_db"]
    return f"I={loud['integrated_lufs']}:TP={tp}:LRA={loud['lra']}"


def mix_episode(timeline, placed, music_paths, voice_paths, out_wav, cfg, log=None):
    """Render the ducked, loudness-normalised stereo mix of exactly the episode's length."""
    inputs, music_inputs, voice_inputs = [], {}, {}
    for scene in timeline["scenes"]:
        music_inputs[scene["scene"]] = len(inputs)
        inputs += ["-i", music_paths[scene["scene"]]]
    for cue in placed:
        voice_inputs[cue["line"]] = len(inputs) // 2
        inputs += ["-i", voice_paths[cue["line"]]]
    total_samples = round(timeline["total_frames"] * 48000 / timeline["fps"])
    with tempfile.TemporaryDirectory(prefix="tower-mix-") as tmp:
        graph = Path(tmp) / "graph.txt"
        graph.write_text(mix_graph(timeline, placed, music_inputs, voice_inputs, cfg))
        premix = Path(tmp) / "premix.wav"
        # long graphs go through a file: the command line stays short whatever the episode size
        ffmpeg([*inputs, "-filter_complex_script", graph, "-map", "[out]", "-c:a", "pcm_f32le", premix],
               "premix", log)
        target = loudnorm_target(cfg)
        m = measure_loudnorm(premix, target, log)
        pass2 = (f"loudnorm={target}:measured_I={m['input_i']}:measured_TP={m['input_tp']}:"
                 f"measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}:"
                 f"offset={m['target_offset']}:linear=true:print_format=summary,"
                 # loudnorm works at 192 kHz internally; come back to 48 kHz and the exact length
                 f"aresample=48000,aformat=channel_layouts=stereo,apad,atrim=end_sample={total_samples}")
        with atomic_path(out_wav) as part:
            ffmpeg(["-i", premix, "-af", pass2, "-ar", "48000", "-c:a", "pcm_s16le", part],
                   "loudness normalisation (pass 2)", log)
