"""Still checks on storyboard stills and on crafted bad ones (tower_anime.qc.still)."""

import copy

import numpy as np
import pytest
from conftest import ROOT, load_yaml
from PIL import Image, ImageDraw, ImageFilter

from tower_anime.config import load_config
from tower_anime.errors import GateFailed
from tower_anime.qc.report import require_pass, write_report
from tower_anime.qc.still import still_report, thumbnail
from tower_anime.stills import storyboard as sb

CHARS = load_yaml(ROOT / "config" / "characters.yaml")["characters"]
QC = load_config(ROOT / "config" / "config.yaml")["qc"]["still"]


def char(cid, **extra):
    c = CHARS[cid]
    return {"id": cid, "name": c["name"], "description": c["description"], "palette": dict(c["palette"]), **extra}


def spec(cast=("akira",), framing="medium", tod="night", seed=5, **over):
    s = {
        "episode": "ep",
        "scene": "sc",
        "shot": "sh1",
        "location": "Neo-Tokyo street market",
        "time_of_day": tod,
        "camera": {"move": "push_in", "framing": framing},
        "action": "Someone runs through the rain.",
        "seed": seed,
        "width": 768,
        "height": 512,
        "backend": "storyboard",
        "characters": [char(c) for c in cast],
    }
    s.update(over)
    return s


def save(img, tmp_path, name="still.png"):
    path = tmp_path / name
    img.save(path)
    return path


def failed(report):
    return {c["metric"] for c in report["checks"] if not c["pass"]}


@pytest.mark.parametrize(
    "cast,framing,tod",
    [
        (("akira",), "wide", "night"),
        (("luna", "viktor"), "medium", "day"),
        (("akira", "luna", "viktor"), "close", "dusk"),
        ((), "wide", "dawn"),
    ],
)
def test_storyboard_stills_pass(tmp_path, cast, framing, tod):
    s = spec(cast, framing, tod)
    report = still_report(save(sb.draw_storyboard(s), tmp_path), s, QC)
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]
    assert {f"palette[{c}]" for c in cast} <= {c["metric"] for c in report["checks"]}


# characters beyond the sheet's three, each with its own exact fills
CROWD_PALETTES = [
    ("#2e8b57", "#f4a460", "#8b0000", "#ffd700"),
    ("#4169e1", "#ffe4c4", "#000080", "#ff69b4"),
    ("#800080", "#deb887", "#2f4f4f", "#00ced1"),
    ("#ff8c00", "#fff5ee", "#556b2f", "#dc143c"),
    ("#708090", "#faebd7", "#8b4513", "#7fff00"),
]


def crowd(count):
    extra = []
    for i, colours in enumerate(CROWD_PALETTES):
        c = char("akira")
        c.update(id=f"x{i}", name=f"Extra {i}", palette=dict(zip(sorted(c["palette"]), colours)))
        extra.append(c)
    return ([char(c) for c in ("akira", "luna", "viktor")] + extra)[:count]


@pytest.mark.parametrize("framing", ["close", "medium", "wide"])
@pytest.mark.parametrize("count", [4, 5, 8])
def test_a_crowded_storyboard_shot_passes_its_own_gate(tmp_path, framing, count):
    s = spec(framing=framing)
    s["characters"] = crowd(count)
    report = still_report(save(sb.draw_storyboard(s), tmp_path), s, QC)
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]


def test_a_character_missing_from_a_crowd_still_fails(tmp_path):
    drawn, asked = spec(framing="close"), spec(framing="close")
    drawn["characters"], asked["characters"] = crowd(5)[:4], crowd(5)
    report = still_report(save(sb.draw_storyboard(drawn), tmp_path), asked, QC)
    assert failed(report) == {"palette[x1]", "palette_colours[x1]"}


def test_a_blank_still_fails(tmp_path):
    report = still_report(save(Image.new("RGB", (768, 512), (40, 40, 40)), tmp_path), spec(), QC)
    assert {"luma_std", "sharpness", "palette[akira]", "palette_colours[akira]"} <= failed(report)
    assert report["pass"] is False


def test_a_still_missing_the_characters_palette_fails_only_that(tmp_path):
    s = spec(("luna",), "medium")
    report = still_report(save(sb.draw_storyboard(s, figures=False), tmp_path), s, QC)
    assert failed(report) == {"palette[luna]", "palette_colours[luna]"}


def test_another_character_in_the_frame_does_not_count(tmp_path):
    drawn, asked = spec(("viktor",), "close"), spec(("akira",), "close")
    report = still_report(save(sb.draw_storyboard(drawn), tmp_path), asked, QC)
    assert "palette_colours[akira]" in failed(report)


def test_a_blurred_still_fails_sharpness(tmp_path):
    s = spec()
    img = sb.draw_storyboard(s).filter(ImageFilter.GaussianBlur(3))
    assert "sharpness" in failed(still_report(save(img, tmp_path), s, QC))


def test_a_softly_blurred_still_fails_sharpness_alone(tmp_path):
    """A 1.5-pixel blur measures ~36: under min_sharpness (50), far above min_luma_std (6), so
    the check fails only when it is compared with its own threshold."""
    s = spec()
    img = sb.draw_storyboard(s).filter(ImageFilter.GaussianBlur(1.5))
    report = still_report(save(img, tmp_path), s, QC)
    sharp = next(c for c in report["checks"] if c["metric"] == "sharpness")
    assert QC["min_luma_std"] < sharp["value"] < QC["min_sharpness"], sharp
    assert failed(report) == {"sharpness"} and sharp["threshold"] == QC["min_sharpness"]


# metric -> (its config key, the step that moves the threshold just past the measured value)
THRESHOLDS = {
    "luma_std": ("min_luma_std", 0.001),
    "sharpness": ("min_sharpness", 0.01),
    "clipped_highlights": ("max_clipped_highlights", -0.00001),
    "crushed_shadows": ("max_crushed_shadows", -0.00001),
    "palette[akira]": ("min_palette_coverage", 0.00001),
    "palette_colours[akira]": ("min_palette_colours", 1),
    "reference[akira]": ("min_reference_similarity", 0.0001),
}


def test_each_check_reads_its_own_threshold_and_passes_on_it(tmp_path):
    """Each threshold set to exactly the measured value passes (>= and <= include it); moved
    one step past it, that check alone fails: no check reads another's threshold."""
    cutout("akira", tmp_path / "akira.png")
    s = spec(("akira",), "wide", "day")
    s["characters"][0]["reference_image"] = "akira.png"
    pixels = np.asarray(sb.draw_storyboard(s)).copy()
    pixels[:8], pixels[8:16] = 0, 255  # some crushed and some clipped pixels: a boundary to move
    path = save(Image.fromarray(pixels), tmp_path)
    values = {c["metric"]: c["value"] for c in still_report(path, s, QC, root=tmp_path)["checks"]}
    for metric, (key, step) in THRESHOLDS.items():
        for move, verdict in ((0, set()), (step, {metric})):
            cfg = copy.deepcopy(QC)
            at = values[metric] + move
            if isinstance(cfg[key], dict):
                cfg[key] = {framing: at for framing in cfg[key]}
            else:
                cfg[key] = at
            assert failed(still_report(path, s, cfg, root=tmp_path)) == verdict, (metric, move)


def test_exposure_clipped_highlights_and_crushed_shadows(tmp_path):
    s = spec(())
    base = np.asarray(sb.draw_storyboard(s)).copy()
    bright = base.copy()
    bright[:300] = 255
    dark = base.copy()
    dark[:300] = 0
    assert "clipped_highlights" in failed(still_report(save(Image.fromarray(bright), tmp_path, "b.png"), s, QC))
    assert "crushed_shadows" in failed(still_report(save(Image.fromarray(dark), tmp_path, "d.png"), s, QC))


def test_wrong_size_and_undecodable(tmp_path):
    s = spec()
    small = still_report(save(sb.draw_storyboard({**s, "width": 640, "height": 384}), tmp_path), s, QC)
    assert {"width", "height"} <= failed(small)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png at all")
    report = still_report(junk, s, QC)
    assert failed(report) == {"decodes"} and "error" in report
    thumbnail(junk, tmp_path / "junk.jpg")  # a grey place-holder: the report is kept all the same
    assert Image.open(tmp_path / "junk.jpg").size == (256, 170)


def cutout(cid, path):
    """A reference sheet: the character's storyboard figure alone on a transparent ground."""
    img = Image.new("RGBA", (300, 600), (0, 0, 0, 0))
    fig = sb._Figure(cx=150, top=20, u=70, arm_out=(12, 12), arm_bend=(0, 0), stance=0.15)
    sb._draw_figure(ImageDraw.Draw(img), fig, sb._palette(char(cid)), sb._char_style(char(cid)))
    img.save(path)
    return path


def test_reference_image_similarity(tmp_path):
    cutout("akira", tmp_path / "akira.png")
    cutout("luna", tmp_path / "luna.png")
    for framing, least in (("wide", 0.95), ("medium", 0.55)):  # a medium shot crops the legs off
        good = spec(("akira",), framing)
        good["characters"][0]["reference_image"] = "akira.png"
        path = save(sb.draw_storyboard(good), tmp_path)
        report = still_report(path, good, QC, root=tmp_path)
        sim = next(c for c in report["checks"] if c["metric"] == "reference[akira]")
        assert sim["pass"] and sim["value"] >= least, (framing, sim)
    wrong = copy.deepcopy(good)
    wrong["characters"][0]["reference_image"] = "luna.png"  # someone else's reference sheet
    assert "reference[akira]" in failed(still_report(path, wrong, QC, root=tmp_path))
    missing = copy.deepcopy(good)
    missing["characters"][0]["reference_image"] = "nowhere.png"
    assert "reference[akira]" in failed(still_report(path, missing, QC, root=tmp_path))


def test_waiver_is_recorded_and_lets_the_gate_pass(tmp_path):
    s = spec(("luna",))
    path = save(sb.draw_storyboard(s, figures=False), tmp_path)
    waive = [
        {"kind": "still", "item": "ep/sh1", "check": "palette[luna]", "reason": "Luna is off-screen here"},
        {"kind": "still", "item": "ep/sh2", "check": "palette_colours[luna]", "reason": "another shot entirely"},
    ]
    report = still_report(path, s, QC, waive)
    assert report["pass"] is False  # palette_colours[luna] is not waived for this shot
    write_report(tmp_path / "r.json", report)
    with pytest.raises(GateFailed) as err:
        require_pass([tmp_path / "r.json"])
    first, cause, *_ = str(err.value).splitlines()
    assert (
        first
        == f"QC gate failed: still ep/sh1: palette_colours[luna] = 0 (required >= 3); report: {tmp_path / 'r.json'}"
    )
    assert cause.startswith("  likely cause and fix: the character is drawn without some of their palette colours")
    waive.append({"kind": "still", "item": "ep/sh1", "check": "palette_colours[luna]", "reason": "off-screen"})
    report = still_report(path, s, QC, waive)
    assert report["pass"] is True
    assert [w["check"] for w in report["waivers"]] == ["palette[luna]", "palette_colours[luna]"]
    assert next(c for c in report["checks"] if c["metric"] == "palette[luna]")["waived"] == "Luna is off-screen here"
    write_report(tmp_path / "r.json", report)
    require_pass([tmp_path / "r.json"])


# --- generated pictures: the ComfyUI config's gates (config/comfyui.yaml) --------------------


def _merged(base, over):
    out = dict(base)
    for k, v in over.items():
        out[k] = _merged(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def comfyui_qc():
    """qc.still of config/config.yaml with config/comfyui.yaml on top (as Snakemake merges them)."""
    from tower_anime.config import validate_config

    config = _merged(load_yaml(ROOT / "config" / "config.yaml"), load_yaml(ROOT / "config" / "comfyui.yaml"))
    return validate_config(config)["qc"]["still"]


COMFY_CHARS = load_yaml(ROOT / "tests" / "data" / "comfyui" / "characters.yaml")["characters"]


def photo(name, width=768, height=512, zoom=1.0):
    """A photograph scikit-image ships, cropped to the frame's shape and scaled: what the
    ComfyUI test double answers, standing in for a render."""
    from comfyui_server import _crop, _photo

    return _crop(_photo(name), width, height, zoom)


def generated_spec(cid, framing, width=768, height=512):
    c = COMFY_CHARS[cid]
    return spec(
        framing=framing,
        width=width,
        height=height,
        backend="comfyui",
        characters=[{"id": cid, "name": c["name"], "palette": dict(c["palette"])}],
    )


@pytest.mark.parametrize("size", [(768, 512), (256, 160)])
@pytest.mark.parametrize("zoom", [1.0, 1.2])
@pytest.mark.parametrize("cid,framing", [("akira", "medium"), ("luna", "close"), ("viktor", "close"), ("luna", "wide")])
def test_a_photograph_of_a_person_passes_the_comfyui_defaults(tmp_path, size, zoom, cid, framing):
    report = still_report(
        save(photo("astronaut", *size, zoom=zoom), tmp_path), generated_spec(cid, framing, *size), comfyui_qc()
    )
    assert report["pass"], [c for c in report["checks"] if not c["pass"]]


@pytest.mark.parametrize(
    "picture,fails",
    [
        (lambda: Image.new("RGB", (768, 512), (128, 128, 128)), {"luma_std", "sharpness", "palette[luna]"}),
        (
            lambda: Image.new("RGB", (768, 512), (0, 0, 0)),
            {"luma_std", "sharpness", "crushed_shadows", "palette[luna]"},
        ),
        # a real photograph without Luna's colours (white coat, silver hair, violet): the cat
        (lambda: photo("chelsea"), {"palette[luna]", "palette_colours[luna]"}),
        # the person, drawn in the wrong colours (a green wash: what a LoRA that did not take gives)
        (
            lambda: Image.merge(
                "RGB",
                [
                    c.point(lambda v: 40 + v // 4) if i != 1 else c.point(lambda v: 90 + v * 2 // 3)
                    for i, c in enumerate(photo("astronaut").convert("L").split() * 3)
                ],
            ),
            {"palette[luna]", "palette_colours[luna]"},
        ),
        (lambda: photo("astronaut").filter(ImageFilter.GaussianBlur(2)), {"sharpness"}),
    ],
)
def test_the_comfyui_defaults_refuse_blank_black_soft_and_off_palette_renders(tmp_path, picture, fails):
    report = still_report(save(picture(), tmp_path), generated_spec("luna", "medium"), comfyui_qc())
    assert fails <= failed(report), failed(report)
    assert report["pass"] is False
