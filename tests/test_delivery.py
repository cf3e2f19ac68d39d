"""Delivery profiles against real FFmpeg: the mix and its stems, normalised in two passes, then
measured with FFmpeg's ebur128 meter against each profile's tolerances."""

import json
import subprocess

import numpy as np
import pytest

from tower_anime.audio.delivery import reference, resolve_profile
from tower_anime.audio.mix import mix_episode
from tower_anime.config import validate_config
from tower_anime.fsutil import sha256_file
from tower_anime.media import ffmpeg, loudness, loudness_meter, probe
from tower_anime.qc.episode import loudness_checks

SECONDS = 12
TIMELINE = {
    "episode": "t",
    "fps": 24,
    "total_frames": SECONDS * 24,
    "scenes": [{"scene": "a", "start_frame": 0, "frames": SECONDS * 24}],
}


def speech(path, text, volume=1.0):
    """Real speech (espeak-ng) as a 48 kHz mono line, as the voice stage delivers it."""
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(raw), text], check=True, capture_output=True)
    ffmpeg(
        ["-i", str(raw), "-af", f"volume={volume},aresample=48000", "-ac", "1", "-c:a", "pcm_s16le", str(path)],
        "speech",
    )


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """Music: pink noise with a loud click every second (peaks); dialogue: two spoken lines."""
    d = tmp_path_factory.mktemp("delivery")
    music = d / "music.wav"
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:amplitude=0.25:duration={SECONDS}:sample_rate=48000:seed=7",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='0.98*sin(2*PI*3000*t)*lt(mod(t,1),0.01)':d={SECONDS}:s=48000",
            "-filter_complex",
            "[0][1]amix=inputs=2:normalize=0",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(music),
        ],
        "music",
    )
    lines = {"l1": d / "l1.wav", "l2": d / "l2.wav"}
    speech(lines["l1"], "The drive is in the lab. Nobody knows but us.")
    speech(lines["l2"], "Then we go tonight, before the drones come back.")
    return d, music, lines


def placed_for(lines, starts=(1.0, 5.0)):
    from tower_anime.audio.voice import wav_seconds

    out = []
    for (line, path), start in zip(lines.items(), starts):
        out.append({"line": line, "start": start, "end": round(start + wav_seconds(path), 3), "tempo": 1.0})
    return out


def mix_with(material, tmp_path, profile, placed=None, **loud):
    d, music, lines = material
    cfg = validate_config({"loudness": {"profile": profile, **loud}})
    placed = placed_for(lines) if placed is None else placed
    out = tmp_path / "mix.wav"
    stems = {"dialogue": tmp_path / "dialogue.wav", "music": tmp_path / "music.wav"}
    record = mix_episode(
        TIMELINE,
        placed,
        {"a": music},
        {k: str(v) for k, v in lines.items()},
        out,
        cfg,
        stems=stems,
        record=tmp_path / "mix.json",
    )
    return cfg, out, stems, record


def samples(path):
    raw = path.with_suffix(".f32")
    ffmpeg(["-i", str(path), "-f", "f32le", "-ac", "2", str(raw)], "decode")
    return np.fromfile(raw, dtype="<f4")


def test_ebu_r128_programme_within_one_lu_and_peaks_under_minus_one(material, tmp_path):
    cfg, out, stems, record = mix_with(material, tmp_path, "ebu-r128")
    measured = loudness(out)
    assert abs(measured["integrated_lufs"] - (-23)) <= 1.0, measured
    assert measured["true_peak_dbtp"] <= -1.0, measured
    assert record["reference"] == "programme" and json.loads((tmp_path / "mix.json").read_text()) == record
    # what the last pass measured, by content (the episode's gate reuses the stem's loudness
    # only while the stem still has these bytes), and that measure is the file's own
    assert record["sha256"] == {"mix": sha256_file(out), **{k: sha256_file(v) for k, v in stems.items()}}
    assert record["result"]["dialogue"] == loudness(stems["dialogue"]) and record["meter"] == loudness_meter()
    for path in (out, *stems.values()):  # 48 kHz 24-bit stereo, exactly the episode's length
        s = probe(path)["streams"][0]
        assert (s["codec_name"], s["sample_rate"], s["channels"], int(s["duration_ts"])) == (
            "pcm_s24le",
            "48000",
            2,
            SECONDS * 48000,
        )


def test_streaming_measures_the_dialogue_stem(material, tmp_path):
    cfg, out, stems, record = mix_with(material, tmp_path, "streaming")
    dialogue = loudness(stems["dialogue"])
    assert abs(dialogue["integrated_lufs"] - (-27)) <= 2.0, dialogue
    assert abs(dialogue["integrated_lufs"] - (-27)) <= 0.3, dialogue  # two passes land on the target
    programme = loudness(out)
    assert programme["true_peak_dbtp"] <= -2.0, programme
    assert programme["loudness_range_lu"] is not None
    assert record["reference"] == "dialogue" and record["profile"]["name"] == "streaming"


def test_stems_add_up_to_the_mix_when_no_limiting_is_needed(material, tmp_path):
    cfg, out, stems, record = mix_with(material, tmp_path, "default", integrated_lufs=-30)
    assert record["passes"][-1]["limiter_dbtp"] is None
    mix, d, m = samples(out), samples(stems["dialogue"]), samples(stems["music"])
    assert np.abs(d).max() > 0.01 and np.abs(m).max() > 0.01
    assert np.abs(mix - (d + m)).max() < 1e-4


def test_the_limiter_holds_the_ceiling_when_the_gain_would_not(material, tmp_path):
    d, music, lines = material
    quiet = {k: d / f"quiet_{k}.wav" for k in lines}
    for k, path in lines.items():  # dialogue 20 dB under the music: streaming lifts it a lot
        ffmpeg(["-i", str(path), "-af", "volume=0.1", "-c:a", "pcm_s16le", str(quiet[k])], "quiet")
    cfg = validate_config({"loudness": {"profile": "streaming"}})
    out = tmp_path / "mix.wav"
    stems = {"dialogue": tmp_path / "dialogue.wav", "music": tmp_path / "music.wav"}
    record = mix_episode(
        TIMELINE, placed_for(quiet), {"a": music}, {k: str(v) for k, v in quiet.items()}, out, cfg, stems=stems
    )
    assert record["passes"][-1]["limiter_dbtp"] == pytest.approx(-2.5)
    assert loudness(out)["true_peak_dbtp"] <= -2.0
    assert abs(loudness(stems["dialogue"])["integrated_lufs"] - (-27)) <= 2.0


def test_the_limiter_catches_peaks_between_the_samples(material, tmp_path):
    """Clicks of 12 kHz (a quarter of the rate) at 45 degrees: every sample is 3 dB under the
    wave's true peak. A limiter at 48 kHz holds the samples at the ceiling and lets the true
    peak through (measured +0.6 dBTP); at 4x it holds the true peak (-2.4 dBTP)."""
    _, _, lines = material
    music = tmp_path / "clicks.wav"
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:amplitude=0.25:duration={SECONDS}:sample_rate=48000:seed=7",
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='0.98*sin(2*PI*12000*t+PI/4)*lt(mod(t,1),0.01)':d={SECONDS}:s=48000",
            "-filter_complex",
            "[0][1]amix=inputs=2:normalize=0",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(music),
        ],
        "music with inter-sample peaks",
    )
    quiet = {k: tmp_path / f"quiet_{k}.wav" for k in lines}
    for k, path in lines.items():  # dialogue 20 dB down: streaming lifts the mix into the limiter
        ffmpeg(["-i", str(path), "-af", "volume=0.1", "-c:a", "pcm_s16le", str(quiet[k])], "quiet")
    cfg = validate_config({"loudness": {"profile": "streaming"}})
    out = tmp_path / "mix.wav"
    record = mix_episode(TIMELINE, placed_for(quiet), {"a": music}, {k: str(v) for k, v in quiet.items()}, out, cfg)
    assert record["passes"][-1]["limiter_dbtp"] == pytest.approx(-2.5)
    assert loudness(out)["true_peak_dbtp"] <= -2.0


def test_little_dialogue_falls_back_to_the_programme(material, tmp_path):
    d, music, lines = material
    short = d / "short.wav"
    speech(short, "Go.")
    cfg = validate_config({"loudness": {"profile": "streaming"}})
    out = tmp_path / "mix.wav"
    record = mix_episode(TIMELINE, placed_for({"l1": short}), {"a": music}, {"l1": str(short)}, out, cfg)
    assert record["dialogue_share"] < 0.15 and record["reference"] == "programme"
    assert abs(loudness(out)["integrated_lufs"] - (-24)) <= 2.0


def test_profiles_and_checks():
    cfg = validate_config({"loudness": {"profile": "streaming"}})
    prof = resolve_profile(cfg)
    assert (prof["integrated_lufs"], prof["tolerance_lu"], prof["true_peak_dbtp"]) == (-27, 2, -2)
    assert reference(prof, 0.4) == ("dialogue", -27) and reference(prof, 0.1) == ("programme", -24)
    good = loudness_checks(
        prof,
        0.4,
        {"integrated_lufs": -20.0, "true_peak_dbtp": -2.4},
        {"integrated_lufs": -26.1, "true_peak_dbtp": -9.0},
    )
    assert [(c["metric"], c["pass"]) for c in good] == [("dialogue_loudness_off_target", True), ("true_peak", True)]
    bad = loudness_checks(
        resolve_profile(validate_config({"loudness": {"profile": "ebu-r128"}})),
        0.4,
        {"integrated_lufs": -24.5, "true_peak_dbtp": -0.5},
    )
    assert [(c["metric"], c["value"], c["pass"]) for c in bad] == [
        ("loudness_off_target", 1.5, False),
        ("true_peak", -0.5, False),
    ]
    default = resolve_profile(validate_config({}))
    assert (default["name"], default["integrated_lufs"], default["true_peak_dbtp"], default["tolerance_lu"]) == (
        "default",
        -24,
        -2,
        1.0,
    )
