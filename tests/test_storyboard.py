"""Tests for the embedded storyboard renderer (tower_anime.stills.storyboard)."""

import copy

import numpy as np
import pytest
from PIL import Image, ImageFont

from tower_anime.errors import TowerError
from tower_anime.stills import storyboard as sb
from tower_anime.stills import text as sb_text

AKIRA = {
    "id": "akira",
    "name": "Akira Yamamoto",
    "description": "22-year-old street racer, cybernetic arms, neon blue jacket",
    "palette": {"hair": "#1a1a2e", "skin": "#f1c27d", "outfit": "#00b4ff", "accent": "#c0c0c0"},
}
MEI = {
    "id": "mei",
    "name": "Mei Tanaka",
    "description": "hacker",
    "palette": {"hair": "#8b2f5a", "skin": "#ffe0c4", "outfit": "#e63946", "accent": "#ffd166"},
}


def make_spec(**overrides):
    spec = {
        "episode": "ep01",
        "scene": "sc01",
        "shot": "sc01_sh01",
        "location": "Neo-Tokyo street market",
        "time_of_day": "night",
        "camera": {"move": "push_in", "framing": "medium"},
        "action": "Akira weaves his bike through the crowded market, glancing over his shoulder.",
        "seed": 1234,
        "width": 768,
        "height": 512,
        "characters": [copy.deepcopy(AKIRA), copy.deepcopy(MEI)],
        "unrelated_key": {"ignored": True},
    }
    spec.update(overrides)
    return spec


def pixels(img):
    return np.asarray(img.convert("RGB"), dtype=np.int32)


def colour_fraction(img, hex_colour, tol=12):
    """Fraction of pixels within `tol` (RGB distance) of `hex_colour`."""
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    dist = np.sqrt(((pixels(img) - target) ** 2).sum(axis=-1))
    return float((dist <= tol).mean())


def luminance(img):
    return float(np.asarray(img.convert("L"), dtype=np.float64).mean())


def test_size_matches_spec():
    assert sb.draw_storyboard(make_spec()).size == (768, 512)
    img = sb.draw_storyboard(make_spec(width=640, height=360))
    assert img.size == (640, 360)
    assert img.mode == "RGB"


def test_render_is_byte_identical_for_same_spec(tmp_path):
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    sb.render_storyboard(make_spec(), a)
    sb.render_storyboard(make_spec(), b)
    assert a.read_bytes() == b.read_bytes()
    with Image.open(a) as img:
        assert img.format == "PNG" and img.size == (768, 512)


@pytest.mark.parametrize(
    "change",
    [
        {"seed": 99},
        {"action": "Mei hacks the vending machine while the crowd cheers."},
        {"location": "Abandoned research lab"},
        {"time_of_day": "day"},
        {"camera": {"move": "pan_left", "framing": "medium"}},
    ],
)
def test_changes_to_spec_change_pixels(change):
    base = pixels(sb.draw_storyboard(make_spec()))
    other = pixels(sb.draw_storyboard(make_spec(**change)))
    assert (base != other).any(axis=-1).mean() > 0.001


def test_each_outfit_colour_is_present():
    img = sb.draw_storyboard(make_spec())
    for char in (AKIRA, MEI):
        assert colour_fraction(img, char["palette"]["outfit"]) > 0.005, char["id"]


def test_outfit_colour_absent_when_character_removed():
    img = sb.draw_storyboard(make_spec(characters=[copy.deepcopy(AKIRA)]))
    assert colour_fraction(img, AKIRA["palette"]["outfit"]) > 0.005
    assert colour_fraction(img, MEI["palette"]["outfit"]) < 0.0002


@pytest.mark.parametrize("key", ["hair", "skin", "accent"])
def test_other_palette_colours_are_drawn(key):
    solo = make_spec(characters=[copy.deepcopy(MEI)], camera={"move": "static", "framing": "close"})
    assert colour_fraction(sb.draw_storyboard(solo), MEI["palette"][key]) > 0.003


def test_background_is_kept_clear_of_palette_colours():
    # the night sky sits close to Akira's hair colour; it must be pushed away from it
    empty = sb.draw_storyboard(make_spec(characters=[], time_of_day="night"))
    guard = sb._keep_clear(empty, [(0x1A, 0x1A, 0x2E)], sb.CLEAR_RADIUS)
    target = np.array([0x1A, 0x1A, 0x2E])
    dist = np.sqrt(((pixels(guard) - target) ** 2).sum(axis=-1))
    assert dist.min() >= sb.CLEAR_RADIUS - 1
    assert sb._keep_clear(empty, [], sb.CLEAR_RADIUS) is empty


def test_night_is_darker_than_day():
    for location in ("Neo-Tokyo street market", "Quiet mountain shrine", "Corporate lab"):
        night = sb.draw_storyboard(make_spec(location=location, time_of_day="night", characters=[]))
        day = sb.draw_storyboard(make_spec(location=location, time_of_day="day", characters=[]))
        assert luminance(night) + 30 < luminance(day), location


def test_close_framing_shows_more_outfit_than_wide():
    outfit = AKIRA["palette"]["outfit"]
    area = {}
    for framing in ("wide", "medium", "close"):
        spec = make_spec(characters=[copy.deepcopy(AKIRA)], camera={"move": "static", "framing": framing})
        area[framing] = colour_fraction(sb.draw_storyboard(spec), outfit)
    assert 0 < area["wide"] < area["medium"] < area["close"]


def test_empty_characters_list_renders(tmp_path):
    out = tmp_path / "establishing.png"
    sb.render_storyboard(make_spec(characters=[], camera={"move": "pull_out", "framing": "wide"}), out)
    with Image.open(out) as img:
        assert img.size == (768, 512)
        assert len(img.convert("RGB").getcolors(1 << 24)) > 50  # a real scene, not a blank frame


@pytest.mark.parametrize("tod", ["dawn", "day", "dusk", "night"])
@pytest.mark.parametrize("move", ["static", "push_in", "pull_out", "pan_left", "pan_right"])
def test_every_time_and_move_renders(tod, move):
    spec = make_spec(
        time_of_day=tod, camera={"move": move, "framing": "wide"}, location="Highway garage near the harbor forest"
    )
    assert sb.draw_storyboard(spec).size == (768, 512)


def test_four_characters_close_up_all_visible():
    chars = []
    for i, outfit in enumerate(["#00b4ff", "#e63946", "#2ec44a", "#9b5de5"]):
        chars.append(
            {
                "id": f"c{i}",
                "name": f"Character {i}",
                "palette": {"hair": "#222222", "skin": "#f1c27d", "outfit": outfit, "accent": "#c0c0c0"},
            }
        )
    img = sb.draw_storyboard(make_spec(characters=chars, camera={"move": "static", "framing": "close"}))
    for char in chars:
        assert colour_fraction(img, char["palette"]["outfit"]) > 0.005, char["id"]


def test_missing_fonts_fall_back_to_default(monkeypatch, tmp_path):
    calls = []
    real_default = ImageFont.load_default

    def spy_default(*args, **kwargs):
        calls.append(kwargs.get("size"))
        return real_default(*args, **kwargs)

    monkeypatch.setattr(sb.ImageFont, "load_default", spy_default)
    monkeypatch.setattr(sb_text, "FONT_PATH", str(tmp_path / "missing.ttf"))
    monkeypatch.setattr(sb_text, "BOLD_FONT_PATH", str(tmp_path / "missing-bold.ttf"))
    out = tmp_path / "fallback.png"
    sb.render_storyboard(make_spec(), out)
    assert calls, "the built-in font was never used"
    with Image.open(out) as img:
        assert img.size == (768, 512)


def test_unreadable_font_file_falls_back(monkeypatch, tmp_path):
    bad = tmp_path / "broken.ttf"
    bad.write_bytes(b"not a font")
    monkeypatch.setattr(sb_text, "FONT_PATH", str(bad))
    monkeypatch.setattr(sb_text, "BOLD_FONT_PATH", str(bad))
    assert sb.draw_storyboard(make_spec()).size == (768, 512)


def test_atomic_write_leaves_only_the_target(tmp_path):
    out = tmp_path / "shots" / "sc01_sh01.png"
    sb.render_storyboard(make_spec(), out)
    sb.render_storyboard(make_spec(seed=5), out)  # overwrite in place
    assert [p.name for p in out.parent.iterdir()] == ["sc01_sh01.png"]


def test_failed_write_leaves_no_files(monkeypatch, tmp_path):
    def broken_save(self, fp, *args, **kwargs):
        with open(fp, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        sb.render_storyboard(make_spec(), tmp_path / "out.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["00b4ff", "#00b4f", "#gggggg", "blue", "", None, 123])
def test_bad_palette_colour_raises_with_character_and_key(bad, tmp_path):
    char = copy.deepcopy(MEI)
    char["palette"]["accent"] = bad
    out = tmp_path / "x.png"
    with pytest.raises(TowerError) as err:
        sb.render_storyboard(make_spec(characters=[copy.deepcopy(AKIRA), char]), out)
    assert "mei" in str(err.value) and "accent" in str(err.value)
    assert not out.exists()


def test_short_hex_and_missing_palette_keys_are_accepted():
    char = {"id": "kid", "name": "Kid", "palette": {"outfit": "#F0A"}}
    img = sb.draw_storyboard(make_spec(characters=[char]))
    assert colour_fraction(img, "#ff00aa") > 0.005


def test_long_action_is_wrapped_and_ellipsised():
    font = sb._font(16)
    text = "word " * 200
    lines = sb._wrap(text, font, 300, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(font.getlength(line) <= 300 for line in lines)
    assert sb._wrap("short action", font, 300, 3) == ["short action"]
    huge = sb._wrap("x" * 500, font, 300, 3)
    assert len(huge) == 1 and font.getlength(huge[0]) <= 300
    assert sb.draw_storyboard(make_spec(action=text)).size == (768, 512)


def test_location_keywords_pick_themes():
    from tower_anime.stills.places import setting

    assert setting("Neo-Tokyo street market") == "market"
    assert setting("Corporate research laboratory") == "lab"
    assert setting("Coastal highway") == "highway"
    assert setting("Somewhere unnamed") == "plain"


@pytest.mark.parametrize(
    "location, expected",
    [
        ("underground garage", "garage"),
        ("multi-storey parking deck", "garage"),
        ("container harbor at dawn", "harbor"),
        ("the old harbour", "harbor"),
        ("fishing docks", "harbor"),
        ("rain-soaked highway", "highway"),
        ("mountain road", "highway"),
        ("subway station", "station"),
        ("train platform", "station"),
        ("Luna's research lab with glowing screens", "lab"),
        ("Nexus Corp tower penthouse office high above the city", "office"),
        ("long hospital corridor", "lab"),
        ("school corridor", "corridor"),
        ("Aya's bedroom", "room"),
        ("apartment", "room"),
        ("windy rooftop", "rooftop"),
        ("back alley", "alley"),
        ("Neo-Tokyo street market under neon signs", "market"),
        ("busy street", "street"),
        ("sandy beach", "beach"),
        ("the seaside", "beach"),
        ("season finale set nowhere", "plain"),
        ("dark forest", "forest"),
        ("shrine in the woods", "forest"),
        ("open field", "plain"),
    ],
)
def test_each_location_word_picks_its_setting(location, expected):
    from tower_anime.stills.places import setting

    assert setting(location) == expected


def test_weather_and_light_come_from_the_text():
    from tower_anime.stills.places import weather

    assert weather("rain-soaked highway") == {"rain"}
    assert weather("snowy mountain pass") == {"snow"}
    assert weather("misty lake") == {"mist"}
    assert weather("foggy harbor under neon signs") == {"fog", "neon"}
    assert weather("a quiet room") == set()


def _place_spec(location, tod, count):
    outfits = ["#00b4ff", "#e63946", "#2ec44a"]
    chars = [
        {
            "id": f"c{i}",
            "name": f"Character {i}",
            "palette": {"hair": "#222222", "skin": "#f1c27d", "outfit": outfits[i], "accent": "#c0c0c0"},
        }
        for i in range(count)
    ]
    return make_spec(
        location=location,
        time_of_day=tod,
        characters=chars,
        backend="storyboard",
        camera={"move": "static", "framing": "medium"},
    )


def _settings_and_weather():
    from tower_anime.stills.places import FALLBACK, SETTINGS, WEATHER

    places = [(words[0], "day") for _, words in SETTINGS] + [("open field", "day")]
    places += [
        (f"{words[0]} street", tod) for (_, words), tod in zip(WEATHER, ("dusk", "night", "dawn", "day", "night"))
    ]
    assert FALLBACK == "plain"
    return places


@pytest.mark.parametrize("count", [0, 2])
@pytest.mark.parametrize("location, tod", _settings_and_weather())
def test_every_setting_and_weather_passes_the_still_gate(tmp_path, location, tod, count):
    """With the schema's default thresholds, as the workflow runs it."""
    from tower_anime.config import validate_config
    from tower_anime.qc.still import still_report

    spec = _place_spec(location, tod, count)
    sb.render_storyboard(spec, tmp_path / "still.png")
    report = still_report(tmp_path / "still.png", spec, validate_config({})["qc"]["still"])
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]


def test_caption_strip_is_at_the_top_clear_of_subtitles():
    """Players draw subtitles over the bottom: the caption (shot id, action) is drawn at the top."""
    from tower_anime.stills import caption_height

    cap = caption_height("storyboard", 512)
    a = pixels(sb.draw_storyboard(make_spec()))
    b = pixels(sb.draw_storyboard(make_spec(action="Mei hacks the vending machine.", shot="sc01_sh02")))
    changed = (a != b).any(axis=-1)
    assert changed[:cap].mean() > 0.01 and not changed[cap:].any()


def test_name_labels_stay_where_every_camera_move_keeps_them():
    from tower_anime.clips.camera import safe_area

    chars = [dict(copy.deepcopy(MEI), id=f"m{i}", name="A very long character name indeed") for i in range(3)]
    layout = sb._layout_figures("medium", 3, 768, 512, __import__("random").Random(1))
    left, top, right, _ = safe_area(768, 512)
    assert all(left < f.cx < right and f.top > top for f in layout)
    assert sb.draw_storyboard(make_spec(characters=chars)).size == (768, 512)


@pytest.mark.parametrize("count", [0, 3])
@pytest.mark.parametrize("framing", ["wide", "medium", "close"])
def test_empty_and_three_character_shots_pass_the_still_gate(tmp_path, count, framing):
    """With the schema's default thresholds, as the workflow runs it."""
    from tower_anime.config import validate_config
    from tower_anime.qc.still import still_report

    outfits = ["#00b4ff", "#e63946", "#2ec44a"]
    chars = [
        {
            "id": f"c{i}",
            "name": f"Character {i}",
            "palette": {"hair": "#222222", "skin": "#f1c27d", "outfit": outfits[i], "accent": "#c0c0c0"},
        }
        for i in range(count)
    ]
    spec = make_spec(characters=chars, camera={"move": "pan_right", "framing": framing}, backend="storyboard")
    sb.render_storyboard(spec, tmp_path / "still.png")
    report = still_report(tmp_path / "still.png", spec, validate_config({})["qc"]["still"])
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]
