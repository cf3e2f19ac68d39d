"""The mix against real FFmpeg: music dips under dialogue, the target loudness is reached,
and the mix is exactly the episode's length."""

import numpy as np
import pytest

from tower_anime.audio.mix import mix_episode
from tower_anime.config import validate_config
from tower_anime.media import ffmpeg, loudness, probe


def tone(path, freq, seconds, volume=0.3):
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}:sample_rate=48000",
            "-af",
            f"volume={volume}",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        "tone",
    )


def rms_db(path, freq, start, end, tmp_path):
    """Level (dB) of one frequency band in a time window: isolates the music from the voice."""
    out = tmp_path / f"band_{freq}_{start}.raw"
    ffmpeg(
        [
            "-i",
            str(path),
            "-af",
            f"atrim={start}:{end},bandpass=f={freq}:width_type=q:width=8",
            "-ac",
            "1",
            "-f",
            "f32le",
            str(out),
        ],
        "band",
    )
    x = np.fromfile(out, dtype=np.float32)
    return 20 * np.log10(np.sqrt(np.mean(x**2)) + 1e-12)


@pytest.fixture
def inputs(tmp_path):
    music = tmp_path / "music.wav"
    tone(music, 1000, 8.0, volume=0.5)  # the "music": a steady 1 kHz tone
    voice = tmp_path / "voice.wav"
    tone(voice, 250, 2.0, volume=0.6)  # the "dialogue": 2 s of 250 Hz from t = 4 s
    return music, voice


def test_music_ducks_under_dialogue_and_loudness_hits_target(tmp_path, inputs):
    music, voice = inputs
    cfg = validate_config({})
    timeline = {
        "episode": "t",
        "fps": 24,
        "total_frames": 192,
        "scenes": [{"scene": "a", "start_frame": 0, "frames": 192}],
    }
    placed = [{"line": "l1", "start": 4.0, "end": 6.0}]
    out = tmp_path / "mix.wav"
    mix_episode(timeline, placed, {"a": music}, {"l1": voice}, out, cfg)

    before = rms_db(out, 1000, 1.5, 3.5, tmp_path)
    during = rms_db(out, 1000, 4.5, 5.8, tmp_path)
    assert before - during > 6, (before, during)  # the music dips under speech

    stream = probe(out)["streams"][0]  # 24-bit WAV (WAVE_FORMAT_EXTENSIBLE: Python's wave can't read it)
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == ("pcm_s24le", "48000", 2)
    assert int(stream["duration_ts"]) == 8 * 48000  # exactly the timeline's length
    measured = loudness(out)
    assert abs(measured["integrated_lufs"] - cfg["loudness"]["integrated_lufs"]) <= 1.0, measured
    assert measured["true_peak_dbtp"] <= cfg["loudness"]["true_peak_dbtp"], measured


def test_without_dialogue_the_music_is_not_ducked(tmp_path, inputs):
    music, _ = inputs
    cfg = validate_config({})
    timeline = {
        "episode": "t",
        "fps": 24,
        "total_frames": 192,
        "scenes": [{"scene": "a", "start_frame": 0, "frames": 192}],
    }
    out = tmp_path / "mix.wav"
    mix_episode(timeline, [], {"a": music}, {}, out, cfg)
    assert abs(rms_db(out, 1000, 1.5, 3.5, tmp_path) - rms_db(out, 1000, 4.5, 5.8, tmp_path)) < 1.0
