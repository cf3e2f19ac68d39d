"""Bad inputs refused before any job, one line each naming the file, the field and the fix:
duplicate keys, bytes that are not UTF-8, ids with a trailing newline, unsafe episode lists,
reference pictures, out-of-range numbers, text that cannot be spoken or subtitled, and the
one-line errors of the CLI and the database helpers."""

import math
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, copy_workflow, dump_yaml, load_yaml, small_snakemake, snakemake
from PIL import Image

from tower_anime.check import check_config_file, check_inputs
from tower_anime.cli import main
from tower_anime.errors import DatabaseError, InvalidInput, TowerError
from tower_anime.schema import read_yaml
from tower_anime.story.load import SAFE_ID


def base_config(story_dir, **sections):
    cfg = {
        "story": {"characters": str(story_dir / "characters.yaml"), "episodes_dir": str(story_dir / "episodes")},
        "facts": {"source": "none"},
        "backends": {"voice": "espeak"},
    }
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    return cfg


def refused(fn, *args, **kwargs):
    with pytest.raises(InvalidInput) as exc:
        fn(*args, **kwargs)
    return [str(p) for p in exc.value.problems]


def refused_config(story_dir, **sections):
    return refused(check_inputs, base_config(story_dir, **sections), "my.yaml")


def edit_episode(story_dir, edit):
    path = story_dir / "episodes" / "test01.yaml"
    doc = load_yaml(path)
    edit(doc)
    dump_yaml(doc, path)
    return path


def edit_characters(story_dir, edit):
    path = story_dir / "characters.yaml"
    doc = load_yaml(path)
    edit(doc)
    dump_yaml(doc, path)
    return path


def shot(doc, scene=0, index=0):
    return doc["scenes"][scene]["shots"][index]


def test_the_test_story_passes(story_dir):
    checked = check_inputs(base_config(story_dir), "my.yaml")
    assert list(checked.plans) == ["test01"]


# 1. duplicate keys, in every YAML the project reads ---------------------------------------


def test_duplicate_key_in_an_episode_names_file_and_line(story_dir):
    path = story_dir / "episodes" / "test01.yaml"
    text = path.read_text().replace("        frames: 49\n", "        frames: 49\n        frames: 14400\n", 1)
    path.write_text(text)
    line = text.splitlines().index("        frames: 14400") + 1
    found = refused_config(story_dir)
    assert found == [
        f"{path}: line {line}, column 9: not valid YAML: duplicate key 'frames' (first at line {line - 1}); "
        "YAML keeps only the last value, so remove or rename one of them"
    ]


@pytest.mark.parametrize(
    "name, text",
    [
        ("config.yaml", "music:\n  bed_level_db: -8\n  bed_level_db: -1000000000\n"),
        ("characters.yaml", "characters:\n  a: {name: A}\n  a: {name: B}\n"),
        ("facts.yaml", "facts:\n  - {subject: x, predicate: y, object: z, subject: w}\n"),
    ],
)
def test_duplicate_keys_are_refused_in_every_yaml(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    found = refused(read_yaml, path)
    assert len(found) == 1 and found[0].startswith(f"{path}: line ") and "duplicate key" in found[0]


def test_a_merge_key_may_be_overridden(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("base: &b {a: 1, c: 3}\nx:\n  <<: *b\n  a: 2\n")
    assert read_yaml(path)["x"] == {"a": 2, "c": 3}


# 2. bytes that are not UTF-8; 3. malformed config ------------------------------------------


def test_a_file_that_is_not_utf8_names_the_byte(story_dir):
    path = story_dir / "episodes" / "test01.yaml"
    raw = path.read_bytes()
    at = raw.index(b"Akira races")
    path.write_bytes(raw[:at] + b"\xff" + raw[at + 1 :])
    found = refused_config(story_dir)
    line = raw[:at].count(b"\n") + 1
    assert found == [f"{path}: byte {at} (line {line}): not UTF-8 text (byte 0xff); save the file as UTF-8"]


def test_malformed_config_names_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("story:\n  episodes: [test01\nbackends: {voice: espeak}\n")
    found = refused(check_config_file, path)
    assert len(found) == 1 and found[0].startswith(f"{path}: line 3, column ") and "not valid YAML" in found[0]


def test_cli_prints_one_line_per_problem_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("output:\n  width: 100000\n  width: 768\n")
    ranges = tmp_path / "ranges.yaml"
    ranges.write_text("output: {width: 100000}\nmusic: {bed_level_db: -1.0e+9}\n")
    for path, wanted in (
        (bad, [f"{bad}: line 3, column 3: not valid YAML: duplicate key 'width'"]),
        (ranges, [f"{ranges}: music.bed_level_db: got -1000000000.0", f"{ranges}: output.width: got 100000"]),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "tower_anime.cli", "--config", str(path), "validate"],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        lines = proc.stderr.splitlines()
        assert lines[0] == f"tower-anime: {len(wanted)} problem(s) in the story/config:"
        assert len(lines) == 1 + len(wanted)
        for line, want in zip(lines[1:], wanted):
            assert line.startswith(f"  - {want}")


def test_debug_shows_the_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: 1\na: 2\n")
    assert main(["--config", str(bad), "validate"]) == 1
    assert "duplicate key 'a'" in capsys.readouterr().err
    with pytest.raises(InvalidInput):
        main(["--debug", "--config", str(bad), "validate"])


# 4. ids match exactly; 5. story.episodes -------------------------------------------------


def test_an_id_with_a_trailing_newline_is_refused(story_dir):
    assert SAFE_ID.match("ep01\n") is None and SAFE_ID.match("ep01")
    path = edit_episode(story_dir, lambda d: shot(d).update(id="s1\n"))
    found = refused_config(story_dir)
    assert found[0].startswith(f"{path}: scenes[0].shots[0].id: got 's1\\n'; expected an id of letters")
    path = edit_characters(story_dir, lambda d: d["characters"].update({"mei\n": d["characters"]["akira"]}))
    found = refused_config(story_dir)
    assert any(p.startswith(f"{path}: characters.'mei\\n': bad key; expected an id") for p in found), found


@pytest.mark.parametrize(
    "episodes, wanted",
    [
        (["../../etc/x"], "my.yaml: story.episodes[0]: got '../../etc/x'; expected an id of letters"),
        (["test01\n"], "my.yaml: story.episodes[0]: got 'test01\\n'; expected an id of letters"),
        (
            ["test01", "nope"],
            "my.yaml: story.episodes[1]: got 'nope'; no such episode in the story; expected one of ['test01']",
        ),
    ],
)
def test_story_episodes_must_be_safe_known_ids(story_dir, episodes, wanted):
    found = refused_config(story_dir, story={"episodes": episodes})
    assert len(found) == 1 and found[0].startswith(wanted)


# 6. reference pictures -------------------------------------------------------------------


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    "make, wanted",
    [
        (lambda root: "refs/missing.png", "no such file in the project folder"),
        (lambda root: "/etc/passwd", "outside the project folder"),
        (lambda root: "../outside.png", "outside the project folder"),
        (
            lambda root: _write(root / "refs" / "a.png", "not a picture") or "refs/a.png",
            "not a picture Pillow can decode",
        ),
    ],
)
def test_a_bad_reference_image_is_named(story_dir, monkeypatch, make, wanted):
    monkeypatch.chdir(story_dir)
    ref = make(story_dir)
    path = edit_characters(story_dir, lambda d: d["characters"]["luna"].update(reference_image=ref))
    found = refused_config(story_dir)
    assert len(found) == 1
    assert found[0].startswith(f"{path}: characters.luna.reference_image: got {ref!r}") and wanted in found[0]


def test_a_good_reference_image_is_accepted(story_dir, monkeypatch):
    monkeypatch.chdir(story_dir)
    (story_dir / "refs").mkdir()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(story_dir / "refs" / "luna.png")
    edit_characters(story_dir, lambda d: d["characters"]["luna"].update(reference_image="refs/luna.png"))
    assert check_inputs(base_config(story_dir), "my.yaml").plans


def test_a_truncated_png_is_refused(story_dir, monkeypatch):
    monkeypatch.chdir(story_dir)
    Image.new("RGB", (64, 64), (200, 30, 30)).save(story_dir / "luna.png")
    data = (story_dir / "luna.png").read_bytes()
    (story_dir / "luna.png").write_bytes(data[: len(data) // 2])
    edit_characters(story_dir, lambda d: d["characters"]["luna"].update(reference_image="luna.png"))
    found = refused_config(story_dir)
    assert "characters.luna.reference_image: got 'luna.png', which is not a picture Pillow can decode" in found[0]


# 7. ranges -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section, values, field, wanted",
    [
        (
            "output",
            {"width": 100000},
            "output.width",
            "got 100000; expected frame width in pixels, a multiple of 32 from 64 to 4096",
        ),
        ("output", {"height": 720}, "output.height", "got 720; expected frame height in pixels"),
        ("output", {"fps": 0}, "output.fps", "got 0; expected frames per second, 1 to 120"),
        (
            "music",
            {"bed_level_db": -1e9},
            "music.bed_level_db",
            "got -1000000000.0; expected music level under the mix before loudness normalisation, -60 to 0 dB",
        ),
        ("music", {"bed_level_db": math.nan}, "music.bed_level_db", "got nan; expected a finite number"),
        ("comfyui", {"timeouts": {"job": 1e12}}, "comfyui.timeouts.job", "got 1000000000000.0"),
        ("voice", {"http": {"retries": 1000}}, "voice.http.retries", "got 1000"),
        ("voice", {"http": {"timeout_s": math.inf}}, "voice.http.timeout_s", "got inf"),
        ("mix", {"duck_release_ms": 1e9}, "mix.duck_release_ms", "got 1000000000.0"),
    ],
)
def test_out_of_range_config_is_refused(story_dir, section, values, field, wanted):
    found = refused_config(story_dir, **{section: values})
    assert any(p.startswith(f"my.yaml: {field}: {wanted}") for p in found), found


@pytest.mark.parametrize(
    "edit, field, wanted",
    [
        (
            lambda d: shot(d).update(frames=10**9),
            "scenes[0].shots[0].frames",
            "got 1000000000; expected a positive whole number",
        ),
        (lambda d: shot(d, 0, 1).update(duration=math.inf), "scenes[0].shots[1].duration", "got inf"),
        (
            lambda d: shot(d).update(seed=-1),
            "scenes[0].shots[0].seed",
            "got -1; expected a whole number from 0 to 4294967295",
        ),
        (
            lambda d: shot(d)["dialogue"][0].update(at=math.nan),
            "scenes[0].shots[0].dialogue[0].at",
            "got nan; expected a finite number",
        ),
        (lambda d: d["scenes"][1].update(transition_seconds=1e6), "scenes[1].transition_seconds", "got 1000000.0"),
        (lambda d: d["scenes"][0].update(music_seed=2**40), "scenes[0].music_seed", "got 1099511627776"),
    ],
)
def test_out_of_range_episode_values_are_refused(story_dir, edit, field, wanted):
    path = edit_episode(story_dir, edit)
    found = refused_config(story_dir)
    assert any(p.startswith(f"{path}: {field}: {wanted}") for p in found), found


@pytest.mark.parametrize(
    "voice, field", [({"pitch": 100}, "pitch"), ({"speed": math.nan}, "speed"), ({"speed": 0}, "speed")]
)
def test_out_of_range_voice_is_refused(story_dir, voice, field):
    path = edit_characters(story_dir, lambda d: d["characters"]["akira"].update(voice=voice))
    found = refused_config(story_dir)
    assert any(p.startswith(f"{path}: characters.akira.voice.{field}: got") for p in found), found


# 8. text that cannot be spoken, drawn or muxed --------------------------------------------


@pytest.mark.parametrize(
    "edit, field, wanted",
    [
        (
            lambda d: shot(d)["dialogue"][0].update(text="   \n "),
            "scenes[0].shots[0].dialogue[0].text",
            "is only white space",
        ),
        (
            lambda d: shot(d).update(action="runs\x00away"),
            "scenes[0].shots[0].action",
            "holds the control character U+0000",
        ),
        (
            lambda d: d["scenes"][0].update(title="Street\x1b[31m"),
            "scenes[0].title",
            "holds the control character U+001B",
        ),
        (lambda d: d["scenes"][0].update(title="Street\nnight"), "scenes[0].title", "holds a line break or tab"),
        (lambda d: shot(d).update(action="x" * 1_000_000), "scenes[0].shots[0].action", "got 'xxxx"),
        (
            lambda d: shot(d)["dialogue"][0].update(text="<i>Go!</i>"),
            "scenes[0].shots[0].dialogue[0].text",
            "holds '<i>', which subtitle players draw as formatting (or hide) instead of showing it; write the words without <...> tags",
        ),
        (
            lambda d: shot(d)["dialogue"][0].update(text="{\\an8}Go!"),
            "scenes[0].shots[0].dialogue[0].text",
            "holds a brace '{' or '}': players read {...} as a subtitle override",
        ),
        (
            lambda d: shot(d)["dialogue"][0].update(text="Go {{ name }}!"),
            "scenes[0].shots[0].dialogue[0].text",
            "holds a brace",
        ),
        (
            lambda d: shot(d)["dialogue"][0].update(text="Open C:\\Nexus\\new_logs now."),
            "scenes[0].shots[0].dialogue[0].text",
            "holds '\\N', which players show as a line break or a space",
        ),
    ],
)
def test_text_that_cannot_be_spoken_or_shown_is_refused(story_dir, edit, field, wanted):
    path = edit_episode(story_dir, edit)
    found = refused_config(story_dir)
    assert len(found) == 1 and found[0].startswith(f"{path}: {field}: {wanted}"), found


def test_a_nul_in_a_character_name_is_refused(story_dir):
    path = edit_characters(story_dir, lambda d: d["characters"]["akira"].update(name="Aki\x00ra"))
    found = refused_config(story_dir)
    assert found == [
        f"{path}: characters.akira.name: holds the control character U+0000 (a NUL, escape or similar "
        "cannot be spoken, drawn or muxed); remove it"
    ]


# 9. one line where a traceback was -------------------------------------------------------


def test_a_template_the_sandbox_refuses_is_one_line(story_dir):
    body = '{"x": {{ text.__class__.__mro__[1].__subclasses__() | length }}}'
    found = refused_config(story_dir, backends={"voice": "http"}, voice={"http": {"body": body}})
    assert found and all(
        p.startswith("my.yaml: voice.http.body: does something the template sandbox refuses") for p in found
    )


def test_db_export_onto_a_file_is_one_line(tmp_path):
    target = tmp_path / "story.txt"
    target.write_text("keep me")
    db = f"sqlite:///{tmp_path / 'tower.db'}"
    assert main(["db", "import", str(ROOT / "config"), "--database", db]) == 0
    with pytest.raises(TowerError, match=rf"cannot export the story to {target}: {target} exists and is not a folder"):
        main(["--debug", "db", "export", str(target), "--database", db])
    assert target.read_text() == "keep me"


def test_a_bracket_in_a_database_url_is_one_line():
    from tower_anime.store import parse_url

    with pytest.raises(DatabaseError) as exc:
        parse_url("postgresql://tower:pa[ss@h/db")
    assert str(exc.value).startswith("cannot read database URL postgresql://tower:***@h/db: Invalid IPv6 URL")
    assert "pa[ss" not in str(exc.value)


def test_a_one_frame_clip_is_measured():
    from tower_anime.qc.clip import FrameStats

    stats = FrameStats(0.08, 0.98, 0.001)
    stats.add(np.full((1, 8, 8), 128, dtype=np.uint8))
    assert stats.count == 1
    stats.full((16, 235))  # measured, not a crash


# 10. masking -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url, masked",
    [
        ("postgresql://tower:p@ss@db.example/prod", "postgresql://tower:***@db.example/prod"),
        ("postgresql://tower:a@b@c@h:5433/prod", "postgresql://tower:***@h:5433/prod"),
        ("postgresql://tower:p#ss@h/prod", "postgresql://tower:***@h/prod"),
        ("postgresql://tower:p/ss?x@h/prod", "postgresql://tower:***@h/prod"),
    ],
)
def test_credentials_end_at_the_last_at(url, masked):
    from tower_anime.audio.service import Masker
    from tower_anime.store import mask_url

    assert mask_url(url) == masked
    assert Masker("tok")(f"GET {url} failed: tok") == f"GET {masked} failed: ***"


def test_an_unescaped_at_never_reaches_a_message():
    from tower_anime.store import connect

    with pytest.raises(DatabaseError) as exc:
        connect("postgresql://tower:se@cret@127.0.0.1:1/tower")
    assert "cret" not in str(exc.value) and "se@" not in str(exc.value)


# 12. the workflow stops before any job ---------------------------------------------------


def test_the_workflow_stops_before_any_job_on_a_duplicate_key(tmp_path):
    work = copy_workflow(tmp_path / "wf")
    cfg = work / "tests" / "data" / "config.yaml"
    cfg.write_text(cfg.read_text() + "mix:\n  duck_ratio: 8\n  duck_ratio: 20\n")
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "Tower: 1 problem(s) in the story/config:\n  - " in proc.stderr
    assert (
        f"  - {work}/tests/data/config.yaml: line 12, column 3: not valid YAML: duplicate key 'duck_ratio' "
        "(first at line 11)"
    ) in proc.stderr
    assert "duplicate key 'duck_ratio'" in proc.stderr and "Nothing was run." in proc.stderr
    assert not (work / "build").exists()
    shutil.rmtree(work)


def test_a_frame_rate_that_makes_the_shortest_subtitle_longer_than_the_longest_is_refused_by_field():
    """At 1 fps the default shortest event (20 frames) is 20 s, longer than the longest (7 s):
    refused when the config is read, naming the field, for each language's limits."""
    from tower_anime.config import validate_config

    with pytest.raises(InvalidInput) as e:
        validate_config({"output": {"fps": 1}})
    fields = [p.field for p in e.value.problems]
    assert fields[0] == "subtitles.min_duration_frames" and "(output.fps: 1)" in str(e.value)
    assert all(f.endswith("min_duration_frames") for f in fields)
    validate_config({"output": {"fps": 1}, "subtitles": {"min_duration_frames": 5, "languages": {}}})


def test_a_minimum_over_its_maximum_and_a_bitrate_opus_refuses_are_refused_by_field(story_dir):
    found = refused_config(story_dir, qc={"voice": {"min_chars_per_second": 50, "max_chars_per_second": 5}})
    assert found == [
        "my.yaml: qc.voice.min_chars_per_second: got 50, more than qc.voice.max_chars_per_second (5): "
        "no value could pass; lower min_chars_per_second or raise max_chars_per_second"
    ], found
    for rate in ("99999999k", "0k", "513k"):
        found = refused_config(story_dir, output={"audio_bitrate": rate})
        assert len(found) == 1 and found[0].startswith(f"my.yaml: output.audio_bitrate: got {rate!r}"), found
    found = refused_config(story_dir, review={"preview": {"audio_bitrate": "600k"}})
    assert len(found) == 1 and found[0].startswith("my.yaml: review.preview.audio_bitrate: got '600k'"), found
    for rate in ("1k", "512k"):  # the ends of what libopus encodes in stereo
        check_inputs(base_config(story_dir, output={"audio_bitrate": rate}), "my.yaml")


WAIVER = {"kind": "still", "item": "test01/s1", "check": "palette[akira]", "reason": "drawn from behind on purpose"}


@pytest.mark.parametrize(
    "qc, field, wanted",
    [
        ({"waive": [{**WAIVER, "item": "test99/s1"}]}, "qc.waive[0].item", "got 'test99/s1'; the story has no still"),
        ({"clip": {"frozen_exempt": {"camera": ["statik"]}}}, "qc.clip.frozen_exempt.camera[0]", "got 'statik'"),
        ({"clip": {"first_frame_exempt": {"kamera": ["pan_left"]}}}, "qc.clip.first_frame_exempt.kamera", "unknown"),
    ],
)
def test_a_waiver_or_exemption_that_names_nothing_is_refused(story_dir, qc, field, wanted):
    found = refused_config(story_dir, qc=qc)
    assert len(found) == 1 and found[0].startswith(f"my.yaml: {field}: {wanted}"), found


def test_a_waiver_of_an_item_its_episode_lacks_is_a_note_not_a_refusal(story_dir):
    # a shot removed, or a line renumbered by a deletion, must not stop the build
    stale = [{**WAIVER, "item": "test01/sl"}, {**WAIVER, "kind": "voice"}]
    plans = check_inputs(base_config(story_dir, qc={"waive": stale}), "my.yaml").plans
    notes = [n for n in plans["test01"].notes if n.startswith("qc.waive")]
    assert notes == [
        "qc.waive[0] names still 'test01/sl', which the story does not have (a typo, or removed?): "
        "it waives nothing; correct or delete it",
        "qc.waive[1] names voice 'test01/s1', which the story does not have (a typo, or removed?): "
        "it waives nothing; correct or delete it",
    ], notes


def test_a_waiver_of_a_real_item_and_the_default_exemptions_pass(story_dir):
    line = {**WAIVER, "kind": "voice", "item": "test01/s1_l1", "check": "chars_per_second"}
    check_inputs(base_config(story_dir, qc={"waive": [WAIVER, line]}), "my.yaml")


def test_an_audience_language_that_is_no_language_is_refused(story_dir):
    found = refused_config(story_dir, output={"subtitle_language": "zzz"})
    assert len(found) == 1 and found[0].startswith("my.yaml: output.subtitle_language: got 'zzz'"), found
    for code in ("jpn", "deu", "ger", "zho"):  # ISO 639-2/B and /T codes Tower knows
        check_inputs(base_config(story_dir, output={"subtitle_language": code}), "my.yaml")


# 13. values no field can use: a recursive alias, a value nested past any field --------------


@pytest.mark.parametrize(
    "where, edit, line, alias",
    [
        # an episode title that holds itself
        ("tests/data/episodes/test01.yaml", lambda text: "title: &t [*t]\nscenes: []\n", 1, "&t ... *t"),
        # a character's voice that holds itself
        (
            "config/characters.yaml",
            lambda text: re.sub(
                r"(?m)^    voice: \{.*$", "    voice: &v {pitch: 0, speed: 1.08, timbre: *v}", text, count=1
            ),
            None,
            "&v ... *v",
        ),
        # the workflow's own config file (read with the --configfile one)
        ("config/config.yaml", lambda text: text + "style: &s {look: x, lens: *s}\n", None, "&s ... *s"),
    ],
)
def test_a_recursive_alias_is_one_line_in_the_workflow_and_the_cli(tmp_path, where, edit, line, alias):
    """Was a RecursionError: 'unexpected error' from the CLI, a 990-line traceback from Snakemake."""
    work = copy_workflow(tmp_path / "wf")
    path = work / where
    text = edit(path.read_text())
    assert alias[:2] in text
    path.write_text(text)
    line = line or next(i for i, t in enumerate(text.splitlines(), 1) if alias[:2] in t)
    wanted = f"{where}: line {line}, column "
    says = f"a recursive alias ({alias}): the value holds itself, which no field can use; write the value out"
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "RecursionError" not in proc.stderr
    problems = [p for p in proc.stderr.splitlines() if p.startswith("  - ")]
    assert len(problems) == 1 and problems[0].startswith(f"  - {wanted}") and says in problems[0], proc.stderr[-3000:]
    assert "Nothing was run." in proc.stderr and len(proc.stderr.splitlines()) < 10
    config = "config/config.yaml" if where == "config/config.yaml" else "tests/data/config.yaml"
    cli = subprocess.run(
        [sys.executable, "-m", "tower_anime.cli", "--config", config, "validate"],
        capture_output=True,
        text=True,
        cwd=work,
    )
    assert cli.returncode == 1 and "Traceback" not in cli.stderr and "unexpected error" not in cli.stderr
    assert cli.stderr.splitlines()[1].startswith(f"  - {wanted}") and says in cli.stderr, cli.stderr


def test_a_value_nested_past_any_field_is_one_line(story_dir):
    path = story_dir / "episodes" / "test01.yaml"
    text = path.read_text()
    path.write_text(text.replace("title:", "title: " + "[" * 500 + "]" * 500 + "\nold_title:", 1))
    found = refused_config(story_dir)
    assert found == [
        f"{path}: line 2, column 107: nested more than 100 levels deep, which no field is; check the brackets "
        "and the indentation"
    ]


# 14. config/config.yaml as the workflow reads it: empty is every default -------------------


@pytest.mark.parametrize("text", ["", "# every key at its default\n"])
def test_an_empty_config_file_is_every_default_in_the_workflow(tmp_path, text):
    """`tower-anime validate` took an empty config/config.yaml; Snakemake's `configfile:`
    stopped it ("Config file must be given as JSON or YAML with keys at top level")."""
    work = copy_workflow(tmp_path / "wf")
    (work / "config" / "config.yaml").write_text(text)
    proc = small_snakemake(work, "-n")  # no --configfile: the defaults alone (config/episodes/ep01.yaml)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "episodes/ep01.mkv" in proc.stdout and "WorkflowError" not in proc.stderr
    proc = snakemake(work, "-n", "--cores", "1")  # and under the test config
    assert "episodes/test01.mkv" in proc.stdout


@pytest.mark.parametrize("text, got", [("- a\n- b\n", "['a', 'b']"), ("42\n", "42"), ("hello\n", "'hello'")])
def test_a_config_file_that_is_not_a_mapping_is_one_line(tmp_path, text, got):
    work = copy_workflow(tmp_path / "wf")
    (work / "config" / "config.yaml").write_text(text)
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "WorkflowError" not in proc.stderr
    assert f"Tower: 1 problem(s) in the story/config:\n  - config/config.yaml: (top level): got {got}; expected" in (
        proc.stderr
    )
    assert "Nothing was run." in proc.stderr


# 15. ids Snakemake refuses as wildcard values ----------------------------------------------


def test_an_id_snakemake_would_take_for_an_endless_loop_is_refused_by_field(tmp_path):
    """A run of 20 or more repeats of one piece at the end of a wildcard value is Snakemake's
    PeriodicWildcardError; 19 pass."""
    work = copy_workflow(tmp_path / "wf")
    path = work / "tests" / "data" / "episodes" / "test01.yaml"
    doc = load_yaml(path)
    doc["scenes"][0]["id"] = "scene_" + "x" * 20
    shot(doc)["id"] = "shot_" + "0" * 20
    shot(doc, 0, 1)["id"] = "a" + "_l1" * 19  # its line is a + 20 times _l1
    dump_yaml(doc, path)
    proc = snakemake(work, "-n", "--cores", "1", check=False)
    assert proc.returncode == 1 and "PeriodicWildcardError in rule" not in proc.stderr, proc.stderr[-3000:]
    fix = "write the id without a run of 20 or more repeats of one piece at its end"
    where = "  - tests/data/episodes/test01.yaml"
    problems = [p for p in proc.stderr.splitlines() if p.startswith("  - ")]
    assert problems == [
        f"{where}: scenes[0].id: got 'scene_{'x' * 20}', which ends in 'x' repeated 20 times: Snakemake stops such a "
        f"name as a loop of rules without end (PeriodicWildcardError); {fix}",
        f"{where}: scenes[0].shots[0].id: got 'shot_{'0' * 20}', which ends in '0' repeated 20 times: Snakemake "
        f"stops such a name as a loop of rules without end (PeriodicWildcardError); {fix}",
        f"{where}: scenes[0].shots[1].id: its dialogue[0] gets the id 'a{'_l1' * 20}', which ends in '_l1' "
        f"repeated 20 times: Snakemake stops such a name as a loop of rules without end (PeriodicWildcardError); {fix}",
    ]
    # 19 repeats: accepted, and the workflow plans them
    doc["scenes"][0]["id"] = "scene_" + "x" * 19
    shot(doc)["id"] = "shot_" + "0" * 19
    shot(doc, 0, 1)["id"] = "a" + "_l1" * 18
    dump_yaml(doc, path)
    proc = snakemake(work, "-n", "--cores", "1")
    assert f"clips/test01/shot_{'0' * 19}.mp4" in proc.stdout and f"audio/test01/music/scene_{'x' * 19}.wav" in (
        proc.stdout
    )


def test_the_periodic_id_rule_is_snakemakes():
    """periodic_run agrees with Snakemake's own detector on every id of these shapes."""
    import itertools

    from snakemake.io import PeriodicityDetector

    from tower_anime.story.load import periodic_run

    detector = PeriodicityDetector()
    values = [
        head + piece * n
        for head in ("", "s", "shot_", "ab", "x" * 30)
        for piece in ("0", "ab", "_l1", "abc", "a0", "00", "abcd")
        for n in (1, 5, 18, 19, 20, 21, 30)
    ]
    values += ["".join(p) for p in itertools.product("a0", repeat=12)]
    values = [v for v in values if v and len(v) <= 64]
    flagged = 0
    for v in values:
        assert (periodic_run(v) is not None) == (detector.is_periodic(v) is not None), v
        flagged += periodic_run(v) is not None
    assert flagged > 50
