"""A service's cue fitted to its scene with real FFmpeg: looped with crossfades when short,
cut with a fade when long, exactly the scene's length either way."""

import numpy as np
import pytest

from tower_anime.audio.fit import fit_plan, fit_to_duration
from tower_anime.media import ffmpeg, probe

RATE = 48000


def cue(path, seconds):
    """Steady pink noise: like music, its end and its start are unrelated, so an equal-power
    crossfade keeps the level; any dip or bump after fitting is the fitter's doing."""
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:amplitude=0.3:duration={seconds}:sample_rate=44100:seed=5",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        "cue",
    )


def levels_db(path, window=0.05):
    raw = path.with_suffix(".f32")
    ffmpeg(["-i", str(path), "-ac", "1", "-f", "f32le", str(raw)], "decode")
    x = np.fromfile(raw, dtype="<f4")
    n = int(window * RATE)
    blocks = x[: len(x) // n * n].reshape(-1, n)
    return 20 * np.log10(np.sqrt((blocks**2).mean(axis=1)) + 1e-9)


def test_fit_plan():
    assert fit_plan(12.0, 10.0, 1.0) == (1, 0.0, 12.0)
    repeats, c, joined = fit_plan(3.0, 10.0, 1.0)
    assert (repeats, c) == (5, 1.0) and joined == 11.0 >= 10.0
    assert fit_plan(0.9, 4.0, 1.0)[1] == pytest.approx(0.3)  # never more than a third of the cue


def test_a_short_cue_is_looped_with_crossfades(tmp_path):
    src, out = tmp_path / "cue.wav", tmp_path / "fitted.wav"
    cue(src, 3.0)
    how = fit_to_duration(src, out, 3.0, 10.0, RATE, fade=1.5, crossfade=1.0, what="music cue t/a")
    assert how == "looped 5 times with 1.00 s crossfades"
    s = probe(out)["streams"][0]
    assert (s["sample_rate"], s["channels"], int(s["duration_ts"])) == ("48000", 2, 10 * RATE)
    db = levels_db(out, window=0.2)
    body = db[: int(8.4 / 0.2)]  # before the final fade-out
    assert body.max() - body.min() < 2.0  # the joins (around 2, 4, 6, 8 s) neither dip nor bump
    assert db[-1] < np.median(body) - 12  # it ends faded out, not cut


def test_a_long_cue_is_cut_with_a_fade(tmp_path):
    src, out = tmp_path / "cue.wav", tmp_path / "fitted.wav"
    cue(src, 9.0)
    assert (
        fit_to_duration(src, out, 9.0, 4.0, RATE, fade=1.5, crossfade=1.0, what="music cue t/a")
        == "cut from 9.00 s with a 1.33 s fade-out"
    )
    assert int(probe(out)["streams"][0]["duration_ts"]) == 4 * RATE
    db = levels_db(out, window=0.1)
    assert abs(db[5] - db[20]) < 1.0  # untouched before the fade (0.5 s vs 2.0 s)
    assert db[35] < db[5] - 4 and db[-1] < db[5] - 15  # fading from 2.67 s, silent at the end
