"""The storyboard's text (tower_anime.stills.text and stills.fonts): a text no single font
covers is drawn run by run, each run in a font that has its glyphs, on one baseline; widths,
ellipses and wrapping measure the same runs; wrapping breaks where lang.break_units allows."""

import copy
import hashlib

import numpy as np
import pytest
from PIL import Image, ImageDraw
from test_storyboard import AKIRA, MEI, make_spec

from tower_anime.lang import NO_LINE_START, break_units
from tower_anime.stills import storyboard as sb
from tower_anime.stills.fonts import BOLD, REGULAR, Face, _cmap
from tower_anime.stills.text import _fit, _font, _load_font, _wrap, draw_text

NAME, LOCATION, ACTION = "Gergő 健", "Beyoğlu street, 東京 side", "Gergő waves from İstanbul to 東京"
MIXED = [(NAME, True), (LOCATION, False), (ACTION, False)]  # (text, bold): Noto has no ő ğ İ
SIZE = 24
LONG_JA = "二はノートパソコンを開き、Nexus社のファイアウォールを三十秒で突破しようとするが、警報が鳴り響く。"


def _face_font(face, size=SIZE):
    return _load_font(face.path, size, face.index)


def _chain(bold):
    return BOLD if bold else REGULAR


def _ink(text, font, xy=(20, 40), anchor="la", canvas=(900, 120)):
    """The text drawn white on black with draw_text: a 2-D array."""
    img = Image.new("L", canvas, 0)
    draw_text(ImageDraw.Draw(img), xy, text, font, 255, anchor=anchor)
    return np.asarray(img, dtype=np.int32)


def _alone(text, font, canvas=(200, 120)):
    """`text` drawn by Pillow alone in one font."""
    img = Image.new("L", canvas, 0)
    ImageDraw.Draw(img).text((20, 20), text, font=font, fill=255)
    return np.asarray(img, dtype=np.int32)


def _crop(ink):
    ys, xs = np.nonzero(ink > 40)
    return ink[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _bbox(ink):
    ys, xs = np.nonzero(ink > 40)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def _widest_unit(text, font):
    """The narrowest width every piece lang.break_units cuts `text` into fits (no ellipsis)."""
    return int(np.ceil(max(font.getlength(unit.strip()) for unit in break_units(text))))


def _similarity(a, b):
    """Correlation of two glyph images, the first resampled to the second's size."""
    a = np.asarray(Image.fromarray(a.astype(np.uint8)).resize(b.shape[::-1], Image.BILINEAR), dtype=np.float64)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


# --- mixed text: each run in a font that has it -------------------------------------------


@pytest.mark.parametrize("text,bold", MIXED)
def test_the_kanji_of_a_mixed_text_are_drawn_in_the_cjk_font_not_as_empty_boxes(text, bold):
    font = _font(SIZE, bold, text)
    cjk = "".join(c for c in text if ord(c) > 0x2FFF)
    start = text.index(cjk)
    x0 = 20 + font.getlength(text[:start])
    x1 = 20 + font.getlength(text[: start + len(cjk)])
    band = _ink(text, font)[:, int(x0) : int(np.ceil(x1)) + 1]
    drawn = _crop(band)
    dejavu, noto = (_crop(_alone(cjk, _face_font(face))) for face in _chain(bold))
    assert abs(drawn.shape[0] - noto.shape[0]) <= 1 and abs(drawn.shape[1] - noto.shape[1]) <= 2, (
        drawn.shape,
        noto.shape,
    )
    assert _similarity(drawn, noto) > 0.9
    assert _similarity(drawn, dejavu) < 0.6  # DejaVu's empty boxes (.notdef) look nothing like it


def test_every_string_a_still_draws_has_each_glyph_in_the_font_that_draws_it(monkeypatch):
    drawn = []
    real = ImageDraw.ImageDraw.text

    def spy(self, xy, text, *args, **kwargs):  # records, then draws for real
        drawn.append((text, kwargs.get("font", args[1] if len(args) > 1 else None)))
        return real(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", spy)
    spec = make_spec(
        scene="sc02_東京",
        location=LOCATION,
        action=ACTION + " while 二はノートパソコンを開き、Ayşe waits. " * 3,
        characters=[dict(copy.deepcopy(AKIRA), name=NAME), dict(copy.deepcopy(MEI), name="Ayşe 美咲")],
    )
    sb.draw_storyboard(spec)
    texts = "".join(t for t, _ in drawn)
    assert "健" in texts and "東京" in texts and "ő" in texts and "美咲" in texts
    for text, font in drawn:
        if font is None:  # Pillow's default font (the set's little signs)
            continue
        have = _cmap(Face("", font.path, font.index))
        missing = [c for c in text if not c.isspace() and ord(c) not in have]
        assert not missing, f"{text!r} drawn in {font.path} that has no {missing}"


def test_runs_share_one_baseline_at_every_anchor():
    text = "Hő東"  # H and ő only in DejaVu, 東 only in Noto
    font = _font(SIZE, False, text)
    dejavu, noto = (_face_font(face) for face in REGULAR)
    # H and 東 drawn alone on one baseline: how far the bottom of 東 is from the bottom of H
    img = Image.new("L", (200, 120), 0)
    d = ImageDraw.Draw(img)
    d.text((20, 60), "H", font=dejavu, fill=255, anchor="ls")
    d.text((100, 60), "東", font=noto, fill=255, anchor="ls")
    alone = np.asarray(img, dtype=np.int32)
    want = _bbox(alone[:, 90:])[3] - _bbox(alone[:, :90])[3]
    width = font.getlength(text)
    h_width = dejavu.getlength("Hő")
    x, y = 300, 60
    for anchor in ("la", "lm", "ra", "mm", "ls"):
        ink = _ink(text, font, (x, y), anchor)
        left = {"l": x, "m": x - width / 2, "r": x - width}[anchor[0]]
        h_part = ink[:, : int(left + dejavu.getlength("H"))]
        k_part = ink[:, int(np.ceil(left + h_width)) :]
        assert _bbox(k_part)[3] - _bbox(h_part)[3] == want, anchor
        x0, y0, x1, y1 = _bbox(ink)
        assert left - 1 <= x0 and x1 <= left + width + 1, anchor
        if anchor[1] == "a":
            assert y0 >= y, "text hangs below the ascender line"
        if anchor[1] == "m":
            assert abs((y0 + y1) / 2 - y) <= SIZE * 0.2, (anchor, y0, y1)
        if anchor[1] == "s":
            assert _bbox(h_part)[3] == y, "H stands on the baseline"


@pytest.mark.parametrize("text,bold", MIXED)
def test_a_mixed_text_is_measured_run_by_run_and_fits_its_ellipsis(text, bold):
    font = _font(SIZE, bold, text)
    dejavu, noto = (_face_font(face) for face in _chain(bold))
    cjk = {c for c in text if ord(c) > 0x2FFF}
    want = sum((noto if c in cjk else dejavu).getlength(c) for c in text)
    assert font.getlength(text) == pytest.approx(want, abs=SIZE * 0.2)  # kerning aside
    ink = _ink(text, font)
    assert _bbox(ink)[2] <= 20 + font.getlength(text) + 2
    full = font.getlength(text)
    for max_w in range(SIZE, int(full) + 10, 7):
        fitted = _fit(text, font, max_w)
        assert font.getlength(fitted) <= max_w or fitted == "…", (max_w, fitted)
        assert (fitted == text) == (full <= max_w)
        if fitted != text:
            assert fitted.endswith("…") and text.startswith(fitted[:-1].rstrip())
        assert _bbox(_ink(fitted, font))[2] <= 20 + max(max_w, font.getlength("…")) + 2, (max_w, fitted)


def test_a_mixed_action_wraps_within_the_width_keeping_its_spaces():
    text = " ".join([ACTION, LOCATION, "and", LONG_JA, "Gergő."])
    font = _font(SIZE, False, text)
    full = font.getlength(text)
    for max_w in range(160, int(full) + 40, 37):
        for max_lines in (2, 20):
            lines = _wrap(text, font, max_w, max_lines)
            assert 1 <= len(lines) <= max_lines
            assert all(font.getlength(line) <= max_w for line in lines), (max_w, lines)
            cut = lines[-1].endswith("…")
            for line in lines[:-1] + ([lines[-1][:-1]] if cut else lines[-1:]):
                assert line in text, (max_w, line)
            if not cut:
                assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_a_text_one_font_covers_is_still_drawn_by_that_font_alone():
    for text, bold, face in (
        ("Akira", True, BOLD[0]),
        ("山本アキラ", True, BOLD[1]),
        ("東京 rooftop", False, REGULAR[1]),
    ):
        font = _font(SIZE, bold, text)
        assert (font.path, font.index) == (face.path, face.index), text


# --- wrapping at lang.break_units ---------------------------------------------------------


@pytest.mark.parametrize("text", ["민지가 스쿠터를 세우고 손을 흔든다", "Luna answers over the comm from 渋谷."])
def test_wrapping_keeps_the_spaces_between_words(text):
    font = _font(16, False, text)
    assert _wrap(text, font, 2000, 3) == [text]
    for max_w in range(_widest_unit(text, font), int(font.getlength(text)) + 10, 5):
        lines = _wrap(text, font, max_w, 20)
        assert all(line in text for line in lines), (max_w, lines)  # as written, spaces kept
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_no_wrapped_line_starts_with_a_mark_that_may_not_start_a_line():
    font = _font(16, False, LONG_JA)
    full = font.getlength(LONG_JA)
    seen = set()
    for max_w in range(_widest_unit(LONG_JA, font), int(full) + 20, 3):
        lines = _wrap(LONG_JA, font, max_w, 30)
        assert "".join(lines) == LONG_JA, (max_w, lines)
        starts = [line[0] for line in lines[1:]]
        assert not [c for c in starts if c in NO_LINE_START], (max_w, lines)
        seen.update(starts)
    assert len(seen) > 10  # many different breaks were tried


def test_a_long_japanese_action_is_ellipsised_on_its_last_line():
    font = _font(16, False, LONG_JA)
    lines = _wrap(LONG_JA, font, 120, 2)
    assert len(lines) == 2 and lines[-1].endswith("…")
    assert all(font.getlength(line) <= 120 for line in lines)
    assert LONG_JA.startswith(lines[0] + lines[1][:-1])


# --- stills of text one font covers do not change ----------------------------------------

# sha256 of the PNGs render_storyboard wrote before text was drawn run by run (Pillow 13, the
# Debian fonts): a text one font covers is drawn with the same Pillow calls as before
UNCHANGED = {
    "english": ({}, "17056bfaa0f9f8e15d44632a4591be300b1ddea2ac67e9f755ea4f3d89fbb52d"),
    "english wrapped": (
        {"action": "word " * 200, "camera": {"move": "pan_left", "framing": "wide"}},
        "99f632d33d34273b605f82bef6f5fd6006d93f54f8508c9580345d912531c818",
    ),
    "japanese": (
        {
            "location": "渋谷の路地裏",
            "action": "アキラが屋上に立つ。",
            "characters": [dict(AKIRA, name="山本アキラ"), MEI],
        },
        "d50f8b6191234ba3bf007440c2eca7089619fd82e3d216216224306b9a1755cd",
    ),
}


@pytest.mark.parametrize("name", UNCHANGED)
def test_a_still_of_text_one_font_covers_is_byte_identical_to_before(name, tmp_path):
    overrides, digest = UNCHANGED[name]
    out = tmp_path / "still.png"
    sb.render_storyboard(make_spec(**copy.deepcopy(overrides)), out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest
