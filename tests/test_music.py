"""Tests for the temp-music backend: mood mapping, composition, FluidSynth rendering."""

import io
import wave

import mido
import numpy as np
import pytest

from tower_anime.audio import music
from tower_anime.errors import MediaError

FLUID_R3 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
TIM_GM = "/usr/share/sounds/sf2/TimGM6mb.sf2"  # small: fast to load in tests


def make_spec(**overrides):
    spec = {
        "episode": "ep01",
        "scene": "sc01",
        "mood": "tense",
        "cue": "chase through the market",
        "duration": 24.5,
        "seed": 77,
        "sample_rate": 48000,
    }
    spec.update(overrides)
    return spec


def midi_bytes(midi):
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def tempo_bpm(midi):
    tempos = [m.tempo for m in midi.tracks[0] if m.type == "set_tempo"]
    assert len(tempos) == 1
    return mido.tempo2bpm(tempos[0])


def notes_by_channel(midi):
    """{channel: [note numbers of note_on events]}"""
    out = {}
    for track in midi.tracks:
        for msg in track:
            if msg.type == "note_on" and msg.velocity > 0:
                out.setdefault(msg.channel, []).append(msg.note)
    return out


def read_wav(path):
    with wave.open(str(path), "rb") as w:
        params = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
        frames = w.readframes(w.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float64) / 32768
    return params, samples


# ---------------------------------------------------------------- moods


@pytest.mark.parametrize(
    "text, mood",
    [
        ("tense", "tense"),
        ("Calm", "calm"),
        ("a melancholy farewell", "melancholy"),
        ("TRIUMPHANT!", "triumphant"),
        ("mysterious fog", "mysterious"),
        ("action", "action"),
        ("romantic", "romantic"),
        ("ominous", "ominous"),
        ("hopeful", "hopeful"),
        ("neutral", "neutral"),
        ("sad, quiet rain", "melancholy"),  # first keyword wins
        ("rising tension", "tense"),  # stem match
        ("a hopeless dawn", "melancholy"),  # whole word beats the "hope*" stem
        ("the big battle", "action"),
        ("darkness falls", "ominous"),
    ],
)
def test_mood_profile_maps_keywords(text, mood):
    assert music.mood_profile(text)["name"] == mood


@pytest.mark.parametrize("text", ["purple", "", None, "windy winter window"])
def test_mood_profile_unknown_is_neutral(text):
    profile = music.mood_profile(text)
    assert profile["name"] == "neutral"
    assert profile["tempo"] == music.MOODS["neutral"]["tempo"]


def test_mood_profile_returns_a_copy():
    music.mood_profile("calm")["tempo"] = 999
    assert music.MOODS["calm"]["tempo"] != 999


def test_moods_are_complete_and_distinct_in_tempo():
    required = {
        "tempo",
        "mode",
        "pad",
        "bass",
        "lead",
        "drums",
        "density",
        "lead_style",
        "bass_style",
        "progressions",
        "level_db",
    }
    for name, profile in music.MOODS.items():
        assert required <= set(profile), name
        assert profile["mode"] in music.SCALES
        assert all(0 <= profile[k] <= 127 for k in ("pad", "bass", "lead"))
        assert profile["drums"] is None or profile["drums"] in music.DRUM_PATTERNS
        for progression in profile["progressions"]:
            assert all(chord in music.CHORDS for chord in progression.split())
    tempos = [p["tempo"] for p in music.MOODS.values()]
    assert len(set(tempos)) == len(tempos)


# ---------------------------------------------------------------- composition


def test_compose_is_deterministic_and_seeded():
    first = midi_bytes(music.compose_cue(make_spec()))
    assert first == midi_bytes(music.compose_cue(make_spec()))
    assert first != midi_bytes(music.compose_cue(make_spec(seed=78)))


def test_compose_ignores_unrelated_keys():
    plain = midi_bytes(music.compose_cue(make_spec()))
    assert plain == midi_bytes(music.compose_cue(make_spec(extra={"x": 1}, shot_count=3)))


@pytest.mark.parametrize("mood", sorted(music.MOODS))
@pytest.mark.parametrize("duration", [3.0, 24.5, 120.0])
def test_compose_covers_the_duration(mood, duration):
    midi = music.compose_cue(make_spec(mood=mood, duration=duration))
    beat = 60 / music.MOODS[mood]["tempo"]
    # at least the duration, and not more than a bar beyond it
    assert duration <= midi.length <= duration + 4 * beat + 1e-6


def test_different_moods_give_different_tempo():
    calm = music.compose_cue(make_spec(mood="calm"))
    action = music.compose_cue(make_spec(mood="action"))
    assert tempo_bpm(calm) == pytest.approx(music.MOODS["calm"]["tempo"])
    assert tempo_bpm(action) == pytest.approx(music.MOODS["action"]["tempo"])
    assert tempo_bpm(action) > tempo_bpm(calm) + 30


def test_cue_text_decides_when_the_mood_is_unknown():
    spec = make_spec(mood="whatever", cue="a frantic chase")
    assert tempo_bpm(music.compose_cue(spec)) == pytest.approx(music.MOODS["action"]["tempo"])
    spec = make_spec(mood="calm", cue="a frantic chase")  # a known mood wins over the cue text
    assert tempo_bpm(music.compose_cue(spec)) == pytest.approx(music.MOODS["calm"]["tempo"])


def test_arrangement_parts_and_drums_only_for_energetic_moods():
    action = notes_by_channel(music.compose_cue(make_spec(mood="action")))
    calm = notes_by_channel(music.compose_cue(make_spec(mood="calm")))
    assert {music.PAD, music.BASS, music.LEAD, music.DRUMS} <= set(action)
    assert music.DRUMS not in calm and {music.PAD, music.BASS, music.LEAD} <= set(calm)
    for channel, notes in action.items():
        if channel != music.DRUMS:
            assert all(24 <= n <= 96 for n in notes)
    assert max(action[music.BASS]) < min(action[music.LEAD])  # bass below the lead


@pytest.mark.parametrize("mood", ["romantic", "melancholy", "tense"])
def test_notes_stay_in_key(mood):
    """Pad and bass use only chord tones of the piece's progressions in its key."""
    midi = music.compose_cue(make_spec(mood=mood, duration=40))
    key = next(m.key for m in midi.tracks[0] if m.type == "key_signature")
    mode = "minor" if key.endswith("m") else "major"
    tonic = music.KEY_NAMES[mode].index(key)
    allowed = {
        (tonic + root + i) % 12
        for prog in music.MOODS[mood]["progressions"]
        for c in prog.split()
        for root, ivs in [music.CHORDS[c]]
        for i in ivs
    }
    notes = notes_by_channel(midi)
    assert {n % 12 for n in notes[music.PAD] + notes[music.BASS]} <= allowed


def test_compose_rejects_a_non_positive_duration():
    with pytest.raises(ValueError, match="duration"):
        music.compose_cue(make_spec(duration=0))


# ---------------------------------------------------------------- rendering


def assert_good_wav(path, duration, mood, rate=48000):
    (channels, width, framerate, frames), samples = read_wav(path)
    assert (channels, width, framerate) == (2, 2, rate)
    assert abs(frames / framerate - duration) <= 0.001
    rms_db = 20 * np.log10(np.sqrt(np.mean(samples**2)))
    target = music.MOODS[mood]["level_db"]  # fades make short cues a little quieter
    assert target - 3 < rms_db < target + 0.5, f"level {rms_db:.1f} dBFS, target {target}"
    peak = np.max(np.abs(samples))
    assert peak < 10 ** (-1 / 20), f"peak {20 * np.log10(peak):.1f} dBFS"  # well below 0.99


@pytest.mark.parametrize("mood, duration", [("tense", 24.5), ("calm", 3.0), ("romantic", 7.77)])
def test_render_cue_exact_length_level_and_no_leftovers(tmp_path, mood, duration):
    out = tmp_path / "music" / "sc01.wav"
    log = io.StringIO()
    music.render_cue(make_spec(mood=mood, duration=duration), out, TIM_GM, log=log)
    assert_good_wav(out, duration, mood)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sc01.wav"]
    assert "fluidsynth" in log.getvalue() and "ffmpeg" in log.getvalue()


def test_render_cue_with_fluid_r3_other_rate(tmp_path):
    out = tmp_path / "cue.wav"
    music.render_cue(make_spec(mood="action", duration=6.3, sample_rate=44100), out, FLUID_R3)
    assert_good_wav(out, 6.3, "action", rate=44100)
    assert [p.name for p in tmp_path.iterdir()] == ["cue.wav"]


def test_render_cue_fades_in_and_out(tmp_path):
    out = tmp_path / "cue.wav"
    music.render_cue(make_spec(mood="action", duration=10.0), out, TIM_GM)
    _, samples = read_wav(out)

    def rms(start, end):  # seconds -> RMS of both channels
        return np.sqrt(np.mean(samples[int(start * 48000) * 2 : int(end * 48000) * 2] ** 2))

    body = rms(1, 8)
    assert rms(0, 0.1) < 0.25 * body  # fade-in: the first 100 ms are at most 20% gain
    assert rms(9.9, 10) < 0.1 * body  # fade-out: the last 100 ms are at most ~7% gain
    assert np.max(np.abs(samples[-2 * 48 :])) < 0.01  # ends in silence, no click


def test_render_cue_missing_soundfont(tmp_path):
    with pytest.raises(MediaError, match="setup.sh"):
        music.render_cue(make_spec(), tmp_path / "x.wav", str(tmp_path / "none.sf2"))
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- soundfonts


def test_find_soundfont_prefers_the_callers_paths(tmp_path):
    sf2 = tmp_path / "mine.sf2"
    sf2.write_bytes(b"RIFF")
    assert music.find_soundfont([str(tmp_path / "missing.sf2"), str(sf2)]) == str(sf2)
    assert music.find_soundfont() == FLUID_R3


def test_find_soundfont_error_names_paths_and_fix(tmp_path, monkeypatch):
    gone = [str(tmp_path / "debian" / "FluidR3_GM.sf2")]
    monkeypatch.setattr(music, "SOUNDFONT_PATHS", gone)
    missing = str(tmp_path / "nope.sf2")
    with pytest.raises(MediaError) as err:
        music.find_soundfont([missing])
    message = str(err.value)
    assert missing in message and gone[0] in message
    assert "run bash setup.sh (installs fluid-soundfont-gm)" in message
