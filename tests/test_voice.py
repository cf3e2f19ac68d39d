"""Offline voices: real speech from piper and espeak-ng, pitch that tells characters apart."""

import wave

import numpy as np
import pytest

from tower_anime.audio.voice import synthesize_line, wav_seconds
from tower_anime.errors import MediaError


def spec(engine, pitch=0, speed=1.0, text="Nexus Corp is hiding something.", line="l1"):
    return {
        "line": line,
        "text": text,
        "voice": {"engine": engine, "pitch": pitch, "speed": speed, "espeak_voice": "en-us"},
    }


def samples(path):
    with wave.open(str(path)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (48000, 1, 2)
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768


def centroid_hz(x):
    """Spectral centroid: rubberband shifts pitch and formants together, so it follows the pitch."""
    mag = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    return float((mag * freqs).sum() / mag.sum())


@pytest.mark.parametrize("engine", ["piper", "espeak"])
def test_engines_speak_at_48k_without_silence_padding(tmp_path, engine):
    out = tmp_path / "line.wav"
    synthesize_line(spec(engine), out)
    x = samples(out)
    assert 1.0 < wav_seconds(out) < 5.0
    assert np.sqrt(np.mean(x**2)) > 0.02  # real speech, not silence
    assert np.abs(x[:240]).max() > 0.001 or np.abs(x[:2400]).max() > 0.01  # starts promptly
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_pitch_setting_moves_the_voice(tmp_path):
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    synthesize_line(spec("piper", pitch=-4), low)
    synthesize_line(spec("piper", pitch=4), high)
    ratio = centroid_hz(samples(high)) / centroid_hz(samples(low))
    assert 1.3 < ratio < 1.9  # 8 semitones = 1.59x; measured 1.53


def test_speed_setting_changes_the_length(tmp_path):
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    synthesize_line(spec("espeak", speed=0.7), slow)
    synthesize_line(spec("espeak", speed=1.4), fast)
    assert wav_seconds(slow) > 1.5 * wav_seconds(fast)


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(MediaError, match="unknown voice engine 'festival' for line l1"):
        synthesize_line(spec("festival"), tmp_path / "x.wav")


def test_piper_speaks_the_same_bytes_with_its_optimized_model_cached_or_not(tmp_path, monkeypatch):
    from tower_anime.audio.voice import onnx_cache_dir, synth_piper

    spoken = {}
    # a file where the cache folder should be: no cache, the model is optimized as it loads
    (tmp_path / "blocked").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
    synth_piper("Nexus Corp is hiding something.", tmp_path / "uncached.wav", 1.1)
    spoken["uncached"] = (tmp_path / "uncached.wav").read_bytes()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for run in ("writes the cache", "reads the cache"):
        synth_piper("Nexus Corp is hiding something.", tmp_path / "out.wav", 1.1)
        spoken[run] = (tmp_path / "out.wav").read_bytes()
    assert [p.suffix for p in onnx_cache_dir().iterdir()] == [".onnx"]  # one model, no temporary left
    assert spoken["writes the cache"] == spoken["uncached"]
    assert spoken["reads the cache"] == spoken["uncached"]


@pytest.mark.parametrize("engine", ["piper", "espeak"])
@pytest.mark.parametrize("marked", ["We made it 🙂", "*sigh* We made it", "♪ We made it ♪", "We~ made it → "])
def test_marks_a_voice_would_name_are_not_spoken(tmp_path, engine, marked):
    # Piper said "slightly smiling face", "asterisk", "tilde", "right arrow" and a code
    # point's number for ♪; the line is spoken as its words (its subtitles keep the marks)
    plain, with_marks = tmp_path / "plain.wav", tmp_path / "marked.wav"
    synthesize_line(spec(engine, text=marked.replace("sigh", "").replace("*", "")), plain)
    synthesize_line(spec(engine, text=marked), with_marks)
    if "sigh" in marked:  # "sigh" is a word: it is said, the asterisks are not
        synthesize_line(spec(engine, text="sigh We made it"), plain)
    assert plain.read_bytes() == with_marks.read_bytes()


def test_a_line_piper_finds_nothing_to_say_in_is_one_clear_error(tmp_path):
    with pytest.raises(MediaError, match="Piper found nothing to say in '...'"):
        synthesize_line(spec("piper", text="..."), tmp_path / "line.wav")
    assert list(tmp_path.iterdir()) == []
