"""Voice and music checks on their edges, on WAVs written sample by sample: the level a
crafted square wave has, the RMS floor and the clipped share met exactly (pass) and missed by
their last digit (fail), the clip level itself, a cue exactly as long as its scene less the
tolerance, silence, and a 24-bit WAV read at its true values."""

import math
import wave

import numpy as np

from tower_anime.qc.audio import level_metrics, music_report, read_audio, voice_report

RATE = 48000
A = 3277  # the square wave's amplitude in 16-bit steps: its RMS is A / 32768


def write_wav(path, ints, rate=RATE, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints))
    return path


def square(n, clipped=0):
    """n samples of +-A, the last `clipped` of them at full scale (32767)."""
    ints = [A if k % 2 else -A for k in range(n - clipped)] + [32767] * clipped
    return np.array(ints)


def level(amplitude):
    """dBFS of an RMS of amplitude / 32768, as reported (2 decimals)."""
    return round(20 * math.log10(amplitude / 32768), 2)


def voice_cfg(min_rms, max_clipped):
    return {
        "min_rms_dbfs": min_rms,
        "max_clipped_fraction": max_clipped,
        "min_chars_per_second": 1,
        "max_chars_per_second": 100,
    }


SPEC = {"episode": "ep", "line": "sh1_l1", "text": "Go now."}


def by_metric(report):
    return {c["metric"]: c for c in report["checks"]}


def test_level_metrics_of_crafted_samples():
    assert level_metrics(np.zeros((0, 1), dtype=np.float32)) == {
        "rms_dbfs": None,
        "peak_dbfs": None,
        "clipped_fraction": None,
    }
    # half scale is 6.02 dB under full scale; one sample is enough to measure
    assert level_metrics(np.array([[0.5]])) == {"rms_dbfs": -6.02, "peak_dbfs": -6.02, "clipped_fraction": 0.0}
    # digital silence has no logarithm: it is reported as -120 dBFS
    assert level_metrics(np.zeros((100, 2))) == {"rms_dbfs": -120.0, "peak_dbfs": -120.0, "clipped_fraction": 0.0}
    # a sample exactly at the clip level (0.999) is clipped, one just under it is not
    edge = level_metrics(np.array([[0.999], [-0.999], [0.9989], [0.0]]))
    assert edge["clipped_fraction"] == 0.5


def test_the_voice_rms_floor_and_clipped_share_met_exactly_pass(tmp_path):
    # 990 samples at +-A and 10 at full scale: 1 % clipped
    ints = square(1000, clipped=10)
    path = write_wav(tmp_path / "line.wav", np.tile(ints, 48))  # 1 s
    rms = round(20 * math.log10(math.sqrt((990 * A**2 + 10 * 32767**2) / 1000) / 32768), 2)
    checks = by_metric(voice_report(path, SPEC, voice_cfg(rms, 0.01), RATE))
    assert checks["rms_dbfs"]["value"] == rms and checks["rms_dbfs"]["pass"]
    assert checks["clipped_fraction"]["value"] == 0.01 and checks["clipped_fraction"]["pass"]
    assert checks["chars_per_second"]["value"] == 5.0  # "Go now." is 5 letters in 1 s
    missed = by_metric(voice_report(path, SPEC, voice_cfg(rms + 0.01, 0.0099), RATE))
    assert not missed["rms_dbfs"]["pass"] and not missed["clipped_fraction"]["pass"]


def test_an_unreadable_voice_line_is_a_failed_report(tmp_path):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF....WAVEjunk")
    report = voice_report(junk, SPEC, voice_cfg(-40, 0.01), RATE)
    assert [(c["metric"], c["pass"]) for c in report["checks"]] == [("decodes", False)]
    assert not report["pass"]


def music_cfg(min_rms, max_clipped):
    return {"length_tolerance_seconds": 0.5, "min_rms_dbfs": min_rms, "max_clipped_fraction": max_clipped}


def test_a_cue_as_long_as_its_scene_less_the_tolerance_passes(tmp_path):
    spec = {"episode": "ep", "scene": "market", "duration": 2.0, "sample_rate": RATE}
    cfg = music_cfg(level(A), 0.0)
    exact = write_wav(tmp_path / "exact.wav", square(72000))  # 1.5 s: 2.0 s less 0.5 s
    checks = by_metric(music_report(exact, spec, cfg))
    assert (checks["seconds"]["value"], checks["seconds"]["threshold"], checks["seconds"]["pass"]) == (1.5, 1.5, True)
    assert checks["rms_dbfs"]["value"] == level(A) and checks["rms_dbfs"]["pass"]
    assert checks["clipped_fraction"]["value"] == 0.0 and checks["clipped_fraction"]["pass"]
    short = write_wav(tmp_path / "short.wav", square(71952))  # 1 ms less
    assert {c["metric"] for c in music_report(short, spec, cfg)["checks"] if not c["pass"]} == {"seconds"}


def test_music_rms_floor_and_clipped_share_edges(tmp_path):
    spec = {"episode": "ep", "scene": "market", "duration": 1.0, "sample_rate": RATE}
    path = write_wav(tmp_path / "cue.wav", np.tile(square(1000, clipped=10), 48))
    rms = round(20 * math.log10(math.sqrt((990 * A**2 + 10 * 32767**2) / 1000) / 32768), 2)
    assert music_report(path, spec, music_cfg(rms, 0.01))["pass"]
    failed = {c["metric"] for c in music_report(path, spec, music_cfg(rms + 0.01, 0.0099))["checks"] if not c["pass"]}
    assert failed == {"rms_dbfs", "clipped_fraction"}


def test_a_24_bit_wav_is_read_at_its_true_values(tmp_path):
    # half, minus half, zero and a quarter of full scale, as 24-bit samples at 22.05 kHz
    path = write_wav(tmp_path / "deep.wav", [1 << 22, -(1 << 22), 0, 1 << 21] * 100, rate=22050, width=3)
    samples, rate = read_audio(path)
    assert rate == 22050 and samples.shape == (400, 1)
    assert samples[:4, 0].tolist() == [0.5, -0.5, 0.0, 0.25]
