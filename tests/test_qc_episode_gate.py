"""The episode gate's parts on crafted input: a 2 s Matroska file made with FFmpeg (two subtitle
tracks, tagged streams, one chapter) against its track plan, a dialogue stem; packet lists
as ffprobe prints them; stream dicts and chapters as probe() returns them."""

import json
import subprocess
from types import SimpleNamespace

import numpy as np
import pytest

import tower_anime.media as media
import tower_anime.qc.episode as episode
from tower_anime.config import validate_config
from tower_anime.episode.master import set_matroska_duration
from tower_anime.fsutil import sha256_file
from tower_anime.qc.episode import (
    _chapter_checks,
    _format_checks,
    audio_end,
    episode_report,
    loudness_checks,
    stream_end,
    track_checks,
)

FPS = 24
CFG = validate_config({})
PLACED = [
    {
        "line": "l1",
        "text": "Hello there.",
        "shot": "s1",
        "start": 1.0,
        "end": 1.8,
        "voice_seconds": 0.8,
        "window": [0.0, 2.0],
        "scene_window": [0.0, 2.0],
    }
]
TRACKS = [
    {"lang": "eng", "name": "English", "default": True, "forced": False, "lines": {"l1": "Hello there."}},
    {"lang": "fra", "name": "Francais", "default": False, "forced": False, "lines": {"l1": "Bonjour."}},
]
LANGS = {"audio": "fra", "chapters": "und"}
TIMELINE = {
    "episode": "ep",
    "title": "Test",
    "fps": FPS,
    "total_frames": 48,
    "width": 64,
    "height": 64,
    "scenes": [{"scene": "a", "start_frame": 0, "title": "Scene a"}],
}


def tracks_cfg(tracks=TRACKS, langs=LANGS):
    return {**CFG, "tracks": tracks, "languages": langs}


@pytest.fixture(scope="module")
def mkv(tmp_path_factory):
    d = tmp_path_factory.mktemp("episode")
    (d / "eng.srt").write_text("1\n00:00:01,000 --> 00:00:01,900\nHello there.\n")
    (d / "fra.srt").write_text("1\n00:00:01,000 --> 00:00:01,900\nBonjour.\n")
    (d / "meta.txt").write_text(
        ";FFMETADATA1\ntitle=Test\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=2000\ntitle=Scene a\n"
    )
    out = d / "ep.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=24:d=2"]
        + ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2"]
        + ["-i", d / "eng.srt", "-i", d / "fra.srt", "-i", d / "meta.txt"]
        + ["-map", "0:v", "-map", "1:a", "-map", "2", "-map", "3", "-map_metadata", "4", "-map_chapters", "4"]
        + [
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "libopus",
            "-ac",
            "2",
            "-af",
            "volume=-2dB",
        ]
        + ["-c:s", "srt", "-metadata:s:a:0", "language=fra"]
        + ["-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English"]
        + ["-metadata:s:s:1", "language=fra", "-metadata:s:s:1", "title=Francais"]
        + ["-disposition:s:0", "default", "-disposition:s:1", "0", "-disposition:a:0", "default"]
        + ["-disposition:v:0", "default", "-avoid_negative_ts", "disabled", out],
        check=True,
    )
    set_matroska_duration(out, 2.0)
    # the dialogue stem: a voice from 0.9 to 1.8 s, silent in the last 50 ms
    stem = np.zeros(2 * 48000, dtype=np.float32)
    stem[43200:86400] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(43200) / 48000)
    stem.tofile(d / "stem.f32")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "f32le", "-ar", "48000", "-ac", "1", "-i", d / "stem.f32", d / "stem.wav"],
        check=True,
    )
    return out, d / "stem.wav"


def streams(path):
    by_type = {}
    for s in media.probe(path)["streams"]:
        by_type.setdefault(s["codec_type"], []).append(s)
    return by_type


def by_metric(checks):
    return {c["metric"]: c for c in checks}


def test_the_tracks_of_the_file_against_its_plan(mkv):
    path, _ = mkv
    checks, measured = track_checks(path, streams(path), tracks_cfg(), PLACED, FPS, 2.0)
    assert [c["metric"] for c in checks if not c["pass"]] == []
    got = by_metric(checks)
    assert [c["metric"] for c in checks[:7]] == [
        "subtitle_tracks",
        "video_default",
        "audio_default",
        "audio_language",
        "subtitle_track",
        "subtitle_language",
        "subtitle_events_for_lines",
    ]
    assert got["subtitle_track"]["value"] == {"lang": "eng", "name": "English", "default": True, "forced": False}
    assert got["subtitle_track@fra"]["value"] == {"lang": "fra", "name": "Francais", "default": False, "forced": False}
    assert got["subtitle_text[l1]@fra"]["value"] == "Bonjour." and got["subtitle_text[l1]"]["value"] == "Hello there."
    assert "subtitle_language@fra" not in got  # the language is in the track's own check
    assert (got["subtitle_tracks"]["value"], got["chapter_language"]["value"]) == (2, ["und"])
    assert measured == {"subtitle_events": 1, "subtitle_events@fra": 1}


def test_tracks_flags_and_languages_off_the_plan_fail(mkv):
    path, _ = mkv
    swapped = [{**TRACKS[0], "default": False}, {**TRACKS[1], "name": "French"}]
    checks, _ = track_checks(
        path, streams(path), tracks_cfg(swapped, {"audio": "jpn", "chapters": "eng"}), PLACED, FPS, 2.0
    )
    assert {c["metric"] for c in checks if not c["pass"]} == {
        "subtitle_track",
        "subtitle_track@fra",
        "audio_language",
        "chapter_language",
    }
    one = by_metric(track_checks(path, streams(path), tracks_cfg(TRACKS[:1]), PLACED, FPS, 2.0)[0])
    assert (one["subtitle_tracks"]["value"], one["subtitle_tracks"]["threshold"], one["subtitle_tracks"]["pass"]) == (
        2,
        1,
        False,
    )
    # a file without default flags on its picture and sound
    plain = streams(path)
    plain["video"] = [{**plain["video"][0], "disposition": {"default": 0}}]
    plain["audio"] = [{**plain["audio"][0], "disposition": {}}]
    flags = by_metric(track_checks(path, plain, tracks_cfg(), PLACED, FPS, 2.0)[0])
    assert not flags["video_default"]["pass"] and not flags["audio_default"]["pass"]


def test_chapter_languages_are_exempt_without_mkvextract(mkv, monkeypatch):
    path, _ = mkv
    monkeypatch.setattr(episode, "shutil", SimpleNamespace(which=lambda name: None))
    assert episode.chapter_languages(path) is None
    checks, _ = track_checks(path, streams(path), tracks_cfg(), PLACED, FPS, 2.0)
    assert checks[-1] == {
        "metric": "chapter_language",
        "value": None,
        "op": "==",
        "threshold": "und",
        "unit": "",
        "pass": True,
        "exempt": "mkvextract (mkvtoolnix) is not installed",
    }


def test_the_report_with_tracks_and_a_dialogue_stem(mkv):
    path, stem = mkv
    cfg = {**tracks_cfg(), "output": {**CFG["output"], "width": 64, "height": 64}}
    report = episode_report(path, TIMELINE, cfg, PLACED, dialogue_stem=stem, dialogue_share=0.4)
    got = by_metric(report["checks"])
    # the one failure: this plain mux keeps the Opus encoder's pre-skip (312 samples at 48 kHz,
    # 6.5 ms) at the start, so the sound ends that much before the picture
    assert {m for m, c in got.items() if not c["pass"]} == {"audio_end_off_picture"}
    assert got["audio_end_off_picture"]["value"] == 6.5
    for metric in (
        "speech_in_shot[s1]",
        "speech_outside_its_shots",
        "speech_cut_at_end",
        "dialogue_stem_samples_off_picture",
        "subtitle_track@fra",
        "subtitle_text[l1]@fra",
        "chapter_language",
        "width",
        "video_frames_off_script",
        "container_duration_off_picture",
        "chapters",
        "chapter_start[a]",
        "chapter_title[a]",
        "title",
    ):
        assert got[metric]["pass"], got[metric]
    assert got["speech_in_shot[s1]"]["value"] == 0.9
    assert report["measured"]["subtitle_events@fra"] == 1 and report["measured"]["speech_seconds"] == 0.9
    assert report["measured"]["video_frames"] == 48 and report["measured"]["dialogue_stem"]["integrated_lufs"] < 0
    assert "subtitle_language" in got and "subtitle_codec" in got
    assert (report["measured"]["video_end"], report["measured"]["container_duration"]) == (2.0, 2.0)


@pytest.mark.parametrize("over_ms,ok", [(1, True), (2, False), (-1, True), (-2, False), (10, False)])
def test_container_and_sound_end_within_1_ms_of_the_picture(mkv, tmp_path, monkeypatch, over_ms, ok):
    path, _ = mkv
    copy = tmp_path / "ep.mkv"
    copy.write_bytes(path.read_bytes())
    set_matroska_duration(copy, 2.0 + over_ms / 1000)
    # the sound's end as measured from its packets, put the same distance past the picture
    monkeypatch.setattr(episode, "audio_end", lambda path, rate: 2.0 + over_ms / 1000)
    cfg = {**tracks_cfg(), "output": {**CFG["output"], "width": 64, "height": 64}}
    report = episode_report(copy, TIMELINE, cfg, PLACED)
    got = by_metric(report["checks"])
    for metric in ("container_duration_off_picture", "audio_end_off_picture"):  # either side, in ms
        assert (got[metric]["value"], got[metric]["pass"]) == (float(abs(over_ms)), ok)
    assert "speech_cut_at_end" not in got  # no dialogue stem: no speech checks
    # no dialogue share given: none, and the programme is what was measured
    assert (report["delivery"]["dialogue_share"], report["delivery"]["measured_on"]) == (0.0, "programme")


def test_a_file_that_does_not_decode_is_one_failed_check(tmp_path):
    junk = tmp_path / "ep.mkv"
    junk.write_bytes(b"\x1aE\xdf\xa3 not really Matroska")
    report = episode_report(junk, TIMELINE, CFG)
    assert [(c["metric"], c["pass"]) for c in report["checks"]] == [("decodes", False)]
    assert not report["pass"] and report["file"] == str(junk)


def test_a_master_without_sound_does_not_pass_as_decoding(mkv, tmp_path):
    path, _ = mkv
    silent = tmp_path / "silent.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v", "-c", "copy", silent], check=True)
    report = episode_report(silent, TIMELINE, CFG)
    assert [(c["metric"], c["pass"]) for c in report["checks"]] == [("decodes", False)]
    assert "no audio" in report["error"]


def fake_run(monkeypatch, stdout):
    answer = lambda cmd, what: SimpleNamespace(stdout=stdout)  # noqa: E731
    monkeypatch.setattr(episode, "run", answer)
    monkeypatch.setattr(media, "run", answer)  # the packets are read through media.stream_packets


def test_stream_end_counts_packets_with_a_time(monkeypatch):
    fake_run(
        monkeypatch,
        packets(
            {"pts_time": "0.000000", "duration_time": "0.041667"},
            {},
            {"pts_time": "N/A", "duration_time": "0.041667"},  # no time: not counted
            {"pts_time": "", "duration_time": "0.041667"},
            {"pts_time": "0.041667", "duration_time": "N/A"},  # no duration: ends where it starts
            {"pts_time": "0.083333"},
            {"pts_time": "0.125000", "duration_time": ""},
            {"pts_time": "0.041667", "duration_time": "0.500000"},  # out of order, and the latest end
            {"pts_time": "0.166667", "duration_time": "0.041667"},
        ),
    )
    count, end = stream_end("x.mkv", "v:0")
    assert count == 6 and end == pytest.approx(0.541667, abs=1e-9)
    fake_run(
        monkeypatch,
        packets(
            {"pts_time": "0.200000", "duration_time": "0.041667"}, {"pts_time": "0.100000", "duration_time": "0.041667"}
        ),
    )
    assert stream_end("x.mkv", "v:0") == (2, pytest.approx(0.241667, abs=1e-9))  # ends under a second
    fake_run(monkeypatch, packets())
    assert stream_end("x.mkv", "v:0") == (0, 0.0)


def packets(*pkts):
    return json.dumps({"packets": list(pkts)})


def test_audio_end_less_the_last_packets_padding(monkeypatch):
    fake_run(
        monkeypatch,
        packets(
            {"pts_time": "0.000000", "duration_time": "0.020000"},
            {"pts_time": "N/A", "duration_time": "5.0"},
            {"duration_time": "5.0"},
            {"pts_time": "0.020000", "duration_time": "0.020000", "side_data_list": [{"discard_padding": 480}]},
        ),
    )
    assert audio_end("x.mkv", 48000) == pytest.approx(0.03, abs=1e-12)  # 0.04 s less 480 samples
    # padding counts only on the packet that ends the sound; side data without it adds nothing
    fake_run(
        monkeypatch,
        packets(
            {"pts_time": "0.020000", "duration_time": "0.020000", "side_data_list": [{"discard_padding": 480}]},
            {"pts_time": "0.000000", "duration_time": "0.020000"},
            {"pts_time": "0.040000", "side_data_list": [{"skip_samples": 312}]},
        ),
    )
    assert audio_end("x.mkv", 48000) == pytest.approx(0.04, abs=1e-12)
    # of two packets that end together, the later one's padding counts
    fake_run(
        monkeypatch,
        packets(
            {"pts_time": "0.000000", "duration_time": "0.040000"},
            {"pts_time": "0.020000", "duration_time": "0.020000", "side_data_list": [{"discard_padding": 960}]},
        ),
    )
    assert audio_end("x.mkv", 24000) == pytest.approx(0.0, abs=1e-12)
    fake_run(monkeypatch, packets())
    assert audio_end("x.mkv", 48000) == 0.0


VIDEO = {"codec_name": "h264", "pix_fmt": "yuv420p"}
AUDIO = {"codec_name": "opus", "sample_rate": "48000", "channels": 2}
SUBS = {"codec_name": "subrip", "tags": {"language": "eng"}}


def test_format_checks_name_each_difference():
    assert [c["metric"] for c in _format_checks(VIDEO, AUDIO, SUBS, CFG) if not c["pass"]] == []
    assert [c["metric"] for c in _format_checks(VIDEO, AUDIO, SUBS, CFG)][-1] == "subtitle_language"
    bad = _format_checks(
        {"codec_name": "hevc", "pix_fmt": "yuv444p"},
        {"codec_name": "aac", "sample_rate": "44100", "channels": 6},
        {"codec_name": "ass", "tags": {"language": "fra"}},
        CFG,
    )
    assert [(c["metric"], c["value"]) for c in bad if not c["pass"]] == [
        ("video_codec", "hevc"),
        ("pix_fmt", "yuv444p"),
        ("audio_codec", "aac"),
        ("audio_sample_rate", 44100),
        ("audio_channels", 6),
        ("subtitle_codec", "ass"),
        ("subtitle_language", "fra"),
    ]
    missing = _format_checks(None, None, None, CFG)
    assert all(c["value"] is None and not c["pass"] for c in missing)
    # with a track plan the subtitle language is checked per track, not here
    assert "subtitle_language" not in {c["metric"] for c in _format_checks(VIDEO, AUDIO, SUBS, tracks_cfg())}


def test_chapters_start_within_a_frame_of_their_scene():
    timeline = {
        "fps": 25,
        "scenes": [{"scene": "a", "start_frame": 0, "title": "A"}, {"scene": "b", "start_frame": 50, "title": "B"}],
    }
    on = [{"start_time": "0.000000", "tags": {"title": "A"}}, {"start_time": "2.040000", "tags": {"title": "B"}}]
    checks = by_metric(_chapter_checks(on, timeline))
    assert (checks["chapter_start[b]"]["value"], checks["chapter_start[b]"]["pass"]) == (1.0, True)  # a frame late
    early = [on[0], {"start_time": "1.920000", "tags": {"title": "B"}}]  # two frames early
    checks = by_metric(_chapter_checks(early, timeline))
    assert (checks["chapter_start[b]"]["value"], checks["chapter_start[b]"]["pass"]) == (2.0, False)
    wrong = by_metric(_chapter_checks([on[0], {"start_time": "2.0", "tags": {"title": "C"}}], timeline))
    assert [m for m, c in wrong.items() if not c["pass"]] == ["chapter_title[b]"]
    assert not by_metric(_chapter_checks(on[:1], timeline))["chapters"]["pass"]


def test_loudness_edges_and_a_missing_dialogue_measurement():
    prof = {"name": "p", "integrated_lufs": -24, "tolerance_lu": 1, "true_peak_dbtp": -2, "measure": "programme"}
    at = loudness_checks(prof, 0.0, {"integrated_lufs": -23.0, "true_peak_dbtp": -2.0})
    assert [(c["metric"], c["value"], c["pass"]) for c in at] == [
        ("loudness_off_target", 1.0, True),
        ("true_peak", -2.0, True),
    ]
    over = loudness_checks(prof, 0.0, {"integrated_lufs": -22.99, "true_peak_dbtp": -1.99})
    assert [(c["value"], c["pass"]) for c in over] == [(1.01, False), (-1.99, False)]
    dialogue = {**prof, "measure": "dialogue", "low_dialogue_share": 0.1}
    none = loudness_checks(dialogue, 0.5, {"integrated_lufs": -24.0, "true_peak_dbtp": -3.0}, None)
    assert (none[0]["metric"], none[0]["value"], none[0]["pass"]) == ("dialogue_loudness_off_target", None, False)


# --- the encoded sound's record ----------------------------------------------------------------


def test_the_sound_jobs_loudness_stands_in_only_for_the_very_same_packets(mkv, tmp_path):
    """The gate takes the programme's loudness from the sound job's record when the master's
    sound packets have the recorded digest, and measures the master itself otherwise."""
    path, _ = mkv
    cfg = {**tracks_cfg(), "output": {**CFG["output"], "width": 64, "height": 64}}
    real = episode_report(path, TIMELINE, cfg, PLACED)["measured"]
    assert real["loudness_measured_on"] == "the master"
    packets, digest = media.hashed_packets(path)
    meter = media.loudness_meter()
    # a record of these packets whose loudness is not the file's: the gate must show it used it
    recorded = {"integrated_lufs": -31.5, "true_peak_dbtp": -9.0, "loudness_range_lu": 1.0}
    record = tmp_path / "sound.json"

    def gate_with(**fields):
        record.write_text(json.dumps({"packets": digest, "loudness": recorded, "meter": meter, **fields}))
        return episode_report(path, TIMELINE, cfg, PLACED, sound_record=record)["measured"]

    used = gate_with()
    assert used["integrated_lufs"] == -31.5 and used["true_peak_dbtp"] == -9.0
    assert used["loudness_measured_on"] == "the sound job's file (the same packets)"
    # one packet's bytes differ (another sound, or the same sound re-encoded): measured again
    changed = [dict(p) for p in packets]
    changed[5]["data_hash"] = "MD5:0"
    again = gate_with(packets=media.packets_digest(changed))
    assert again["integrated_lufs"] == real["integrated_lufs"] != -31.5
    assert again["loudness_measured_on"] == "the master"
    # measured by another meter (Tower's loudness code or FFmpeg changed since): measured again
    assert gate_with(meter="another")["loudness_measured_on"] == "the master"
    # the same bytes trimmed differently at the end, or under another codec header (Opus's
    # gain and pre-skip live there), decode to other samples: another digest
    trimmed = [dict(p) for p in packets]
    trimmed[-1]["side_data_list"] = [{"discard_padding": 100}]
    assert media.packets_digest(trimmed) != media.packets_digest(packets) != media.packets_digest(packets, "MD5:1")
    # packets without hashes (an ffprobe that gave none) have no digest: nothing is reused
    bare = [{k: v for k, v in p.items() if k != "data_hash"} for p in packets]
    assert media.packets_digest(bare) is None and media.packets_digest([]) is None
    assert gate_with(packets=None)["loudness_measured_on"] == "the master"
    # a damaged or missing record is not trusted either
    record.write_text("{not json")
    assert episode_report(path, TIMELINE, cfg, PLACED, sound_record=record)["measured"]["loudness_measured_on"] == (
        "the master"
    )


def test_the_sound_record_matches_the_master_that_copies_it(tmp_path):
    """encode_sound's record describes the packets that a master copying the sound carries:
    an Ogg file and the Matroska master hold the same Opus packets, hence the same digest."""
    from tower_anime.episode.master import encode_sound, sound_args

    wav, sound, record = tmp_path / "mix.wav", tmp_path / "sound.opus", tmp_path / "sound.json"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=330:sample_rate=48000:duration=2.5"]
        + ["-ac", "2", "-c:a", "pcm_s24le", wav],
        check=True,
    )
    encode_sound(wav, sound, CFG["output"], record=record)
    saved = json.loads(record.read_text())
    assert saved["loudness"] == media.loudness(sound)
    copied = tmp_path / "copied.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", sound, "-c", "copy", copied], check=True)
    assert media.hashed_packets(copied)[1] == saved["packets"] and saved["meter"] == media.loudness_meter()
    # the mix encoded again with another bit rate is another sound
    other = tmp_path / "other.opus"
    args = sound_args(wav, other, {**CFG["output"], "audio_bitrate": "64k"})
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)
    assert media.hashed_packets(other)[1] != saved["packets"]


def test_the_mixs_stem_loudness_stands_in_only_for_the_same_stem_bytes(mkv, tmp_path):
    path, stem = mkv
    cfg = {**tracks_cfg(), "output": {**CFG["output"], "width": 64, "height": 64}}
    real = episode_report(path, TIMELINE, cfg, PLACED, dialogue_stem=stem, dialogue_share=0.4)["measured"]
    assert real["dialogue_stem_measured_on"] == "the stem"
    recorded = {"integrated_lufs": -40.0, "true_peak_dbtp": -20.0, "loudness_range_lu": 2.0}
    mix = {"sha256": {"dialogue": sha256_file(stem)}, "result": {"dialogue": recorded}, "meter": media.loudness_meter()}
    used = episode_report(path, TIMELINE, cfg, PLACED, dialogue_stem=stem, dialogue_share=0.4, mix_record=mix)
    assert used["measured"]["dialogue_stem"] == recorded
    assert used["measured"]["dialogue_stem_measured_on"] == "the mix (the same bytes)"
    # measured by another meter: measured again
    other = episode_report(
        path, TIMELINE, cfg, PLACED, dialogue_stem=stem, dialogue_share=0.4, mix_record={**mix, "meter": "x"}
    )
    assert other["measured"]["dialogue_stem_measured_on"] == "the stem"
    # the stem changed after the mix measured it: measured again
    mix["sha256"]["dialogue"] = "0" * 64
    again = episode_report(path, TIMELINE, cfg, PLACED, dialogue_stem=stem, dialogue_share=0.4, mix_record=mix)
    assert again["measured"]["dialogue_stem"] == real["dialogue_stem"]
    assert again["measured"]["dialogue_stem_measured_on"] == "the stem"
