"""Each filter graph now built with ffmpeg-python (behind media.py) against the text the
package wrote by hand before (tests/legacy_graphs.py): the same graph as FFmpeg reads it
(tests/ffgraph.py), and, run on the same inputs, the same output bytes."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import ffgraph  # noqa: E402
import legacy_graphs as legacy  # noqa: E402

from tower_anime.media import chain_text, ffmpeg, fx  # noqa: E402

RATE = 48000


def noise(path, seconds, rate=44100, channels=2):
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"anoisesrc=color=pink:amplitude=0.3:duration={seconds}:sample_rate={rate}:seed=5",
            "-ac",
            channels,
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        "test input",
    )
    return path


def same_bytes(old_args, new_args, old_out, new_out):
    ffmpeg([str(a) for a in old_args], "old graph")
    ffmpeg(new_args, "new graph")
    assert Path(old_out).read_bytes() == Path(new_out).read_bytes()


def test_library_escapes_text_for_both_levels():
    text = "it's a: [test], ok\\"
    nodes, _ = ffgraph.parse_graph(chain_text([fx("drawtext", text=text), fx("select", "eq(n,3)+eq(n,4)")]))
    assert nodes[0][1] == ((), (("text", text),))
    assert nodes[1][1] == (("eq(n,3)+eq(n,4)",), ())


@pytest.mark.parametrize("src_s,target_s", [(3.0, 10.0), (9.0, 4.0), (4.0, 4.0), (1.0, 2.5)])
def test_fit_graph(tmp_path, src_s, target_s):
    from tower_anime.audio.fit import fit_args

    src = noise(tmp_path / "cue.wav", src_s)
    old, new = tmp_path / "old.wav", tmp_path / "new.wav"
    old_args = legacy.fit_args(src, old, src_s, target_s, RATE, 1.5, 1.0)
    new_args = fit_args(src, new, src_s, target_s, RATE, 1.5, 1.0)
    ffgraph.assert_equivalent(old_args, [new if a == str(new) else a for a in new_args][:-1] + [old])
    same_bytes(old_args, new_args, old, new)


def renamed(args, new, old):
    """args with the output file `new` called `old`, to compare two argument lists."""
    return [str(old) if a == str(new) else a for a in args]


VOICES = [
    {},
    {"pitch": 4},
    {"pitch": -3, "tempo": 1.2},
    {"tempo": 0.9},
    {"pitch": 2, "timbre": {"formant": 1.5, "brightness": 3}},
    {"pitch": 0, "tempo": 1.1, "timbre": {"formant": -2, "warmth": 4, "brightness": -2}},
]


@pytest.mark.parametrize("voice", VOICES)
def test_voice_post_filter(tmp_path, voice):
    from tower_anime.audio.voice import post_args

    raw = tmp_path / "speech"
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=f=220:d=0.8:r=22050",
            "-af",
            "adelay=200,apad=pad_dur=0.3",
            "-c:a",
            "pcm_s16le",
            "-f",
            "wav",
            str(raw),
        ],
        "test speech",
    )
    old, new = tmp_path / "old.wav", tmp_path / "new.wav"
    old_args = legacy.post_args(raw, old, voice, RATE)
    new_args = post_args(raw, new, voice, RATE)
    ffgraph.assert_equivalent(old_args, renamed(new_args, new, old))
    same_bytes(old_args, new_args, old, new)


@pytest.mark.parametrize("rate,duration,gain", [(48000, 3.0, 4.37), (44100, 2.21, -1.5)])
def test_music_finish(tmp_path, rate, duration, gain):
    from tower_anime.audio.music import finish_args

    raw = tmp_path / "cue.f32"
    render = f"anoisesrc=color=pink:amplitude=0.2:duration={duration + 1.3}:sample_rate={rate}:seed=3"
    ffmpeg(["-f", "lavfi", "-i", render, "-ac", 2, "-f", "f32le", str(raw)], "test render")
    old, new = tmp_path / "old.wav", tmp_path / "new.wav"
    old_args = legacy.finish_args(raw, old, rate, gain, duration, 0.5, 1.2)
    new_args = finish_args(raw, new, rate, gain, duration, 0.5, 1.2)
    ffgraph.assert_equivalent(old_args, renamed(new_args, new, old))
    same_bytes(old_args, new_args, old, new)


def tone(path, freq, seconds, rate=48000):
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency={freq}:duration={seconds}:sample_rate={rate}",
            "-ac",
            "1",
            "-c:a",
            "pcm_s16le",
            str(path),
        ],
        "test tone",
    )
    return path


MIX_CASES = {
    "two scenes, three lines, one sped up": (
        [{"scene": "a", "start_frame": 0, "frames": 96}, {"scene": "b", "start_frame": 96, "frames": 120}],
        [
            {"line": "l1", "start": 0.5, "end": 1.5},
            {"line": "l2", "start": 2.0, "end": 3.2, "tempo": 1.2},
            {"line": "l3", "start": 5.1, "end": 6.0},
        ],
    ),
    "no dialogue": ([{"scene": "a", "start_frame": 0, "frames": 216}], []),
}


@pytest.mark.parametrize("case", MIX_CASES)
def test_mix_premix_and_pass2(tmp_path, case):
    from tower_anime.audio.mix import pass2_args, premix_args
    from tower_anime.config import validate_config

    scenes, placed = MIX_CASES[case]
    cfg = validate_config({})
    timeline = {"episode": "t", "fps": 24, "total_frames": 216, "scenes": scenes}
    music = {s["scene"]: tone(tmp_path / f"m{s['scene']}.wav", 800 + 100 * i, 6.0, 44100) for i, s in enumerate(scenes)}
    voices = {c["line"]: tone(tmp_path / f"{c['line']}.wav", 200 + 50 * i, 1.0) for i, c in enumerate(placed)}
    names = ("premix", "dialogue", "music")
    old = [tmp_path / f"old_{n}.wav" for n in names]
    new = [tmp_path / f"new_{n}.wav" for n in names]
    old_args = legacy.premix_args(timeline, placed, music, voices, cfg, *old)
    new_args = premix_args(timeline, placed, music, voices, cfg, *new)
    for n, o in zip(new, old):
        new_args = renamed(new_args, n, o)
    ffgraph.assert_equivalent(old_args, new_args)
    new_args = premix_args(timeline, placed, music, voices, cfg, *new)
    ffmpeg([str(a) for a in old_args], "old premix")
    ffmpeg(new_args, "new premix")
    for o, n in zip(old, new):
        assert o.read_bytes() == n.read_bytes()

    samples = 216 * 2000
    stems = {"dialogue": old[1], "music": old[2]}
    for limit in (None, -2.5):
        old2 = [tmp_path / f"old2_{n}.wav" for n in names]
        new2 = [tmp_path / f"new2_{n}.wav" for n in names]
        old_args = legacy.pass2_args(old[0], stems, old2, 6.25, limit, samples, cfg["output"])
        new_args = pass2_args(old[0], stems, new2, 6.25, limit, samples, cfg["output"])
        renamed_args = new_args
        for n, o in zip(new2, old2):
            renamed_args = renamed(renamed_args, n, o)
        ffgraph.assert_equivalent(old_args, renamed_args)
        ffmpeg([str(a) for a in old_args], "old pass 2")
        ffmpeg(new_args, "new pass 2")
        for o, n in zip(old2, new2):
            assert o.read_bytes() == n.read_bytes()


@pytest.mark.parametrize("first", ["extractplanes=y", "format=gray"])
@pytest.mark.parametrize("with_thumb", [False, True])
def test_qc_grey_decode(tmp_path, first, with_thumb):
    import subprocess

    from tower_anime.qc.frames import GREY, LUMA_PLANE, grey_args

    clip = tmp_path / "clip.mp4"
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=24:d=2",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            str(clip),
        ],
        "test clip",
    )
    new_first = LUMA_PLANE if first == "extractplanes=y" else GREY
    frames = (0, 12, 47)
    old_thumb, new_thumb = (tmp_path / "old.jpg", tmp_path / "new.jpg") if with_thumb else (None, None)
    old_args = legacy.grey_args(clip, 160, 120, first, old_thumb, frames)
    new_args = [
        "ffmpeg",
        "-hide_banner",
        "-nostdin",
        "-v",
        "error",
        "-y",
        *grey_args(clip, 160, 120, new_first, new_thumb, frames),
    ]
    ffgraph.assert_equivalent(old_args, renamed(new_args, new_thumb, old_thumb) if with_thumb else new_args)
    old_raw = subprocess.run(old_args, capture_output=True, check=True).stdout
    new_raw = subprocess.run(new_args, capture_output=True, check=True).stdout
    assert len(old_raw) == 48 * 160 * 120 and old_raw == new_raw
    if with_thumb:
        assert old_thumb.read_bytes() == new_thumb.read_bytes()


@pytest.mark.parametrize("tempo", [1.0, 1.1875])
def test_conform_voice_decode(tmp_path, tempo):
    import subprocess

    from tower_anime.editor.conform import samples_args

    voice = tone(tmp_path / "v.wav", 300, 1.3, 22050)
    old_args = legacy.samples_args(voice, RATE, f"atempo={tempo:.4f}" if tempo != 1.0 else "anull")
    new_args = [
        "ffmpeg",
        "-v",
        "error",
        *samples_args(voice, RATE, fx("atempo", f"{tempo:.4f}") if tempo != 1.0 else fx("anull")),
    ]
    ffgraph.assert_equivalent(old_args, new_args)
    old = subprocess.run(old_args, capture_output=True, check=True).stdout
    assert old == subprocess.run(new_args, capture_output=True, check=True).stdout and len(old) > 0


def test_loudness_meter(tmp_path, monkeypatch):
    from tower_anime import media

    wav = noise(tmp_path / "n.wav", 3.0, 48000)
    seen = []
    real = media.run

    def recording(cmd, what, log=None):
        seen.append((cmd, real(cmd, what, log)))
        return seen[-1][1]

    monkeypatch.setattr(media, "run", recording)
    media.loudness(wav)
    cmd, proc = seen[0]
    ffgraph.assert_equivalent(legacy.loudness_args(wav), cmd)
    old = real(legacy.loudness_args(wav), "old meter").stderr
    assert old[old.rfind("Summary:") :] == proc.stderr[proc.stderr.rfind("Summary:") :]


# the synthetic episode of test_assemble: a cut, crossfades, a dip to black, a dip to white and
# the episode's fades in and out, on 64x64 clips whose every frame shows its shot and number
def test_the_join_of_trimmed_clips(tmp_path):
    """The master's join (episode/master.video_graph: cuts, crossfades, dips, the episode's
    fades) of the conform's trimmed clips (editor/conform.clip_stream), as one graph, against
    the hand-written text graph it replaced."""
    from test_assemble import CFG, plan_of, write_clip

    from tower_anime.editor.conform import clip_stream
    from tower_anime.episode.master import video_graph
    from tower_anime.media import graph, output, video_encode_args, with_script

    timeline = plan_of().timeline()
    # clips that start inside their media (source_start > 0) and run past the planned frames
    starts = [0, 5, 3, 0, 7, 2, 4]
    rows = []
    for i, (start, row) in enumerate(zip(starts, timeline["shots"], strict=True)):
        media = tmp_path / "media" / f"{row['shot']}.mp4"
        media.parent.mkdir(exist_ok=True)
        write_clip(media, i, start + row["frames"] + i % 2)
        rows.append({"media": f"media/{media.name}", "source_start": start})
    old, new = tmp_path / "old.mkv", tmp_path / "new.mkv"
    old_args = legacy.conform_args(timeline, rows, tmp_path, old, CFG["output"])
    assert {s["transition_in"] for s in timeline["shots"]} == {"cut", "crossfade", "dip_to_black", "dip_to_white"}
    assert timeline["fade_in_frames"] and timeline["fade_out_frames"]
    picture = video_graph(timeline, [clip_stream(row, tmp_path) for row in rows])
    new_args = graph(
        output(picture, new), options=[*video_encode_args(CFG["output"], timeline["fps"]), "-fflags", "+bitexact"]
    )
    ffgraph.assert_equivalent(old_args, renamed(new_args, new, old))
    same_bytes(old_args, with_script(new_args, tmp_path / "graph.txt"), old, new)
