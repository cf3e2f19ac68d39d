"""Languages: the line's language picks its voice (OpenJTalk for Japanese, Piper for English,
espeak-ng for the rest) or is refused before any job; the Japanese voice speaks Japanese; every
drawn text has glyphs; Japanese subtitles break and count as the Japanese style guide says; and
a Japanese/English/Spanish episode builds end to end with one tagged track per language."""

import json
import re
import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest
from conftest import ROOT, copy_workflow, dump_yaml, load_yaml, snakemake

from tower_anime import lang
from tower_anime.check import check_inputs
from tower_anime.episode.subtitles import split_text, subtitle_limits
from tower_anime.errors import InvalidInput

LANG = ROOT / "tests" / "data" / "lang"
LINE = "起動完了。Nexusのファイアウォール、見えた。"  # the line of the report: 24 characters
# OpenJTalk's phonemes: the five vowels (and their devoiced forms), N, cl (geminate), pau and
# the consonants of Japanese, some palatalised (ky, ry...)
JAPANESE_PHONEMES = set(
    "a i u e o A I U E O N cl pau k g s z t d n h b p m y r w f j ch sh ts v ky gy ny hy by py my ry dy ty".split()
)


def lang_config(tmp_path, **sections):
    """The languages test config with its story copied to tmp_path (to edit), as a dict."""
    shutil.copytree(LANG, tmp_path / "lang")
    cfg = load_yaml(LANG / "config.yaml")
    cfg["story"].update(
        characters=str(tmp_path / "lang" / "characters.yaml"), episodes_dir=str(tmp_path / "lang" / "episodes")
    )
    cfg["facts"] = {"source": "none"}
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value}
    return cfg


def refused(cfg):
    with pytest.raises(InvalidInput) as exc:
        check_inputs(cfg, "my.yaml")
    return [str(p) for p in exc.value.problems]


# --- codes ---------------------------------------------------------------------------------


def test_codes_map_to_matroska_tags_and_names():
    assert [lang.matroska(c) for c in ("ja", "jpn", "ja-JP", "en", "es-MX", "de", "deu", "mul")] == [
        "jpn",
        "jpn",
        "jpn",
        "eng",
        "spa",
        "ger",
        "ger",
        "mul",
    ]
    assert [lang.name(c) for c in ("jpn", "en", "spa")] == ["日本語", "English", "Español"]
    assert lang.problem("xx") and lang.problem("ja_JP") and lang.problem("ja") is None


# --- which voice speaks a line --------------------------------------------------------------


def test_each_language_goes_to_a_voice_that_speaks_it(tmp_path):
    plan = check_inputs(lang_config(tmp_path), "my.yaml").plans["lang01"]
    engines = {line: spec["voice"]["engine"] for line, spec in plan.lines.items()}
    assert engines == {"r1_l1": "openjtalk", "r2_l1": "piper", "l1_l1": "espeak"}
    assert plan.lines["l1_l1"]["voice"]["espeak_voice"] == "es+m7"  # Viktor's variant, in Spanish
    assert plan.languages == {"r1_l1": "ja", "r2_l1": "en", "l1_l1": "es"}


def test_a_line_no_configured_voice_speaks_is_refused_naming_it_and_who_would(tmp_path):
    cfg = lang_config(tmp_path, voice={"by_language": {"es": "espeak"}})
    problems = refused(cfg)
    assert len(problems) == 1, problems
    assert "scenes[0].shots[0].dialogue[0]" in problems[0] and "r1 line 1" in problems[0]
    assert "'ja'" in problems[0] and "['openjtalk'" not in problems[0].split("voices that speak it")[0]
    assert "voices that speak it: ['http', 'openjtalk']" in problems[0]


def test_japanese_is_never_sent_to_espeak_which_reads_kanji_as_chinese_letter(tmp_path):
    # `"*": espeak` replaces the whole default map, ja: openjtalk included
    cfg = lang_config(tmp_path)
    cfg["voice"] = {**cfg.get("voice", {}), "by_language": {"*": "espeak"}}
    problems = refused(cfg)
    assert len(problems) == 1 and "r1 line 1" in problems[0] and "'ja'" in problems[0], problems
    assert "tried ['piper', 'espeak']" in problems[0] and "['http', 'openjtalk']" in problems[0], problems
    # espeak-ng's own readings, the reason (espeak-ng reads kana only)
    reading = subprocess.run(["espeak-ng", "-v", "ja", "-q", "-x", "起動"], capture_output=True, text=True).stdout
    assert "tS'aIni:z" in reading  # "Chinese letter"


def _edit_line(cfg, shot, **fields):
    path = Path(cfg["story"]["episodes_dir"]) / "lang01.yaml"
    doc = load_yaml(path)
    line = [s for sc in doc["scenes"] for s in sc["shots"] if s["id"] == shot][0]["dialogue"][0]
    line.update(fields)
    dump_yaml(doc, path)


def _voice_engine(cfg, character, engine):
    sheet = Path(cfg["story"]["characters"])
    doc = load_yaml(sheet)
    doc["characters"][character].setdefault("voice", {})["engine"] = engine
    dump_yaml(doc, sheet)


def test_kanji_in_a_line_its_embedded_voice_cannot_read_is_refused_by_field(tmp_path):
    cfg = lang_config(tmp_path)
    _edit_line(cfg, "r2", text="Meet me at 渋谷 station.")  # Luna speaks English: Piper
    problems = refused(cfg)
    assert len(problems) == 1, problems
    assert "scenes[0].shots[1].dialogue[0].text" in problems[0] and "'渋谷'" in problems[0], problems
    assert "piper" in problems[0] and "Shibuya" in problems[0], problems
    # a voice service reads what it reads: not refused
    cfg = lang_config(tmp_path / "http")
    _edit_line(cfg, "r2", text="Meet me at 渋谷 station.")
    _voice_engine(cfg, "luna", "http")
    check_inputs(cfg, "my.yaml")


@pytest.mark.parametrize("text", ["……", "— —", "\U0001f600", "ーー！"])
def test_a_line_with_nothing_to_say_is_refused_by_field(tmp_path, text):
    cfg = lang_config(tmp_path)
    _edit_line(cfg, "r1", text=text)
    problems = refused(cfg)
    assert any("scenes[0].shots[0].dialogue[0].text" in p and "nothing an offline voice can say" in p for p in problems)


def test_a_voice_service_is_given_a_line_with_no_words_as_written(tmp_path):
    # what a service makes of "……" (a breath, a silence) is the service's to say
    cfg = lang_config(tmp_path)
    _edit_line(cfg, "r1", text="……")
    _voice_engine(cfg, "akira", "http")
    check_inputs(cfg, "my.yaml")


def test_symbols_that_are_words_are_given_to_the_voice():
    from tower_anime.audio.spoken import speech_text

    assert speech_text("気温は30℃、距離は5㎞です") == "気温は30℃、距離は5㎞です"
    assert speech_text("It is 30° — No. №5™") == "It is 30° — No. №5™"
    assert speech_text("*sigh* We made it 🙂 ♪") == "sigh We made it"


def test_a_character_engine_that_cannot_speak_the_line_is_refused(tmp_path):
    cfg = lang_config(tmp_path)
    sheet = Path(cfg["story"]["characters"])
    doc = load_yaml(sheet)
    doc["characters"]["akira"]["voice"]["engine"] = "piper"
    dump_yaml(doc, sheet)
    problems = refused(cfg)
    assert any("r1 line 1" in p and "tried ['piper']" in p for p in problems), problems


def test_translation_into_the_lines_own_language_and_bad_codes_are_refused(tmp_path):
    cfg = lang_config(tmp_path)
    path = Path(cfg["story"]["episodes_dir"]) / "lang01.yaml"
    doc = load_yaml(path)
    doc["scenes"][0]["shots"][0]["dialogue"][0]["subtitles"]["ja"] = "同じ"
    doc["scenes"][0]["shots"][1]["dialogue"][0]["lang"] = "xx"
    dump_yaml(doc, path)
    problems = refused(cfg)
    assert any("dialogue[0].subtitles.ja" in p and "spoken in" in p for p in problems), problems
    assert any("shots[1].dialogue[0].lang" in p and "'xx'" in p for p in problems), problems


# --- the glyph check ------------------------------------------------------------------------


def test_a_character_no_font_has_fails_validation_naming_field_and_character(tmp_path):
    cfg = lang_config(tmp_path)
    sheet = Path(cfg["story"]["characters"])
    doc = load_yaml(sheet)
    doc["characters"]["luna"]["name"] = "Luna \U00013080"  # an Egyptian hieroglyph: in neither font
    dump_yaml(doc, sheet)
    problems = refused(cfg)
    assert len(problems) == 1, problems
    assert "characters.luna.name" in problems[0] and "U+13080" in problems[0], problems


def test_japanese_text_is_drawn_with_the_cjk_font(tmp_path):
    from tower_anime.stills.fonts import check_text, face_for

    assert face_for("Akira").name == "DejaVu Sans"
    assert face_for("山本アキラ", bold=True).name == "Noto Sans CJK JP Bold"
    assert check_text("東京 rooftop ¡Hola!") == []


# --- the Japanese voice ---------------------------------------------------------------------


def test_the_japanese_voice_speaks_japanese_deterministically_and_fast(tmp_path):
    from tower_anime.backends.openjtalk import phonemes, synthesize

    ph = phonemes("起動完了")
    assert ph == "k i d o o k a N ry o o".split()  # kidoo kanryoo, not the letter names of anything
    assert set(phonemes(LINE)) <= JAPANESE_PHONEMES
    synthesize(LINE, tmp_path / "warm.wav")  # loads the dictionary
    t = time.perf_counter()
    synthesize(LINE, tmp_path / "a.wav")
    took = time.perf_counter() - t
    synthesize(LINE, tmp_path / "b.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    with wave.open(str(tmp_path / "a.wav")) as w:
        seconds = w.getnframes() / w.getframerate()
    # 24 characters at 4.5-6.5 a second (Piper read the line as letter names in 14 s)
    assert 24 / 6.5 <= seconds <= 24 / 4.0, seconds
    assert seconds / took >= 5, f"{seconds / took:.1f}x real time"


# --- Japanese subtitles ---------------------------------------------------------------------


def test_korean_subtitles_break_at_the_spaces_between_words(test_config):
    limits = subtitle_limits({**test_config["subtitles"], "max_chars_per_line": 16}, 24, "kor")
    text = "서울 시장 거리에서 아주 오래된 가게를 찾았다."
    rows = [r for p in split_text(text, limits) for r in p.split("\n")]
    assert len(rows) > 1 and lang.join_rows(rows) == text, rows
    assert " ".join(rows) == text, rows  # every break is at a space: no word is cut


def test_japanese_subtitles_break_after_a_particle_or_a_comma_never_inside_a_phrase(test_config):
    # この街 ("this city") and 着く前に ("before arriving") are one phrase each: neither a row
    # nor an event may cut them; a break comes after a particle (に, を...) or 、。
    limits = subtitle_limits(test_config["subtitles"], 24, "jpn")
    text = "ドローンが北の検問所に着く前に、私たちはこの街を出なければならない。"
    parts = split_text(text, limits)
    rows = [r for p in parts for r in p.split("\n")]
    assert lang.join_rows(rows) == text
    for row in rows[:-1]:
        assert row[-1] in "はがをにでともへやかねよ、。", rows


def test_japanese_subtitles_break_between_characters_within_13_full_width(test_config):
    limits = subtitle_limits(test_config["subtitles"], 24, "jpn")
    assert (limits.max_chars_per_line, limits.max_chars_per_second, limits.half_width) == (13, 4, 0.5)
    events = split_text(LINE, limits)
    rows = [r for e in events for r in e.split("\n")]
    assert rows == ["起動完了。Nexusの", "ファイアウォール、見えた。"]  # after 、 or 。, the particle kept
    assert all(lang.text_width(r, 0.5) <= 13 for r in rows)
    assert lang.join_rows(rows) == LINE


# --- the episode end to end -----------------------------------------------------------------


@pytest.mark.workflow
def test_mixed_language_episode_builds_with_one_tagged_track_per_language(tmp_path):
    work = copy_workflow(tmp_path / "w")
    snakemake(work, "--cores", "2", config="tests/data/lang/config.yaml")
    mkv = work / "episodes" / "lang01.mkv"
    info = json.loads(subprocess.run(["mkvmerge", "-J", str(mkv)], capture_output=True, text=True, check=True).stdout)
    tracks = [
        (
            t["type"],
            t["properties"].get("language"),
            t["properties"].get("track_name"),
            t["properties"]["default_track"],
            t["properties"]["forced_track"],
        )
        for t in info["tracks"]
    ]
    assert tracks == [
        ("video", "und", "Picture (768x512)", True, False),
        ("audio", "mul", "日本語, English, Español (stereo)", True, False),
        ("subtitles", "eng", "English", True, False),
        ("subtitles", "jpn", "日本語", False, False),
        ("subtitles", "spa", "Español", False, False),
    ]
    chapters = subprocess.run(
        ["mkvextract", str(mkv), "chapters", "-"], capture_output=True, text=True, check=True
    ).stdout
    assert re.findall(r"<ChapterLanguage>(\w+)<", chapters) == ["eng", "eng"]
    # each track's events, rows and events joined back, are the script's texts byte for byte
    episode = load_yaml(LANG / "episodes" / "lang01.yaml")
    lines = [line for s in episode["scenes"] for sh in s["shots"] for line in sh["dialogue"]]
    want = {
        "eng": [lines[0]["subtitles"]["eng"], lines[1]["text"], lines[2]["subtitles"]["eng"]],
        "jpn": [lines[0]["text"], lines[1]["subtitles"]["jpn"], lines[2]["subtitles"]["ja"]],
        "spa": [lines[0]["subtitles"]["spa"], lines[2]["text"]],
    }
    placement = json.loads((work / "build" / "lang01" / "placement.json").read_text())["lines"]
    for t in info["tracks"][2:]:
        code = t["properties"]["language"]
        out = tmp_path / f"{code}.srt"
        subprocess.run(["mkvextract", str(mkv), "tracks", f"{t['id']}:{out}"], capture_output=True, check=True)
        from tower_anime.qc.subtitles import parse_srt

        events = parse_srt(out.read_text(encoding="utf-8"))
        texts = []
        for cue in placement:  # the events inside each line's window are that line's
            mine = [e[2] for e in events if cue["window"][0] - 0.1 <= e[0] < cue["window"][1]]
            if mine:
                texts.append(lang.join_rows(r for e in mine for r in e.split("\n")))
        assert texts == want[code], code
    report = json.loads((work / "reports" / "lang01" / "episode.json").read_text())
    assert [c["metric"] for c in report["checks"] if not c["pass"]] == []
    assert any(c["metric"] == "subtitle_text[r1_l1]@jpn" for c in report["checks"])
    # the voices: Japanese from OpenJTalk, in a plausible length for its 24 characters
    with wave.open(str(work / "audio" / "lang01" / "voice" / "r1_l1.wav")) as w:
        assert 24 / 6.5 / 1.08 <= w.getnframes() / w.getframerate() <= 24 / 4.0
    # nothing left to do: the plan is a pure function of the story
    dry = snakemake(work, "-n", config="tests/data/lang/config.yaml")
    assert "Nothing to be done" in dry.stdout + dry.stderr
