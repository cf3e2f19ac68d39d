"""Voices shaped per character after any backend: pitch, tempo and timbre (formant shift and
shelves) from the character sheet, measured on real audio, the same bytes on every run."""

import hashlib
import subprocess
import wave

import numpy as np

from tower_anime.audio.voice import post_filter, shape_filters, synthesize_line, timbre_of
from tower_anime.media import chain_text

RATE = 48000


def tone(path, f0=150.0, seconds=1.5):
    """A buzz with a fixed spectral envelope (a 150 Hz pulse train through one resonance at 1 kHz)."""
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * k * f0 * t) / (1 + ((k * f0 - 1000) / 300) ** 2) for k in range(1, 60))
    pcm = (x / np.abs(x).max() * 0.5 * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(pcm.tobytes())


def shaped(src, out, voice):
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            str(src),
            "-af",
            chain_text(shape_filters(voice, RATE)),
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            "-fflags",
            "+bitexact",
            str(out),
        ],
        check=True,
    )
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64), w.getnframes() / RATE


def spectrum(x):
    x = x[len(x) // 4 : 3 * len(x) // 4]
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / RATE), mag


def f0(x, lo=100, hi=250):
    """The fundamental by autocorrelation (the strongest harmonic moves with the formants)."""
    x = x[len(x) // 4 : 3 * len(x) // 4]
    ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[: RATE // lo + 1]
    lags = np.arange(RATE // hi, RATE // lo + 1)
    return RATE / lags[np.argmax(ac[lags])]


def centroid(x):
    freqs, mag = spectrum(x)
    return float((mag * freqs).sum() / mag.sum())


def band_db(x, lo, hi):
    freqs, mag = spectrum(x)
    return 10 * np.log10((mag[(freqs >= lo) & (freqs < hi)] ** 2).sum())


def test_a_formant_shift_moves_the_resonances_and_keeps_the_pitch_and_length(tmp_path):
    tone(tmp_path / "in.wav")
    plain, n0 = shaped(tmp_path / "in.wav", tmp_path / "plain.wav", {})
    up, n1 = shaped(tmp_path / "in.wav", tmp_path / "up.wav", {"timbre": {"formant": 3}})
    down, n2 = shaped(tmp_path / "in.wav", tmp_path / "down.wav", {"timbre": {"formant": -3}})
    assert abs(f0(up) - 150) < 3 and abs(f0(down) - 150) < 3  # the pitch stays
    assert abs(n1 - n0) < 0.03 and abs(n2 - n0) < 0.03  # so does the length
    assert centroid(up) > 1.08 * centroid(plain) > 1.08 * centroid(down)


def test_pitch_tempo_and_shelves(tmp_path):
    tone(tmp_path / "in.wav")
    plain, n0 = shaped(tmp_path / "in.wav", tmp_path / "plain.wav", {})
    higher, _ = shaped(tmp_path / "in.wav", tmp_path / "p.wav", {"pitch": 4})
    assert abs(f0(higher, 150, 250) / 150 - 2 ** (4 / 12)) < 0.03
    _, n = shaped(tmp_path / "in.wav", tmp_path / "t.wav", {"tempo": 1.25})
    assert abs(n - n0 / 1.25) < 0.03
    bright, _ = shaped(tmp_path / "in.wav", tmp_path / "b.wav", {"timbre": {"brightness": 6}})
    warm, _ = shaped(tmp_path / "in.wav", tmp_path / "w.wav", {"timbre": {"warmth": 6}})
    tilt = lambda x: band_db(x, 3000, 8000) - band_db(x, 60, 250)  # noqa: E731
    assert tilt(bright) > tilt(plain) + 3 and tilt(warm) < tilt(plain) - 3
    assert np.abs(bright).max() < 32767 and np.abs(warm).max() < 32767  # boosted, not clipped


def test_the_filter_text_for_a_sheet_without_timbre_is_unchanged():
    # a character sheet from before timbre plans and renders exactly as it did
    assert chain_text(post_filter({"pitch": 4}, RATE)).startswith("rubberband=pitch=1.259921,silenceremove")
    assert shape_filters({"pitch": 0, "timbre": {}}, RATE) == []
    assert timbre_of({"voice": {"timbre": {"formant": 0, "brightness": 2, "warmth": 0}}}) == {"brightness": 2}


def test_every_character_sounds_different_through_one_voice_and_the_same_each_time(tmp_path):
    from conftest import ROOT, load_yaml

    sheet = load_yaml(ROOT / "config" / "characters.yaml")["characters"]
    digests, centroids = {}, {}
    for cid, c in sheet.items():
        voice = {
            "engine": "espeak",
            "espeak_voice": "en-us",
            "speed": 1.0,
            "pitch": c["voice"]["pitch"],
            "timbre": timbre_of(c),
        }
        spec = {"line": f"l_{cid}", "text": "Nexus Corp is hiding something.", "voice": voice}
        runs = []
        for i in range(2):
            out = tmp_path / f"{cid}{i}.wav"
            synthesize_line(spec, out)
            runs.append(hashlib.sha256(out.read_bytes()).hexdigest())
        assert runs[0] == runs[1]  # deterministic
        digests[cid] = runs[0]
        with wave.open(str(tmp_path / f"{cid}0.wav")) as w:
            centroids[cid] = centroid(np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(float))
    assert len(set(digests.values())) == 3
    assert centroids["luna"] > centroids["akira"] > centroids["viktor"]
