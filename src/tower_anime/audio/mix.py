"""The episode's sound, delivery grade: scene cues as a music bed, dialogue placed on the
timeline, the music ducked under speech (sidechain), stems kept beside the mix, and two-pass
loudness normalisation to the delivery profile (see delivery.py).

Pass 1 measures the premix and the dialogue stem with FFmpeg's ebur128 meter. Pass 2 applies
one linear gain to the mix and to each stem, so the stems still add up to the mix, and puts a
true-peak limiter (4x oversampled) on the mix only when the gain would push its peaks past the
ceiling. FFmpeg's loudnorm is not used: its linear mode quietly turns into dynamic processing
when the peaks do not allow the gain, which would pump the dialogue and break the stems' sum.

"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any, TextIO

from .. import verify_output
from ..errors import MediaError
from ..fsutil import atomic_paths, sha256_file, write_json_atomic
from ..media import (
    PCM,
    Filter,
    Stream,
    chain,
    ffmpeg,
    fx,
    generate,
    graph,
    join,
    loudness,
    loudness_meter,
    output,
    outputs,
    source,
    split,
    with_script,
)
from .delivery import reference, resolve_profile

OVERSAMPLE = 4  # the limiter runs at 192 kHz so that it sees inter-sample peaks
CORRECTION_LU = 0.2  # EBU R128 s1 QC tolerance: a pass 2 further off than this is redone once
STEMS = ("dialogue", "music")


def _stereo(rate: int) -> list[Filter]:
    return [fx("aresample", rate), fx("aformat", sample_fmts="fltp", channel_layouts="stereo")]


def mix_graph(timeline: dict, placed: list, music: dict, voices: dict, cfg: dict) -> tuple[Stream, Stream, Stream]:
    """(premix, dialogue stem, music stem) streams from the music cues (by scene) and the
    voice lines (by line), as ffmpeg-python streams of their inputs."""
    fps = timeline["fps"]
    rate = cfg["output"]["sample_rate"]
    samples = round(timeline["total_frames"] * rate / fps)
    music_cfg, duck = cfg["music"], cfg["mix"]
    fade = music_cfg["scene_fade"]
    exact = [fx("apad"), fx("atrim", end_sample=samples)]
    beds = []
    for scene in timeline["scenes"]:
        start = scene["start_frame"] / fps
        dur = scene["frames"] / fps
        f = min(fade, dur / 4)
        beds.append(
            chain(
                music[scene["scene"]],
                [
                    *_stereo(rate),
                    fx("atrim", 0, f"{dur:.4f}"),
                    fx("volume", f"{music_cfg['bed_level_db']}dB"),
                    fx("afade", t="in", d=f"{f:.3f}"),
                    fx("afade", t="out", st=f"{dur - f:.4f}", d=f"{f:.3f}"),
                    fx("adelay", round(start * 1000), all=1),
                ],
            )
        )
    bed = chain(join(beds, "amix", inputs=len(beds), normalize=0), exact)
    if not placed:
        silence = chain(generate("anullsrc", r=rate, cl="stereo"), [fx("atrim", end_sample=samples)])
        out, mstem = split(bed, 2)
        return out, silence, mstem
    lines = []
    for cue in placed:
        # a line fitted to its slot (voice.grow_shots) is sped up; atempo keeps the pitch
        tempo = [fx("atempo", f"{cue['tempo']:.4f}")] if cue.get("tempo", 1.0) > 1.0 else []
        delay = fx("adelay", round(cue["start"] * 1000), all=1)
        lines.append(chain(voices[cue["line"]], [*tempo, *_stereo(rate), delay]))
    dkey, dmix, dstem = split(chain(join(lines, "amix", inputs=len(lines), normalize=0), exact), 3)
    ducked = join(
        [bed, dkey],
        "sidechaincompress",
        threshold=duck["duck_threshold"],
        ratio=duck["duck_ratio"],
        attack=duck["duck_attack_ms"],
        release=duck["duck_release_ms"],
    )
    ducked, mstem = split(ducked, 2)
    return join([ducked, dmix], "amix", inputs=2, normalize=0), dstem, mstem


def premix_args(
    timeline: dict,
    placed: list,
    music_paths: dict,
    voice_paths: dict,
    cfg: dict,
    premix: Path | str,
    dialogue: Path | str,
    music: Path | str,
) -> list[str]:
    """FFmpeg arguments writing the premix and the two raw stems (32-bit float WAVs)."""
    sources = {s["scene"]: source(music_paths[s["scene"]]).audio for s in timeline["scenes"]}
    voices = {cue["line"]: source(voice_paths[cue["line"]]).audio for cue in placed}
    streams = mix_graph(timeline, placed, sources, voices, cfg)
    return graph(
        outputs(
            *(output(stream, path, **{"c:a": "pcm_f32le"}) for stream, path in zip(streams, (premix, dialogue, music)))
        )
    )


def pass2_args(
    premix: Path | str,
    stems_in: dict,
    parts: list,
    gain_db: float,
    limit_dbtp: float | None,
    samples: int,
    output_cfg: dict,
) -> list[str]:
    """FFmpeg arguments for pass 2: the gain on the mix and the stems, the limiter on the mix
    only, each cut to `samples`; parts: the mix's, the dialogue's and the music's files."""
    exact = [fx("apad"), fx("atrim", end_sample=samples)]
    gain = fx("volume", f"{gain_db:.3f}dB")
    mix = [gain]
    if limit_dbtp is not None:
        rate = output_cfg["sample_rate"]
        mix += [
            fx("aresample", rate * OVERSAMPLE),
            fx("alimiter", limit=f"{10 ** (limit_dbtp / 20):.5f}", attack=5, release=50, level="false", latency="true"),
            fx("aresample", rate),
        ]
    streams = [chain(source(premix).audio, [*mix, *exact])]
    streams += [chain(source(stems_in[name]).audio, [gain, *exact]) for name in STEMS]
    # the delivery format for a mix and its stems (config output: rate, bit depth)
    fmt = {"ar": output_cfg["sample_rate"], "c:a": PCM[output_cfg["audio_bit_depth"]]}
    return graph(outputs(*(output(stream, part, **fmt) for stream, part in zip(streams, parts))))


def _pass2(premix, stems_in, out_wav, stems_out, gain_db, limit_dbtp, samples, output, log):
    """Gain on the mix and the stems, the limiter on the mix only; every output written atomically."""
    # all three checked complete before any takes its real name
    with atomic_paths(
        [out_wav, stems_out["dialogue"], stems_out["music"]], check=lambda p: verify_output.wav(p, samples)
    ) as parts:
        ffmpeg(
            pass2_args(premix, stems_in, list(parts), gain_db, limit_dbtp, samples, output),
            "loudness normalisation (pass 2)",
            log,
        )


def mix_episode(
    timeline: dict,
    placed: list[dict],
    music_paths: dict,
    voice_paths: dict,
    out_wav: Path | str,
    cfg: dict,
    log: TextIO | None = None,
    stems: dict[str, Path | str] | None = None,
    record: Path | str | None = None,
) -> dict[str, Any]:
    """Render the ducked mix of exactly the episode's length, its stems, normalised to the profile.

    stems: {"dialogue": path, "music": path} to keep (48 kHz 24-bit WAVs); record: a JSON path
    for what was measured and done. Returns the record.
    """
    total = timeline["total_frames"] / timeline["fps"]
    samples = round(total * cfg["output"]["sample_rate"])
    profile = resolve_profile(cfg)
    share = round(sum(c["end"] - c["start"] for c in placed) / total, 4) if total else 0.0
    what, target = reference(profile, share)
    ceiling = profile["true_peak_dbtp"] - cfg["loudness"]["codec_headroom_db"]
    with tempfile.TemporaryDirectory(prefix="tower-mix-") as tmp:
        tmp = Path(tmp)
        stems = stems or {name: tmp / f"{name}.wav" for name in STEMS}
        premix = tmp / "premix.wav"
        raw = {name: tmp / f"{name}.raw.wav" for name in STEMS}
        args = premix_args(timeline, placed, music_paths, voice_paths, cfg, premix, raw["dialogue"], raw["music"])
        # long graphs go through a file: the command line stays short whatever the episode size
        ffmpeg(with_script(args, tmp / "graph.txt"), "premix", log)
        before = {"programme": loudness(premix), "dialogue": loudness(raw["dialogue"])}
        measured = before[what]["integrated_lufs"]
        if not math.isfinite(measured) or measured <= -69.9:
            raise MediaError(
                f"the {what} of episode {timeline['episode']} is silent ({measured} LUFS); nothing to normalise"
            )
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
        # the files the last pass measured, by content: the episode's gate takes the dialogue
        # stem's loudness from the record only while the stem is still these bytes
        measured_files = {"mix": sha256_file(out_wav), **{name: sha256_file(path) for name, path in stems.items()}}
    result = {
        "episode": timeline["episode"],
        "profile": profile,
        "reference": what,
        "target_lufs": target,
        "ceiling_dbtp": round(ceiling, 2),
        "dialogue_share": share,
        "premix": before,
        "passes": passes,
        "result": passes[-1]["measured"],
        "sha256": measured_files,
        "meter": loudness_meter(),
    }
    if log is not None:
        print(
            f"loudness: {what} {before[what]['integrated_lufs']} -> "
            f"{result['result'][what]['integrated_lufs']} LUFS (target {target}, profile {profile['name']}), "
            f"gain {passes[-1]['gain_db']} dB, limiter {'on' if passes[-1]['limiter_dbtp'] is not None else 'off'}",
            file=log,
            flush=True,
        )
    if record:
        write_json_atomic(record, result)
    return result
