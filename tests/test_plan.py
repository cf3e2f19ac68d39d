"""Story -> plan: frame-exact timing, and specs that carry exactly what shapes each output."""

import copy

from conftest import ROOT

from tower_anime.story import dumps, load_story, plan_story


def make_plan(test_config, story=None):
    story = story or load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes")
    return story, plan_story(story, test_config)["test01"]


def test_frames_and_crossfade_timing(test_config):
    _, plan = make_plan(test_config)
    rows = {s["shot"]: s for s in plan.shots}
    assert rows["s1"]["frames"] == 49 and rows["s1"]["start_frame"] == 0
    assert rows["s2"]["frames"] == 60 and rows["s2"]["start_frame"] == 49  # 2.5 s at 24 fps
    assert rows["s3"]["transition_in"] == "crossfade" and rows["s3"]["transition_frames"] == 12
    assert rows["s3"]["start_frame"] == 49 + 60 - 12
    assert plan.total_frames == 49 + 60 + 61 - 12
    assert [(s["scene"], s["start_frame"], s["frames"]) for s in plan.scenes] == [
        ("street", 0, 109),
        ("office", 97, 61),
    ]
    assert plan.music["office"]["duration"] == round(61 / 24, 4)


def test_line_ids_and_earliest_starts(test_config):
    _, plan = make_plan(test_config)
    assert list(plan.lines) == ["s1_l1", "s2_l1", "s3_l1"]
    cue = {c["line"]: c for c in plan.cues}
    assert cue["s2_l1"]["earliest"] == round(49 / 24 + test_config["voice"]["first_line_at"], 4)


def _specs(plan):
    return {
        **{f"still:{k}": dumps(v) for k, v in plan.stills.items()},
        **{f"clip:{k}": dumps(v) for k, v in plan.clips.items()},
        **{f"voice:{k}": dumps(v) for k, v in plan.lines.items()},
        **{f"music:{k}": dumps(v) for k, v in plan.music.items()},
        "timeline": dumps(plan.timeline()),
        "audio": dumps(plan.audio_timeline()),
    }


def changed_specs(test_config, edit):
    story, before = make_plan(test_config)
    story2 = copy.deepcopy(story)
    edit(story2)
    _, after = make_plan(test_config, story2)
    a, b = _specs(before), _specs(after)
    return sorted(k for k in a if a[k] != b[k])


def test_action_edit_touches_only_that_shot(test_config):
    def edit(s):
        s.episodes["test01"]["scenes"][0]["shots"][1]["action"] = "Luna runs."

    assert changed_specs(test_config, edit) == ["clip:s2", "still:s2"]


def test_character_description_touches_only_their_shots(test_config):
    def edit(s):
        s.characters["luna"]["description"] = "AI researcher with a red scarf"

    assert changed_specs(test_config, edit) == ["clip:s2", "still:s2"]


def test_dialogue_edit_touches_only_its_voice_and_audio_timeline(test_config):
    def edit(s):
        s.episodes["test01"]["scenes"][1]["shots"][0]["dialogue"][0]["text"] = "Welcome!"

    assert changed_specs(test_config, edit) == ["audio", "voice:s3_l1"]


def test_a_line_too_long_for_its_shot_grows_it_and_moves_what_follows(test_config):
    def edit(s):
        s.episodes["test01"]["scenes"][0]["shots"][1]["dialogue"][0]["text"] = "Hurry, the drones are coming."

    changed = changed_specs(test_config, edit)
    assert {"voice:s2_l1", "clip:s2", "audio", "timeline", "music:street"} <= set(changed)
    assert "still:s2" not in changed and "clip:s1" not in changed


def test_mood_edit_touches_only_that_scenes_music(test_config):
    def edit(s):
        s.episodes["test01"]["scenes"][1]["mood"] = "triumphant"

    assert changed_specs(test_config, edit) == ["music:office"]


def test_voice_setting_touches_only_that_speakers_lines(test_config):
    def edit(s):
        s.characters["viktor"]["voice"]["pitch"] = -6

    assert changed_specs(test_config, edit) == ["voice:s3_l1"]


def test_duration_edit_moves_the_timeline_not_the_still(test_config):
    def edit(s):
        s.episodes["test01"]["scenes"][0]["shots"][0]["frames"] = 73

    changed = changed_specs(test_config, edit)
    assert "still:s1" not in changed
    assert {"clip:s1", "timeline", "audio", "music:street"} <= set(changed)


def test_plan_into_a_closed_pipe_ends_quietly(root):
    """`tower-anime plan ep01 | head -1`: the reader goes away; no BrokenPipeError traceback.
    The read end is closed before the command prints (it takes a while to plan), so every
    run meets the closed pipe, which `head` meets only when the output outgrows its buffer."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "tower_anime.cli", "plan", "ep01"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and "Traceback" not in err and "BrokenPipe" not in err


def test_a_palette_edit_touches_only_that_characters_shots(test_config):
    def edit(s):
        s.characters["viktor"]["palette"]["outfit"] = "#102030"

    assert changed_specs(test_config, edit) == ["clip:s3", "still:s3"]


def _style_specs(test_config, look, music_style):
    from tower_anime.facts.context import PromptContext
    from tower_anime.facts.files import make_fact

    story = load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes")
    facts = [
        make_fact("Style Bible", "look", look, "test"),
        make_fact("Style Bible", "music_style", music_style, "test"),
    ]
    context = PromptContext(facts, story.characters, stage_style={"stills": ["look"], "music": ["music_style"]})
    return _specs(plan_story(story, test_config, context)["test01"])


def test_the_style_bible_touches_every_still_and_clip_or_every_cue(test_config):
    base = _style_specs(test_config, "ink wash", "lo-fi")
    look = _style_specs(test_config, "cel shaded", "lo-fi")
    music = _style_specs(test_config, "ink wash", "orchestral")
    assert sorted(k for k in base if base[k] != look[k]) == [
        "clip:s1",
        "clip:s2",
        "clip:s3",
        "still:s1",
        "still:s2",
        "still:s3",
    ]
    assert sorted(k for k in base if base[k] != music[k]) == ["music:office", "music:street"]


def test_the_music_text_shapes_the_embedded_cue_only_when_the_mood_names_none(test_config):
    story = load_story(ROOT / "config" / "characters.yaml", ROOT / "tests" / "data" / "episodes")
    scene = story.episodes["test01"]["scenes"][0]
    before = make_plan(test_config, story)[1].music["street"]
    scene["music"] = "slow harp"  # mood "tense" decides the cue: the same cue
    assert make_plan(test_config, story)[1].music["street"] == before
    scene["mood"] = "peculiar"  # no mood the composer knows: the music text may decide
    unknown = make_plan(test_config, story)[1].music["street"]
    scene["music"] = "soft piano"
    assert make_plan(test_config, story)[1].music["street"]["cue"] == "soft piano" != unknown["cue"]
