"""The editor's timeline: its tracks, transitions, markers and metadata; the FCP 7 XML and EDL
exports read back through OTIO's adapters; the conform that rebuilds the picture from the .otio
alone (bit-identical to the master) and finds every voice line on the dialogue stem to the
sample; and the way back: edits made by code as an editor makes them, diffed, applied, refused."""

import json
import math
import re
import shutil

import numpy as np
import opentimelineio as otio
import pytest
from conftest import ROOT, fork_project

from tower_anime.cli import main
from tower_anime.config import load_config
from tower_anime.editor.conform import conform_picture, decoded_frames, line_offsets, psnr
from tower_anime.editor.otio_timeline import build_timeline, timeline_of, write_timeline_files

pytestmark = pytest.mark.workflow
EP = "test01"
RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange


def load(built):
    return otio.adapters.read_from_file(str(built / "timelines" / f"{EP}.otio"))


def test_the_timeline_holds_shots_lines_cues_stems_markers_and_metadata(built):
    tl = load(built)
    names = [t.name for t in tl.tracks]
    assert names == ["Picture", "Dialogue", "Music", "Stem dialogue", "Stem music", "Mix"]
    assert [t.enabled for t in tl.tracks] == [True, True, True, False, False, False]
    picture = tl.tracks[0]
    kinds = [type(i).__name__ for i in picture]
    assert kinds == ["Clip", "Clip", "Transition", "Clip"]
    xf = picture[2]
    assert xf.transition_type == otio.schema.TransitionTypes.SMPTE_Dissolve
    assert (xf.in_offset.value, xf.out_offset.value) == (6, 6)  # 12 frames centred on the cut
    plan = json.loads((built / "build" / EP / "timeline.json").read_text())
    rebuilt, _ = timeline_of(tl)
    keys = ("shot", "start_frame", "frames", "transition_in", "transition_frames")
    assert [{k: r[k] for k in keys} for r in rebuilt["shots"]] == [{k: r[k] for k in keys} for r in plan["shots"]]
    s1 = picture[0].metadata["tower"]
    assert (s1["shot"], s1["seed"], s1["backend"]["clips"], s1["qc"]["clip"]) == ("s1", 11, "camera", True)
    # media paths relative to the .otio's folder
    assert picture[0].media_reference.target_url == "../clips/test01/s1.mp4"
    assert (built / "timelines" / picture[0].media_reference.target_url).resolve().is_file()
    lines = [c for c in tl.tracks[1] if isinstance(c, otio.schema.Clip)]
    assert [c.name for c in lines] == ["akira: Go!", "luna: Hurry.", "viktor: Welcome."]
    placed = json.loads((built / "build" / EP / "placement.json").read_text())["lines"]
    starts = [tl.tracks[1].range_of_child(c).start_time for c in lines]
    assert [(t.value, t.rate) for t in starts] == [(round(p["start"] * 48000), 48000) for p in placed]
    markers = [(m.metadata["tower"]["kind"], m.name) for m in tl.tracks.markers]
    assert markers == [
        ("scene", "Street"),
        ("scene", "Office"),
        ("subtitle", "Go!"),
        ("subtitle", "Hurry."),
        ("subtitle", "Welcome."),
    ]


def test_fcp_xml_and_edl_read_back_through_the_adapters(built):
    fcp = otio.adapters.read_from_file(str(built / "timelines" / f"{EP}.xml"))
    video = fcp.video_tracks()[0]
    assert [i.name for i in video] == ["s1", "s2", "crossfade 12f", "s3"]
    assert len(fcp.audio_tracks()) == 2 and len(fcp.tracks.markers) == 5
    edl = otio.adapters.read_from_file(str(built / "timelines" / f"{EP}.edl"))
    track = edl.tracks[0]
    items = [(type(i).__name__, i.name) for i in track]
    assert [k for k, _ in items] == ["Clip", "Clip", "Transition", "Clip"]
    # the EDL puts the dissolve after the cut; the shots' frames are the same
    rebuilt = [(r["shot"], r["frames"]) for r in _edl_rows(edl)]
    assert rebuilt == [("s1", 49), ("s2", 60), ("s3", 61)]


def _edl_rows(tl):
    out, track, pending = [], tl.tracks[0], None
    for item in track:
        if isinstance(item, otio.schema.Transition):
            pending = item
            continue
        n = item.source_range.duration.value
        if pending is not None:
            out[-1]["frames"] += pending.out_offset.value
            n += pending.in_offset.value
            pending = None
        out.append({"shot": item.name, "frames": int(n)})
    return out


def test_the_conform_from_the_otio_alone_is_the_master(built, tmp_path):
    """Every frame, each shot's first and last among them, bit-identical; every line to the sample."""
    cfg = load_config(ROOT / "tests" / "data" / "config.yaml")
    otio_path = built / "timelines" / f"{EP}.otio"
    timeline = conform_picture(otio_path, tmp_path / "conform.mkv", cfg["output"])
    w, h = timeline["width"], timeline["height"]
    ours, master = (
        decoded_frames(tmp_path / "conform.mkv", w, h),
        decoded_frames(built / "build" / EP / "master.mkv", w, h),
    )
    assert len(ours) == len(master) == timeline["total_frames"] == 158
    for row in timeline["shots"]:
        for f in (row["start_frame"], row["start_frame"] + row["frames"] - 1):
            assert np.array_equal(ours[f], master[f]), (row["shot"], f)
    assert min(psnr(a, b) for a, b in zip(ours, master)) == float("inf")
    offsets = line_offsets(otio_path, built / "audio" / EP / "stems" / "dialogue.wav")
    assert len(offsets) == 3 and all(want == found for _, want, found in offsets), offsets


def test_the_conform_of_dips_and_fades(tmp_path):
    """The synthetic episode of test_assemble (cuts, crossfades, dips to black and white, the
    episode's fades), assembled and conformed from its .otio: the same decoded frames."""
    from test_assemble import CFG, master_from_clips, plan_of, write_clip, write_mix, write_srt

    plan = plan_of()
    timeline = plan.timeline()
    clips = {}
    for i, row in enumerate(timeline["shots"]):
        clips[row["shot"]] = tmp_path / "clips" / f"{row['shot']}.mp4"
        clips[row["shot"]].parent.mkdir(exist_ok=True)
        write_clip(clips[row["shot"]], i, row["frames"])
    write_mix(tmp_path / "mix.wav", plan.total_frames)
    write_srt(tmp_path / "subs.srt", [(0.5, 1.0, "One.")])
    master_from_clips(
        timeline,
        [str(clips[r["shot"]]) for r in timeline["shots"]],
        str(tmp_path / "mix.wav"),
        str(tmp_path / "subs.srt"),
        str(tmp_path / "master.mkv"),
        CFG["output"],
    )
    shots = {s: {"seed": 1} for s in clips}
    paths = {
        "clips": clips,
        "voice": {},
        "music": {s["scene"]: tmp_path / f"{s['scene']}.wav" for s in plan.scenes},
        "stems": {k: tmp_path / "mix.wav" for k in ("dialogue", "music", "mix")},
    }
    tl = build_timeline(
        timeline, shots, {}, {"lines": []}, [(0.5, 1.0, "One.")], {}, paths, tmp_path / "timelines", 48000, "{}"
    )
    fades = [
        (
            c.name,
            [
                (e.metadata["tower"]["fade"], e.metadata["tower"]["frames"], e.metadata["tower"]["by"])
                for e in c.effects
            ],
        )
        for c in tl.video_tracks()[0].find_clips()
    ]
    assert fades[0] == ("a1", [("in", 6, "episode_fade")])
    assert ("b1", [("out", 3, "dip_to_black")]) in fades and ("c1", [("in", 4, "dip_to_black")]) in fades
    otio_path = tmp_path / "timelines" / "frames.otio"
    otio_path.parent.mkdir()
    write_timeline_files(tl, otio_path)
    rebuilt = conform_picture(otio_path, tmp_path / "conform.mkv", CFG["output"])
    assert rebuilt["shots"] == timeline["shots"]
    ours, master = decoded_frames(tmp_path / "conform.mkv", 64, 64), decoded_frames(tmp_path / "master.mkv", 64, 64)
    assert len(ours) == len(master) == plan.total_frames
    assert np.array_equal(ours, master)


# --- the way back --------------------------------------------------------------------------


def _edit(built, tmp_path, fn):
    work = fork_project(built, tmp_path)
    tl = load(work)
    fn(tl)
    path = work / "edited.otio"
    otio.adapters.write_to_file(tl, str(path))
    return work, path


def _diff(work, path, monkeypatch, capsys, *extra):
    monkeypatch.chdir(work)
    code = main(["--config", "tests/data/config.yaml", "timeline", "diff", EP, str(path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _frames(clip, add=0, start=None):
    r = clip.source_range
    clip.source_range = TR(r.start_time if start is None else RT(start, 24), r.duration + RT(add, 24))


def editor_edit(tl):
    """As an editor would: swap s1 and s2 (their lines move with them, handles kept), lengthen
    s3 by 6 frames at its tail, move Viktor's line a quarter second later."""
    picture, dialogue = tl.tracks[0], tl.tracks[1]
    s1, s2 = picture[0], picture[1]
    _frames(s1, -6)  # s1 now meets the crossfade: its last 6 frames become its handle
    _frames(s2, +6)  # s2 no longer does: the 6 frames of its handle come back
    picture.remove(s2)
    picture.insert(0, s2)
    _frames(picture[3], +6)
    s3 = picture[3]
    s3.media_reference.available_range = TR(RT(0, 24), RT(67, 24))
    gaps = [i for i in dialogue if isinstance(i, otio.schema.Gap)]
    lines = [i for i in dialogue if isinstance(i, otio.schema.Clip)]
    # s2 now starts at 0 (its line moves 49 frames earlier), s1 at 60 (its line 60 frames later)
    g = [48000 * x // 24 for x in (49, 60)]
    before = [dialogue.range_of_child(c).start_time.value for c in lines]
    new_starts = [before[0] + g[1], before[1] - g[0], before[2] + 12000]
    order = [lines[1], lines[0], lines[2]]
    starts = [new_starts[1], new_starts[0], new_starts[2]]
    dialogue[:] = []
    cursor = 0
    for clip, start in zip(order, starts):
        dialogue.append(otio.schema.Gap(source_range=TR(RT(0, 48000), RT(start - cursor, 48000))))
        dialogue.append(clip)
        cursor = start + clip.source_range.duration.value
    del gaps


def test_an_editors_edit_is_shown_and_applied_with_the_comments_kept(built, tmp_path, monkeypatch, capsys):
    work, path = _edit(built, tmp_path, editor_edit)
    story = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    before = story.read_text()
    code, out, err = _diff(work, path, monkeypatch, capsys)
    assert code == 0, err
    assert out.splitlines() == [
        "shot s3: frames 61 -> 67 (+6)",
        "scene street: shots s1 s2 -> s2 s1",
        "line s3_l1 (shot s3): at (after the previous line) -> 1.15",
    ]
    assert story.read_text() == before  # a diff writes nothing
    code, out, err = _diff(work, path, monkeypatch, capsys, "--apply")
    assert code == 0, err
    after = story.read_text()
    assert after.startswith("# The small test episode: 2 scenes, 3 shots, a crossfade")
    assert after.index("id: s2") < after.index("id: s1")
    assert "frames: 67" in after and "at: 1.15" in after
    assert "camera: {move: pull_out, framing: close}" in after  # flow style kept
    assert "\n  - id: office\n" in after and "\n      - id: s3\n" in after  # the file's indentation kept
    # the story now plans what the editor cut
    code, out, err = _diff(work, path, monkeypatch, capsys)
    assert code == 1 and "the story of test01 changed since" in err


@pytest.mark.parametrize(
    "name, edit, why",
    [
        (
            "a clip from outside",
            lambda tl: tl.tracks[0].append(
                otio.schema.Clip(
                    "b-roll",
                    media_reference=otio.schema.ExternalReference("../stock/city.mp4"),
                    source_range=TR(RT(0, 24), RT(24, 24)),
                )
            ),
            "clip 'b-roll' (../stock/city.mp4) is not a shot of the story",
        ),
        (
            "a shot moved to another scene",
            lambda tl: tl.tracks[0].append(tl.tracks[0].pop(0)),
            "shot s1 of scene street was moved out of its scene",
        ),
        (
            "the crossfade made a cut",
            lambda tl: tl.tracks[0].pop(2),
            "the transition before shot s3 (into scene office) is cut 0f, the story's is crossfade 12f",
        ),
        ("a line trimmed", lambda tl: _frames_audio(tl.tracks[1][1], -4800), "line s1_l1 was trimmed or retimed"),
    ],
)
def test_what_the_story_cannot_hold_is_refused_by_name(built, tmp_path, monkeypatch, capsys, name, edit, why):
    work, path = _edit(built, tmp_path, edit)
    story = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    before = story.read_text()
    code, out, err = _diff(work, path, monkeypatch, capsys, "--apply")
    assert code == 1 and "Nothing was written" in err, (out, err)
    assert f"refused: {why}" in out, out
    assert story.read_text() == before


def _frames_audio(clip, add):
    r = clip.source_range
    clip.source_range = TR(r.start_time, r.duration + RT(add, 48000))


def test_an_edit_is_applied_to_a_database_story_in_one_transaction(built, tmp_path, monkeypatch, capsys):
    from test_db_workflow import cli, use_database

    from tower_anime.store import connect
    from tower_anime.story.database import read_story

    monkeypatch.delenv("TOWER_DATABASE_URL", raising=False)
    work, path = _edit(built, tmp_path, editor_edit)
    story = tmp_path / "story"
    (story / "episodes").mkdir(parents=True)
    shutil.copy(work / "config" / "characters.yaml", story / "characters.yaml")
    shutil.copy(work / "tests" / "data" / "episodes" / f"{EP}.yaml", story / "episodes")
    cli(work, "db", "import", str(story))
    use_database(work)
    code, out, err = _diff(work, path, monkeypatch, capsys, "--apply")
    assert code == 0, err
    assert "wrote episode test01 in sqlite" in out
    with connect(f"sqlite:///{work / 'build' / 'tower.db'}") as db:
        scenes = read_story(db).episodes[EP]["scenes"]
    assert [s["id"] for s in scenes[0]["shots"]] == ["s2", "s1"]
    assert scenes[1]["shots"][0]["frames"] == 67 and scenes[1]["shots"][0]["dialogue"][0]["at"] == 1.15


# --- the frame exports land every item on its nearest frame ----------------------------------


def _ten_lines(sample_rate=48000):
    """Ten 1.3 s lines, each after 0.4 s of silence, on a 24 fps timeline; one subtitle marker at
    2.4-3.3 s (frames 57.6-79.2), written in milliseconds as build_timeline writes them."""
    tl = otio.schema.Timeline(name="drift", global_start_time=RT(0, 24))
    tl.metadata["tower"] = {"fps": 24, "sample_rate": sample_rate}
    dialogue = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    gap, line = round(0.4 * sample_rate), round(1.3 * sample_rate)
    for n in range(10):
        dialogue.append(otio.schema.Gap(source_range=TR(RT(0, sample_rate), RT(gap, sample_rate))))
        dialogue.append(
            otio.schema.Clip(
                name=f"akira: line {n}",
                media_reference=otio.schema.ExternalReference(
                    f"../audio/l{n}.wav", available_range=TR(RT(0, sample_rate), RT(line, sample_rate))
                ),
                source_range=TR(RT(0, sample_rate), RT(line, sample_rate)),
            )
        )
    tl.tracks.append(dialogue)
    tl.tracks.markers.append(
        otio.schema.Marker(
            name="Go!", marked_range=TR(RT(2400, 1000), RT(900, 1000)), color=otio.schema.MarkerColor.YELLOW
        )
    )
    return tl


def test_the_fcp_xml_puts_every_line_on_its_nearest_frame_without_drift(tmp_path):
    """Each line's start and end are its own time on the timeline rounded (9.6 -> 10, 50.4 -> 50,
    ..., 376.8 -> 377), not the sum of its rounded gaps and lengths (which drifted to 379)."""
    from tower_anime.editor.otio_timeline import export_fcp_xml

    export_fcp_xml(_ten_lines(), tmp_path / "drift.xml")
    back = otio.adapters.read_from_file(str(tmp_path / "drift.xml"))
    track = back.audio_tracks()[0]
    spans = [track.range_of_child(c) for c in track.find_clips()]
    true = [(24 * (0.4 + 1.7 * n), 24 * (1.7 + 1.7 * n)) for n in range(10)]
    assert [(s.start_time.value, s.end_time_exclusive().value) for s in spans] == [
        (round(a), round(b)) for a, b in true
    ]
    assert spans[-1].start_time.value == 377  # 376.8, not 379


def test_a_subtitle_marker_ends_on_the_frame_nearest_its_end(tmp_path):
    """57.6-79.2 frames is 58-79: the start and the end rounded, not the start and the length."""
    from tower_anime.editor.otio_timeline import export_fcp_xml

    export_fcp_xml(_ten_lines(), tmp_path / "marker.xml")
    back = otio.adapters.read_from_file(str(tmp_path / "marker.xml"))
    (marker,) = back.tracks.markers
    r = marker.marked_range
    assert (r.start_time.value, r.end_time_exclusive().value) == (58, 79)
    # the dialogue clip of the same kind: 50.4-81.6 is 50-82 (a 32-frame clip, not 31 from 50)
    track = back.audio_tracks()[0]
    second = track.range_of_child(track.find_clips()[1])
    assert (second.start_time.value, second.end_time_exclusive().value) == (50, 82)


FOUR_SPACES = """\
# An episode laid out with 4-space nested sequences.
title: "Four"
scenes:
    - id: street
      title: "Street"
      shots:
          - id: s1
            frames: 49  # the first shot, as the director asked
            camera: {move: push_in, framing: medium}
            action: Akira races through the street, past the neon signs and the crowds, the rain on the lenses.
            dialogue:
                - speaker: akira
                  text: "Go!"
          - id: s2
            duration: 2.5
            dialogue:
                - speaker: luna
                  text: 'Hurry.'
"""


def test_apply_keeps_the_files_own_indentation_and_comments(tmp_path):
    """A one-value edit is a one-line change: nested sequences stay indented as the file has them."""
    from tower_anime.editor.roundtrip import Edit, apply_yaml

    path = tmp_path / "four.yaml"
    path.write_text(FOUR_SPACES)
    edit = Edit(frames={"s1": (49, 55)})
    checked = []
    apply_yaml(edit, "four", path, checked.append)
    assert checked[0]["scenes"][0]["shots"][0]["frames"] == 55
    after = path.read_text()
    changed = [(a, b) for a, b in zip(FOUR_SPACES.splitlines(), after.splitlines()) if a != b]
    assert len(after.splitlines()) == len(FOUR_SPACES.splitlines())
    assert changed == [
        (
            "            frames: 49  # the first shot, as the director asked",
            "            frames: 55  # the first shot, as the director asked",
        )
    ]


def test_a_cut_shorter_than_its_lines_need_is_refused_not_grown_back(built, tmp_path, monkeypatch, capsys):
    # s2 cut to just past its line's real voice, and the dialogue after it moved up with it
    # (a ripple trim), as an editor would. The plan estimates a line before any voice exists,
    # on the long side, and voice.fit_lines would grow s2 back to hold that estimate: the story
    # written would not be the editor's cut, and every shot after s2 would move
    placement = json.loads((built / "build" / EP / "placement.json").read_text())["lines"]
    line = next(c for c in placement if c["line"] == "s2_l1")
    keep = math.ceil((line["end"] - line["window"][0]) * 24) + 2

    def cut_s2(tl):
        picture, dialogue = tl.tracks[0], tl.tracks[1]
        s2 = picture[1]
        cut = s2.source_range.duration.to_frames() - keep
        _frames(s2, -cut)
        clips = [i for i, item in enumerate(dialogue) if isinstance(item, otio.schema.Clip)]
        after = dialogue[clips[1] + 1]  # the gap after s2's line
        r = after.source_range
        after.source_range = TR(r.start_time, r.duration - RT(cut * r.duration.rate / 24, r.duration.rate))

    work, path = _edit(built, tmp_path, cut_s2)
    story = work / "tests" / "data" / "episodes" / f"{EP}.yaml"
    before = story.read_text()
    code, out, err = _diff(work, path, monkeypatch, capsys, "--apply")
    cut = re.search(r"shot s2: frames 60 -> (\d+)", out)
    assert code == 1 and cut and int(cut.group(1)) < 60, (out, err)
    assert f"shot s2: the editor's cut holds {cut.group(1)} frames but the story plans it at" in err, (out, err)
    assert story.read_text() == before
