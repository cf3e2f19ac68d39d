"""The assembled master, frame by frame: synthetic clips whose every frame carries its shot and
frame number (as blocks of light and dark) are joined with cuts, crossfades, dips and the
episode's fades; every decoded frame of the master is compared with what the plan says it
must show, the picture has exactly the planned frames, the chapters start on the scenes,
and the container, the sound and the subtitles end with the picture."""

import subprocess

import numpy as np
import pytest

from tower_anime.config import validate_config
from tower_anime.episode.chapters import ffmetadata
from tower_anime.episode.master import assemble_episode
from tower_anime.episode.segments import encode_segments
from tower_anime.episode.transitions import shot_edges
from tower_anime.media import ffmpeg, probe, source
from tower_anime.qc.episode import audio_end, episode_report, stream_end
from tower_anime.story.plan import plan_episode

FPS = 24
W, H = 64, 64  # the smallest frame the config allows
BLOCK = 8  # 8x8 blocks: 64 bits a frame
LO, HI = 40, 215  # grey levels of a 0 and a 1 bit, clear of the colours dips pass through
COLOUR = {"black": 0.0, "white": 255.0}  # the dips' colours as decoded to full-range grey
CFG = validate_config({"output": {"width": W, "height": H, "fps": FPS, "video_crf": 4, "video_preset": "ultrafast"}})


def master_from_clips(timeline, clips, mix, srt, out, output_cfg, **kw):
    """The master as the workflow makes it: a segment per shot (rule segment), then the mux."""
    segments = encode_segments(timeline, [source(c).video for c in clips], f"{out}.segments", output_cfg)
    assemble_episode(timeline, segments, mix, srt, out, output_cfg, **kw)


def pattern(shot, frame):
    """Frame `frame` of shot `shot`: bits 0-7 the frame, 8-13 the shot, then a checkerboard."""
    value = frame | (shot << 8)
    bits = [(value >> b) & 1 if b < 14 else b % 2 for b in range((W // BLOCK) * (H // BLOCK))]
    img = np.array(bits, dtype=np.float64).reshape(H // BLOCK, W // BLOCK)
    return np.kron(LO + (HI - LO) * img, np.ones((BLOCK, BLOCK)))


def decode(img):
    """(shot, frame) read back from a frame's blocks."""
    blocks = img.reshape(H // BLOCK, BLOCK, W // BLOCK, BLOCK).mean(axis=(1, 3)).ravel()
    value = sum(1 << b for b in range(14) if blocks[b] > (LO + HI) / 2)
    return value >> 8, value & 0xFF


def shot(sid, frames):
    return {"id": sid, "frames": frames, "camera": "static", "action": "a test card", "seed": 1}


def scene(sid, shots, transition="cut", seconds=None):
    doc = {
        "id": sid,
        "title": f"Scene {sid}",
        "location": "test",
        "time_of_day": "day",
        "mood": "calm",
        "transition": transition,
        "shots": shots,
    }
    if seconds is not None:
        doc["transition_seconds"] = seconds
    return doc


# every transition the script can ask for; lengths in frames at 24 fps in the comments
EPISODE = {
    "id": "frames",
    "title": "Frames",
    "fade_in_seconds": 0.25,
    "fade_out_seconds": 0.25,  # 6, 6
    "scenes": [
        scene("a", [shot("a1", 20), shot("a2", 16)]),  # a cut
        scene("b", [shot("b1", 18)], "crossfade", 0.25),  # 6
        scene("c", [shot("c1", 15), shot("c2", 14)], "dip_to_black", 0.3),  # 7: 3 out, 4 in
        scene("d", [shot("d1", 12)], "dip_to_white", 0.25),  # 6: 3 out, 3 in
        scene("e", [shot("e1", 16)], "crossfade", 4 / FPS),  # 4
    ],
}


def plan_of(doc=EPISODE):
    return plan_episode(doc, {}, CFG)


def expected_frames(timeline):
    """What each frame of the master must show, from the plan alone: a shot's frame k at its
    start_frame + k; a fade of n frames from a colour shows frame k (< n) at k/n of the picture,
    a fade out the k-th last frame (k = 0 the last) at k/n; where a crossfade of d frames
    overlaps two shots, its k-th frame shows the later shot at (k+1)/(d+1)."""
    out = np.zeros((timeline["total_frames"], H, W))
    covered = np.zeros(timeline["total_frames"])
    for i, (row, edge) in enumerate(zip(timeline["shots"], shot_edges(timeline))):
        n = row["frames"]
        for k in range(n):
            img = pattern(i, k)
            if k < edge["fade_in"]:
                w = k / edge["fade_in"]
                img = w * img + (1 - w) * COLOUR[edge["fade_in_colour"]]
            if n - 1 - k < edge["fade_out"]:
                w = (n - 1 - k) / edge["fade_out"]
                img = w * img + (1 - w) * COLOUR[edge["fade_out_colour"]]
            f = row["start_frame"] + k
            if k < edge["crossfade_in"]:
                w = (k + 1) / (edge["crossfade_in"] + 1)
                out[f] = (1 - w) * out[f] + w * img
            else:
                out[f] = img
            covered[f] += 1
    assert covered.min() >= 1, "the plan leaves a frame without a shot"
    return out


def write_clip(path, index, frames):
    data = np.stack([pattern(index, k) for k in range(frames)]).astype(np.uint8)
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-s",
            f"{W}x{H}",
            "-r",
            str(FPS),
            "-i",
            "-",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-qp",
            "0",
            "-pix_fmt",
            "yuv420p",
            str(path),
        ],
        input=data.tobytes(),
        check=True,
    )


def decoded(path):
    """Every frame of the picture as full-range grey, float."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True,
        check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, H, W).astype(np.float64)


def write_mix(path, total_frames, seconds_over=0.0):
    """A 440 Hz tone exactly as long as the picture (as the mix stage writes it), or longer."""
    samples = round(total_frames * 48000 / FPS + seconds_over * 48000)
    ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-af",
            f"atrim=end_sample={samples}",
            "-ac",
            "2",
            "-c:a",
            "pcm_s24le",
            str(path),
        ],
        "tone",
    )


def write_srt(path, events):
    from tower_anime.episode.subtitles import srt_time

    path.write_text(
        "\n".join(f"{n}\n{srt_time(a)} --> {srt_time(b)}\n{text}\n" for n, (a, b, text) in enumerate(events, 1))
    )


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    d = tmp_path_factory.mktemp("assemble")
    plan = plan_of()
    timeline = plan.timeline()
    clips = []
    for i, row in enumerate(timeline["shots"]):
        clips.append(d / f"{row['shot']}.mp4")
        write_clip(clips[-1], i, row["frames"])
    write_mix(d / "mix.wav", plan.total_frames)
    # the last event runs a second past the picture's end: the master must not outlast the picture
    write_srt(d / "subs.srt", [(0.5, 1.5, "First."), (plan.duration - 0.5, plan.duration + 1.0, "Last.")])
    out = d / "master.mkv"
    master_from_clips(
        timeline, [str(c) for c in clips], str(d / "mix.wav"), str(d / "subs.srt"), str(out), CFG["output"]
    )
    return timeline, out, d


def test_the_plan_places_every_transition():
    rows = {r["shot"]: r for r in plan_of().shots}
    assert [(r["transition_in"], r["transition_frames"]) for r in rows.values()] == [
        ("cut", 0),
        ("cut", 0),
        ("crossfade", 6),
        ("dip_to_black", 7),
        ("cut", 0),
        ("dip_to_white", 6),
        ("crossfade", 4),
    ]
    # a crossfade overlaps the shots by its frames; a dip does not move any shot
    assert rows["b1"]["start_frame"] == 20 + 16 - 6
    assert rows["c1"]["start_frame"] == rows["b1"]["start_frame"] + 18
    assert rows["d1"]["start_frame"] == rows["c2"]["start_frame"] + 14
    assert rows["e1"]["start_frame"] == rows["d1"]["start_frame"] + 12 - 4
    plan = plan_of()
    assert plan.total_frames == rows["e1"]["start_frame"] + 16
    assert (plan.timeline()["fade_in_frames"], plan.timeline()["fade_out_frames"]) == (6, 6)


def test_every_frame_of_the_master_is_the_planned_one(master):
    timeline, out, _ = master
    frames = decoded(out)
    assert len(frames) == timeline["total_frames"]
    want = expected_frames(timeline)
    # per-block means: a wrong bit moves a block by (HI - LO) times its weight, at least 25
    # levels for the blends here (1/7); coding and rounding move them by 1-2
    err = np.abs(frames - want).reshape(len(frames), H // BLOCK, BLOCK, W // BLOCK, BLOCK).mean(axis=(2, 4))
    worst = err.reshape(len(frames), -1).max(axis=1)
    bad = [(f, round(worst[f], 1), decode(frames[f])) for f in np.flatnonzero(worst > 8)]
    assert not bad, f"frames off the plan (frame, worst block error, shot/frame read): {bad[:10]}"
    # the first and last frame of every shot outside its fades read back as that very frame
    for i, (row, edge) in enumerate(zip(timeline["shots"], shot_edges(timeline))):
        first = row["start_frame"] + edge["head"]
        last = row["start_frame"] + row["frames"] - 1 - edge["tail"]
        assert decode(frames[first]) == (i, edge["head"]), row
        assert decode(frames[last]) == (i, row["frames"] - 1 - edge["tail"]), row
    assert frames[0].max() < 3 and frames[-1].max() < 3  # the episode's fades start and end on black


def test_chapters_start_on_the_scenes(master):
    timeline, out, _ = master
    chapters = probe(out)["chapters"]
    # chapter times are whole milliseconds: within half a millisecond of the scene's first frame
    assert len(chapters) == len(timeline["scenes"])
    for c, s in zip(chapters, timeline["scenes"]):
        assert abs(float(c["start_time"]) - s["start_frame"] / FPS) <= 0.0005, (c, s)
        assert c["tags"]["title"] == f"Scene {s['scene']}"
    # a dip does not overlap the scenes: each chapter ends where the next scene starts
    starts = [line for line in ffmetadata(timeline).splitlines() if line.startswith("START=")]
    assert starts == [f"START={round(s['start_frame'] * 1000 / FPS)}" for s in timeline["scenes"]]


def failed(report):
    return {c["metric"] for c in report["checks"] if not c["pass"]}


def by_metric(report):
    return {c["metric"]: c for c in report["checks"]}


def test_sound_subtitles_and_file_end_with_the_picture(master):
    timeline, out, _ = master
    end = timeline["total_frames"] / FPS
    info = probe(out)
    assert abs(float(info["format"]["duration"]) - end) <= 0.001, info["format"]
    assert abs(audio_end(out, 48000) - end) <= 0.001
    # the first sample heard is at the picture's first frame (Opus pre-skip accounted for)
    first = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-read_intervals",
            "%+#1",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    assert abs(float(first)) <= 0.0005
    # the event written past the end was cut at the picture's end (its packets, as muxed)
    assert stream_end(out, "s:0") == (2, pytest.approx(end, abs=0.001))
    report = episode_report(out, timeline, CFG)
    checks = by_metric(report)
    for metric in ("video_frames_off_script", "container_duration_off_picture", "audio_end_off_picture"):
        assert checks[metric]["pass"], checks[metric]
    assert checks["video_frames_off_script"]["threshold"] == 0


def test_the_gate_refuses_a_picture_a_frame_short_a_long_sound_and_a_late_subtitle(master, tmp_path, monkeypatch):
    timeline, out, d = master
    clips = [str(d / f"{r['shot']}.mp4") for r in timeline["shots"]]
    good = failed(episode_report(out, timeline, CFG))

    # one frame short: the last shot a frame shorter than the plan says
    short = {
        **timeline,
        "total_frames": timeline["total_frames"] - 1,
        "shots": timeline["shots"][:-1] + [{**timeline["shots"][-1], "frames": timeline["shots"][-1]["frames"] - 1}],
    }
    write_mix(tmp_path / "short.wav", short["total_frames"])
    master_from_clips(
        short, clips, str(tmp_path / "short.wav"), str(d / "subs.srt"), str(tmp_path / "short.mkv"), CFG["output"]
    )
    report = episode_report(tmp_path / "short.mkv", timeline, CFG)
    assert failed(report) - good == {"video_frames_off_script"}
    assert by_metric(report)["video_frames_off_script"]["value"] == 1

    # the sound runs 0.5 s past the picture: the file is as long as the sound
    write_mix(tmp_path / "long.wav", timeline["total_frames"], seconds_over=0.5)
    master_from_clips(
        timeline, clips, str(tmp_path / "long.wav"), str(d / "subs.srt"), str(tmp_path / "long.mkv"), CFG["output"]
    )
    report = episode_report(tmp_path / "long.mkv", timeline, CFG)
    assert failed(report) - good >= {"audio_end_off_picture", "container_duration_off_picture"}
    assert by_metric(report)["audio_end_off_picture"]["value"] == pytest.approx(500, abs=1)
    assert failed(report) - good <= {"audio_end_off_picture", "container_duration_off_picture", "loudness_off_target"}

    # a subtitle past the end, as the mux wrote them before events were cut at the picture
    import tower_anime.episode.master as assemble

    monkeypatch.setattr(assemble, "clip_srt", lambda text, end: text)
    master_from_clips(
        timeline, clips, str(d / "mix.wav"), str(d / "subs.srt"), str(tmp_path / "late.mkv"), CFG["output"]
    )
    report = episode_report(tmp_path / "late.mkv", timeline, CFG)
    assert failed(report) - good == {"container_duration_off_picture"}
    assert by_metric(report)["container_duration_off_picture"]["value"] == pytest.approx(1000, abs=1)


def test_a_sound_ten_milliseconds_off_the_picture_fails(master, tmp_path):
    """Half an Opus block past the picture, or short of it, and well inside one frame (41.7 ms):
    the check is in milliseconds, at 1 ms."""
    timeline, _, d = master
    clips = [str(d / f"{r['shot']}.mp4") for r in timeline["shots"]]
    for over in (0.01, -0.01):
        write_mix(tmp_path / "mix.wav", timeline["total_frames"], seconds_over=over)
        out = tmp_path / f"off{over}.mkv"
        master_from_clips(timeline, clips, str(tmp_path / "mix.wav"), str(d / "subs.srt"), str(out), CFG["output"])
        check = by_metric(episode_report(out, timeline, CFG))["audio_end_off_picture"]
        assert not check["pass"] and check["value"] == pytest.approx(10, abs=1), (over, check)


def test_a_chapter_missing_or_extra_fails(master, tmp_path):
    """One chapter a scene: a master remuxed with the last scene's chapter dropped, or with an
    extra chapter after it, fails the count."""
    timeline, out, _ = master
    meta = ffmetadata(timeline)
    last = meta.rindex("[CHAPTER]")
    total = round(timeline["total_frames"] * 1000 / FPS)
    edits = {
        "fewer": meta[:last],
        "more": meta.rstrip("\n").replace(f"END={total}", f"END={total - 100}")
        + f"\n\n[CHAPTER]\nTIMEBASE=1/1000\nSTART={total - 100}\nEND={total}\ntitle=Credits\n",
    }
    for name, text in edits.items():
        (tmp_path / f"{name}.txt").write_text(text)
        remuxed = tmp_path / f"{name}.mkv"
        ffmpeg(
            [
                "-i",
                str(out),
                "-i",
                str(tmp_path / f"{name}.txt"),
                "-map",
                "0",
                "-map_chapters",
                "1",
                "-c",
                "copy",
                "-avoid_negative_ts",
                "disabled",
                str(remuxed),
            ],
            "remux with other chapters",
        )
        check = by_metric(episode_report(remuxed, timeline, CFG))["chapters"]
        want = len(timeline["scenes"]) + (1 if name == "more" else -1)
        assert (check["value"], check["pass"]) == (want, False), (name, check)


def test_a_remux_that_counts_the_opus_delay_in_the_duration_fails(master, tmp_path):
    """Copying the streams into a new file lets FFmpeg's muxer take the file's duration from the
    sound's blocks again, CodecDelay included (measured 11.7 ms over): the gate refuses it."""
    timeline, out, _ = master
    copy = tmp_path / "copy.mkv"
    ffmpeg(["-i", str(out), "-map", "0", "-c", "copy", "-avoid_negative_ts", "disabled", str(copy)], "remux")
    value = by_metric(episode_report(copy, timeline, CFG))["container_duration_off_picture"]["value"]
    assert value > 5


def refused(story_dir, test_config, edit):
    """The one-line problems planning the edited test episode raises."""
    from conftest import dump_yaml, load_yaml

    from tower_anime.errors import InvalidInput
    from tower_anime.story import load_story, plan_story

    path = story_dir / "episodes" / "test01.yaml"
    doc = load_yaml(path)
    # without lines: a shot with lines grows to keep them out of a crossfade (voice.fit_lines)
    for scene in doc["scenes"]:
        for shot in scene["shots"]:
            shot.pop("dialogue", None)
    edit(doc)
    dump_yaml(doc, path)
    with pytest.raises(InvalidInput) as e:
        plan_story(load_story(story_dir / "characters.yaml", story_dir / "episodes"), test_config)
    return [str(p) for p in e.value.problems], str(path)


def test_transitions_longer_than_their_shots_are_refused(story_dir, test_config):
    # s2 (60 frames) crossfades into s3 (61 frames): 3 s is 72 frames
    problems, path = refused(story_dir, test_config, lambda d: d["scenes"][1].update(transition_seconds=3.0))
    assert problems == [
        f"{path}: scenes[1].transition_seconds: got 3.0 = 3 s (72 frames at 24 fps); expected more "
        "than 0 and at most 2.5 s (60 frames at 24 fps): the crossfade joins shot 's2' (60 of its 60 "
        "frames free) and shot 's3' (61 of its 61 frames free)"
    ]

    # a dip takes half of each: 5 s = 120 frames, 60 from s2 and 60 from s3, fits; 5 s and a
    # fade out of 1 s (24 of s3's frames) does not
    def dip(d):
        d["scenes"][1].update(transition="dip_to_white", transition_seconds=5.0)
        d["fade_out_seconds"] = 1.0

    problems, _ = refused(story_dir, test_config, dip)
    assert [p.split(": ")[1] for p in problems] == ["scenes[1].transition_seconds", "fade_out_seconds"]
    assert "at most 3.083 s (74 frames at 24 fps)" in problems[0]  # 37 of s3's 61 frames free, twice
    assert "at most 0.04167 s (1 frame at 24 fps)" in problems[1]  # s3 less the 60-frame half dip


def test_fades_longer_than_the_first_or_last_shot_are_refused(story_dir, test_config):
    problems, path = refused(story_dir, test_config, lambda d: d.update(fade_in_seconds=2.5))
    assert problems == [
        f"{path}: fade_in_seconds: got 2.5 = 2.5 s (60 frames at 24 fps); expected more than 0 "
        "and at most 2.042 s (49 frames at 24 fps): the first shot 's1' has 49 of its 49 frames free"
    ]


def test_the_first_scene_joins_nothing(story_dir):
    from conftest import dump_yaml, load_yaml

    from tower_anime.errors import InvalidInput
    from tower_anime.story import load_story

    path = story_dir / "episodes" / "test01.yaml"
    doc = load_yaml(path)
    doc["scenes"][0]["transition"] = "dip_to_black"
    dump_yaml(doc, path)
    with pytest.raises(InvalidInput) as e:
        load_story(story_dir / "characters.yaml", story_dir / "episodes")
    assert [p.field for p in e.value.problems] == ["scenes[0].transition"]
    assert "fade_in_seconds" in e.value.problems[0].message


def test_the_encoder_and_the_gate_read_one_delivery_format(master, tmp_path):
    timeline, out, d = master
    clips = [str(d / f"{r['shot']}.mp4") for r in timeline["shots"]]
    full = validate_config(
        {**{k: v for k, v in CFG.items() if k == "output"}, "output": {**CFG["output"], "pix_fmt": "yuv444p"}}
    )
    master_from_clips(
        timeline, clips, str(d / "mix.wav"), str(d / "subs.srt"), str(tmp_path / "444.mkv"), full["output"]
    )
    video = next(s for s in probe(tmp_path / "444.mkv")["streams"] if s["codec_type"] == "video")
    assert video["pix_fmt"] == "yuv444p"
    assert "pix_fmt" not in failed(episode_report(tmp_path / "444.mkv", timeline, {**CFG, "output": full["output"]}))
    # the same file against the default format: the gate names the difference
    assert "pix_fmt" in failed(episode_report(tmp_path / "444.mkv", timeline, CFG))
