"""The embedded camera backend against its own clip gate, with the schema's default
thresholds (real FFmpeg, real storyboard stills): every move, long and short, on the
sparsest set and with a cast of three."""

import typing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tower_anime.clips import camera
from tower_anime.clips.camera import MIN_FRAMES, crop_boxes, min_frames, render_camera_clip, safe_area
from tower_anime.config import validate_config
from tower_anime.qc.clip import FrameStats, clip_report
from tower_anime.stills import caption_height
from tower_anime.stills import storyboard as sb

ROOT = Path(__file__).resolve().parents[1]

DEFAULTS = validate_config({})["qc"]["clip"]  # every threshold at its schema default
MOVES = ["static", "push_in", "pull_out", "pan_left", "pan_right"]


def cast(n):
    outfits = ["#00a8ff", "#e63946", "#2ec44a"]
    return [
        {
            "id": f"c{i}",
            "name": f"Character {i}",
            "palette": {"hair": "#17141f", "skin": "#e8b98a", "outfit": outfits[i], "accent": "#b8c4d0"},
        }
        for i in range(n)
    ]


def clip_spec(move, frames, characters, location="Harbor at sea", framing="wide"):
    still = {
        "episode": "ep",
        "scene": "sc",
        "shot": "sh1",
        "location": location,
        "time_of_day": "night",
        "camera": {"move": move, "framing": framing},
        "action": "The tide comes in.",
        "seed": 3,
        "width": 768,
        "height": 512,
        "backend": "storyboard",
        "characters": characters,
    }
    return {
        "still": still,
        "frames": frames,
        "fps": 24,
        "backend": "camera",
        "hold_top": caption_height("storyboard", 512),
    }


def gate(tmp_path, spec):
    still, clip = tmp_path / f"{spec['still']['camera']['move']}.png", tmp_path / "clip.mp4"
    sb.render_storyboard(spec["still"], still)
    render_camera_clip(spec, still, clip)
    return clip_report(clip, spec, DEFAULTS, still)


def failures(report):
    return [(c["metric"], c["value"]) for c in report["checks"] if not c["pass"]]


# An empty night harbour is the hardest still for the freeze check: sky, sea and ground are
# horizontal bands, so a pan changes little per frame (a 10 s pan measured a 0.75 s hold).
@pytest.mark.parametrize("frames", [240, 121, 24, MIN_FRAMES])
@pytest.mark.parametrize("move", MOVES)
def test_every_move_passes_its_gate_on_an_empty_shot(tmp_path, move, frames):
    report = gate(tmp_path, clip_spec(move, frames, []))
    assert report["pass"], failures(report)


@pytest.mark.parametrize("move", MOVES)
def test_every_move_passes_its_gate_with_three_characters(tmp_path, move):
    report = gate(tmp_path, clip_spec(move, 121, cast(3), "Neo-Tokyo street market", "medium"))
    assert report["pass"], failures(report)


def test_a_frozen_clip_fails_the_freeze_check(tmp_path):
    """The static move is the still held: exempt on the camera backend, frozen for any other."""
    spec = clip_spec("static", 49, cast(1))
    report = gate(tmp_path, spec)
    assert report["pass"]
    report = clip_report(tmp_path / "clip.mp4", {**spec, "backend": "i2v"}, DEFAULTS, tmp_path / "static.png")
    frozen = next(c for c in report["checks"] if c["metric"] == "frozen_seconds")
    assert not frozen["pass"] and frozen["value"] == pytest.approx(49 / 24, abs=0.01)


def test_the_freeze_check_compares_with_the_start_of_the_hold_not_the_last_frame():
    """A slow drift (each frame under freeze_noise from the one before) is motion once it
    has drifted far enough from where the hold began, as in FFmpeg's freezedetect."""
    noise = DEFAULTS["freeze_noise"]
    base = np.tile(np.arange(64, dtype=np.uint8) * 3, (32, 1))
    drift = np.repeat(base[None], 48, axis=0)
    for k in range(48):  # a light creeps over the picture, one column (of 64) a frame
        drift[k, :, : k + 1] += 8
    stats = FrameStats(DEFAULTS["black_pixel_threshold"], DEFAULTS["black_picture_ratio"], noise)
    stats.add(drift)
    steps = np.abs(np.diff(drift.astype(int), axis=0)).mean(axis=(1, 2)) / 255
    assert steps.max() < noise  # frame to frame, every step looks frozen
    assert stats.full((0, 255))["held"] <= 2
    still = FrameStats(DEFAULTS["black_pixel_threshold"], DEFAULTS["black_picture_ratio"], noise)
    still.add(np.repeat(base[None], 48, axis=0))
    assert still.full((0, 255))["held"] == 47


@pytest.mark.parametrize("move", MOVES[1:])
def test_every_frame_moves_smoothly_and_keeps_the_safe_area(move):
    for frames in (240, 121, 24, MIN_FRAMES):
        boxes = np.array(crop_boxes(move, frames, 768, 512))
        assert (boxes[:, 3] == 512).all() and (boxes[:, :2] >= -1e-9).all() and (boxes[:, 2] <= 768 + 1e-9).all()
        assert np.allclose((boxes[:, 2] - boxes[:, 0]) / (boxes[:, 3] - boxes[:, 1]), 768 / 512)
        steps = np.abs(np.diff(boxes[:, 0] if move.startswith("pan") else boxes[:, 2] - boxes[:, 0]))
        assert steps.min() > 0.4 * steps.mean()  # never at rest, not even at the ends
        assert steps.max() < 1.3 * steps.mean()  # and no sudden bursts
        left, top, right, bottom = safe_area(768, 512)
        assert (boxes[:, 0] <= left + 1e-9).all() and (boxes[:, 2] >= right - 1e-9).all()
        assert (boxes[:, 1] <= top + 1e-9).all()


def test_min_frames_is_the_same_at_every_rate():
    assert [min_frames(fps) for fps in (24, 25, 30, 60)] == [MIN_FRAMES] * 4
    assert 1 < MIN_FRAMES <= 24 and typing.get_type_hints(camera.min_frames)["return"] is int


# ---------------------------------------------------------------- mouths and blinks


def _voice(path, seconds, rate=48000, talk=(0.0, 1.0)):
    """A 16-bit mono WAV: a tone switched on and off 3 times a second inside `talk`, silence elsewhere."""
    import wave

    t = np.arange(int(rate * seconds)) / rate
    on = (np.sin(2 * np.pi * 3 * t) > 0) & (t >= talk[0]) & (t < talk[1])
    sig = (0.5 * np.sin(2 * np.pi * 220 * t) * on * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(sig.tobytes())
    return path


def _two_faces(tmp_path):
    from tower_anime.clips.faces import still_faces

    chars = [{"id": "aya", "name": "Aya"}, {"id": "ken", "name": "Ken"}]
    spec = {
        "shot": "s1",
        "seed": 3,
        "location": "street",
        "time_of_day": "day",
        "characters": chars,
        "camera": {"framing": "close", "move": "static"},
        "width": 768,
        "height": 512,
    }
    sb.render_storyboard(spec, tmp_path / "s1.png")
    with Image.open(tmp_path / "s1.png") as im:
        return still_faces(im), im.convert("RGB")


LINE = {
    "line": "s1_l1",
    "speaker": "aya",
    "shot": "s1",
    "gap": 0.25,
    "max_tempo": 1.25,
    "reading": 1.0,
    "earliest": 0.5,
    "window": [0.0, 4.0],
}


def test_the_speaker_mouth_follows_the_voice_and_the_others_stay_still(tmp_path):
    from tower_anime.clips.faces import FaceAnimator

    faces, _ = _two_faces(tmp_path)
    assert [f["id"] for f in faces] == ["aya", "ken"]
    voice = _voice(tmp_path / "l1.wav", 1.5, talk=(0.0, 1.0))
    anim = FaceAnimator(faces, [LINE], {"s1_l1": voice}, 96, 24, seed=3)
    aya, ken = anim.mouths["aya"], anim.mouths.get("ken", np.zeros(96))
    assert not aya[:12].any(), "closed before the line starts (0.5 s)"
    assert aya[12:36].any() and not aya[12:36].all(), "opens and closes while the tone switches"
    assert not aya[37:].any(), "closed once the voice is silent (after 1.5 s)"
    assert not np.asarray(ken).any(), "a character who is not speaking keeps the mouth closed"
    again = FaceAnimator(faces, [LINE], {"s1_l1": voice}, 96, 24, seed=3)
    assert [anim.state(n) for n in range(96)] == [again.state(n) for n in range(96)]


def test_everyone_blinks_now_and_then_deterministically():
    from tower_anime.clips.faces import blink_track

    for cid in ("aya", "ken"):
        shut = blink_track(3, cid, 240, 24)
        assert 1 <= int(np.diff(shut.astype(int)).clip(0).sum()) + int(shut[0]) <= 5, "one blink every 2-5 s"
        assert shut.mean() < 0.15
        assert (shut == blink_track(3, cid, 240, 24)).all()
    assert not (blink_track(3, "aya", 240, 24) == blink_track(3, "ken", 240, 24)).all()


def test_a_drawn_mouth_and_a_blink_change_only_the_face(tmp_path):
    from tower_anime.clips.faces import FaceAnimator

    faces, still = _two_faces(tmp_path)
    anim = FaceAnimator(faces, [], {}, 10, 24)
    moved = np.asarray(anim.draw(still, ((0, 2, True),))) != np.asarray(still)
    ys, xs = np.nonzero(moved.any(axis=-1))
    f = faces[0]
    assert len(xs) and abs(xs.mean() - f["mouth"][0]) < f["u"] * 0.5
    assert ys.min() >= f["eyes"][0][1] - f["eyes"][0][3] - 2 and ys.max() <= f["mouth"][1] + f["u"] * 0.3


def test_the_plan_gives_each_clip_its_own_lines_timed_from_its_shot():
    from tower_anime.config import load_config
    from tower_anime.story import load_story, plan_story

    cfg = load_config(ROOT / "config" / "config.yaml")
    story = load_story(ROOT / cfg["story"]["characters"], ROOT / cfg["story"]["episodes_dir"])
    plan = plan_story(story, cfg)["ep01"]
    starts = {row["shot"]: row["start_frame"] / plan.fps for row in plan.shots}
    for cue in plan.cues:
        mine = [c for c in plan.clips[cue["shot"]]["lines"] if c["line"] == cue["line"]]
        assert len(mine) == 1
        assert mine[0]["window"][0] == pytest.approx(cue["window"][0] - starts[cue["shot"]], abs=1e-3)
    silent = [s for s in plan.shot_ids() if s not in {c["shot"] for c in plan.cues}]
    assert all("lines" not in plan.clips[s] for s in silent)


# ---------------------------------------------------------------- framing


@pytest.mark.parametrize("framing", ["wide", "medium", "close"])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_no_move_crops_a_face_or_a_name_or_hides_it_under_the_caption(framing, count):
    """Every frame of every move, mapped through its crop window: each head (hair included) and
    each name label lies inside the frame and below the held caption strip."""
    from tower_anime.clips.camera import MOVES

    hold = caption_height("storyboard", 512)
    names = ["Akira", "Luna Hoshino-Valentine the Third", "Viktor"]
    for seed in range(8):
        spec = {
            "shot": "s",
            "seed": seed,
            "location": "street",
            "camera": {"framing": framing, "move": "static"},
            "characters": [{"id": f"c{i}", "name": names[i]} for i in range(count)],
        }
        faces = sb._draw(spec)[1]
        assert len(faces) == count
        for move in MOVES:
            for left, top, right, bottom in crop_boxes(move, 25, 768, 512):
                sx, sy = 768 / (right - left), 512 / (bottom - top)
                for f in faces:
                    for what in ("head", "label"):
                        x0, y0, x1, y1 = f[what]
                        box = ((x0 - left) * sx, (y0 - top) * sy, (x1 - left) * sx, (y1 - top) * sy)
                        assert box[0] >= 0 and box[2] <= 768 and box[1] >= hold and box[3] <= 512, (
                            framing,
                            count,
                            seed,
                            move,
                            what,
                            box,
                        )
