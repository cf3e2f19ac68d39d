"""QC reports (tower_anime.qc.report): a check's verdict on each side of its threshold,
waivers, the verdict file that makes a refused render again, the refusal message and the
score that picks the best take. Plain dicts and files in tmp_path: no renders."""

import json
from pathlib import Path

import pytest

from tower_anime.errors import GateFailed, TowerError
from tower_anime.qc.report import (
    apply_waivers,
    check,
    describe_check,
    ensure_verdict,
    failures,
    make_report,
    read_report,
    refused,
    require_pass,
    score,
    verdict_path,
    write_gate_report,
    write_report,
)

# --- check: the verdict on each side of the threshold ------------------------------------


@pytest.mark.parametrize(
    "op,threshold,passing,failing",
    [
        ("<=", 5, [4, 5], [6]),
        (">=", 5, [5, 6], [4]),
        ("<", 5, [4], [5, 6]),
        (">", 5, [6], [4, 5]),
        ("==", 5, [5], [4, 6]),
        ("==", "h264", ["h264"], ["hevc"]),
        ("between", (2, 4), [2, 3, 4], [1, 5]),
        ("between", [0.5, 0.5], [0.5], [0.49, 0.51]),
    ],
)
def test_a_check_passes_on_its_side_of_the_threshold_only(op, threshold, passing, failing):
    for v in passing:
        assert check("m", v, op, threshold)["pass"] is True, (v, op, threshold)
    for v in failing:
        assert check("m", v, op, threshold)["pass"] is False, (v, op, threshold)


def test_a_check_records_what_it_measured():
    assert check("sharpness", 12.5, ">=", 50, "var", exempt="") == {
        "metric": "sharpness",
        "value": 12.5,
        "op": ">=",
        "threshold": 50,
        "unit": "var",
        "pass": False,
        "exempt": "",
    }


def test_a_missing_or_mistyped_measurement_fails_unless_exempt():
    assert check("m", None, "<=", 5)["pass"] is False
    assert check("m", None, "==", None)["pass"] is False  # no measurement is no match, even with None
    assert check("m", "n/a", "<=", 5)["pass"] is False  # str <= int: TypeError
    assert check("m", 3, "between", (None, 4))["pass"] is False
    exempt = check("m", None, "<=", 5, exempt="a hold is meant to freeze")
    assert exempt["pass"] is True and exempt["exempt"] == "a hold is meant to freeze"
    assert check("m", 9, "<=", 5, exempt="")["pass"] is False  # an empty reason exempts nothing


def test_an_unknown_operator_is_an_error_not_a_verdict():
    with pytest.raises(KeyError):
        check("m", 1, "~", 1)


# --- reports and waivers -----------------------------------------------------------------


def _report(*checks, kind="still", item="ep/s1", **extra):
    return make_report(kind, item, list(checks), extra or None)


def test_make_report_keeps_its_extra_fields_and_passes_without_failures():
    r = make_report("clip", "ep/s2", [check("a", 1, "<=", 2)])
    assert r == {
        "kind": "clip",
        "item": "ep/s2",
        "checks": [check("a", 1, "<=", 2)],
        "waivers": [],
        "pass": True,
    }
    r = make_report("clip", "ep/s2", [check("a", 3, "<=", 2)], {"file": "clips/s2.mp4"})
    assert r["file"] == "clips/s2.mp4" and r["pass"] is False
    assert make_report("clip", "ep/s2", [])["pass"] is True  # nothing failed


def test_a_waiver_accepts_only_its_own_failed_check_of_its_own_item():
    checks = [check("palette[luna]", 0.1, ">=", 0.5), check("sharpness", 80, ">=", 50)]
    waivers = [
        {"kind": "still", "item": "ep/s1", "check": "palette[luna]", "reason": "off-screen"},
        {"kind": "still", "item": "ep/s1", "check": "sharpness", "reason": "passes anyway"},
        {"kind": "clip", "item": "ep/s1", "check": "palette[luna]", "reason": "another kind"},
        {"kind": "still", "item": "ep/s2", "check": "palette[luna]", "reason": "another item"},
    ]
    r = make_report("still", "ep/s1", checks, waivers=waivers)
    assert r["pass"] is True
    assert [c.get("waived") for c in r["checks"]] == ["off-screen", None]  # a passing check is not waived
    assert r["waivers"] == [  # only this item's waivers are recorded, each with whether it was needed
        {"check": "palette[luna]", "reason": "off-screen", "used": True},
        {"check": "sharpness", "reason": "passes anyway", "used": False},
    ]
    assert failures(r) == []


def test_a_waiver_for_one_of_two_failed_checks_leaves_the_item_refused():
    checks = [check("a", 9, "<=", 5), check("b", 9, "<=", 5), check("c", 1, "<=", 5)]
    r = make_report(
        "still", "ep/s1", checks, waivers=[{"kind": "still", "item": "ep/s1", "check": "a", "reason": "ok"}]
    )
    assert r["pass"] is False
    assert [c["metric"] for c in failures(r)] == ["b"]


def test_a_waiver_used_only_when_its_check_was_waived():
    # two checks, one named like the waiver and passing, one failing under another name:
    # any() over both must not count the waiver as used
    checks = [check("a", 1, "<=", 5), check("b", 9, "<=", 5)]
    r = make_report("still", "ep/s1", checks, waivers=[{"kind": "still", "item": "ep/s1", "check": "a", "reason": "x"}])
    assert r["waivers"] == [{"check": "a", "reason": "x", "used": False}]
    assert r["pass"] is False


def test_waivers_are_recomputed_from_the_current_config():
    r = _report(check("a", 9, "<=", 5))
    apply_waivers(r, [{"kind": "still", "item": "ep/s1", "check": "a", "reason": "ok"}])
    assert r["pass"] is True and r["checks"][0]["waived"] == "ok"
    apply_waivers(r, [])  # the waiver was removed from the config
    assert r["pass"] is False and "waived" not in r["checks"][0] and r["waivers"] == []


# --- the verdict file ----------------------------------------------------------------------


def test_the_verdict_file_says_refused_and_lists_the_failed_checks(tmp_path):
    path = tmp_path / "reports" / "s1.json"
    path.parent.mkdir()
    r = _report(check("sharpness", 12.0, ">=", 50, "var"), check("luma_std", 30, ">=", 8))
    write_gate_report(path, r)
    assert json.loads(path.read_text()) == r
    first, *rest = verdict_path(path).read_text().split("\n")
    assert first.split(" ")[0] == "refused" and first.split(" ")[1].isdigit()
    assert rest == ["sharpness = 12.0 var (required >= 50 var)", ""]
    write_gate_report(path, _report(check("sharpness", 60.0, ">=", 50)))
    lines = verdict_path(path).read_text().split("\n")
    assert lines[0].startswith("pass ") and lines[1:] == [""]


def test_ensure_verdict_creates_an_empty_file_and_keeps_an_existing_one(tmp_path):
    report = tmp_path / "reports" / "ep" / "clips" / "s1.json"  # no folder yet
    made = ensure_verdict(report)
    assert made == str(tmp_path / "reports" / "ep" / "clips" / "s1.verdict")
    assert (tmp_path / "reports" / "ep" / "clips" / "s1.verdict").read_text() == ""
    other = tmp_path / "reports" / "ep" / "clips" / "s2.json"  # the folder exists now
    assert ensure_verdict(other) == str(other.with_suffix(".verdict"))
    assert other.with_suffix(".verdict").exists()
    Path(made).write_text("refused 1\n")
    ensure_verdict(report)
    assert Path(made).read_text() == "refused 1\n"


def test_refused_follows_the_verdict_and_the_current_waivers(tmp_path):
    path = tmp_path / "s1.json"
    assert refused(path, []) is False  # never checked: no verdict file
    ensure_verdict(path)
    assert refused(path, []) is False  # an empty verdict: not refused
    r = _report(check("a", 9, "<=", 5))
    write_gate_report(path, r)
    assert refused(path, []) is True
    waiver = [{"kind": "still", "item": "ep/s1", "check": "a", "reason": "ok"}]
    assert refused(path, waiver) is False  # a waiver added since
    write_gate_report(path, _report(check("a", 1, "<=", 5)))
    assert refused(path, []) is False
    verdict_path(path).write_text("refused 5\n")
    path.write_text("{ half a report")
    assert refused(path, waiver) is True  # a damaged report counts as refused
    path.unlink()
    assert refused(path, waiver) is True


def test_read_report_names_a_damaged_report(tmp_path):
    (tmp_path / "r.json").write_text("{")
    with pytest.raises(TowerError, match=r"cannot read the QC report .*r\.json.*delete it and run again"):
        read_report(tmp_path / "r.json")
    with pytest.raises(TowerError, match="cannot read the QC report"):
        read_report(tmp_path / "none.json")


# --- the refusal message ---------------------------------------------------------------------


def test_describe_check_rounds_floats_and_shows_ranges():
    assert describe_check(check("m", 0.123456789, "<=", 0.1, "s")) == "m = 0.123457 s (required <= 0.1 s)"
    assert (
        describe_check(check("m", 1.0000004, "between", [0.2500001, 2.0])) == "m = 1.0 (required between [0.25, 2.0])"
    )
    # a list of another length is shown as it is, not cut to its first two values
    assert describe_check(check("m", [0.1234567, 2, 3], "==", 1)) == "m = [0.1234567, 2, 3] (required == 1)"
    assert describe_check(check("m", (1, 2, 3), "==", "x")) == "m = (1, 2, 3) (required == x)"
    assert describe_check(check("m", "ok", "==", "ok")) == "m = ok (required == ok)"  # a str is not a range


def test_require_pass_lists_every_failed_check_of_every_report(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    write_report(a, _report(check("sharpness", 3, ">=", 50), check("luma_std", 30, ">=", 8)))
    write_report(b, _report(check("frames", 40, "==", 48), kind="clip", item="ep/s2"))
    write_report(c, _report(check("x", 1, "<=", 2)))
    require_pass([c])  # passes: nothing raised
    require_pass([])
    with pytest.raises(GateFailed) as err:
        require_pass([a, c, b])
    lines = str(err.value).splitlines()
    assert lines[0] == f"QC gate failed: still ep/s1: sharpness = 3 (required >= 50); report: {a}"
    assert lines[1].startswith("  likely cause and fix: a blurred or blank render")
    assert lines[2] == f"QC gate failed: clip ep/s2: frames = 40 (required == 48); report: {b}"
    assert lines[4] == "  the refused item is made again on the next run, unless a waiver (qc.waive) accepts the check"
    assert len(lines) == 5


# --- score: which take is best ------------------------------------------------------------------


def _scored(*checks):
    return score(_report(*checks))


def test_score_puts_passing_first_then_fewer_failures():
    assert _scored(check("a", 1, "<=", 2)) == (True, 0, 0.5)  # (2 - 1) / 2
    assert _scored(check("a", 3, "<=", 2), check("b", 3, "<=", 2)) == (False, -2, -0.5)
    assert _scored(check("a", 3, "<=", 2), check("b", 1, "<=", 2))[:2] == (False, -1)


@pytest.mark.parametrize(
    "op,value,threshold,margin",
    [
        (">=", 60, 50, 0.2),  # 10 above a floor of 50
        (">", 40, 50, -0.2),
        ("<=", 40, 50, 0.2),  # 10 under a ceiling of 50
        ("<", 55, 50, -0.1),
        ("<=", -3, -4, -0.25),  # a negative threshold: relative to its size
        ("between", 3, (2, 6), 0.25),  # 1 from the nearer end, of a range 4 wide
        ("between", 5.5, (2, 6), 0.125),
        ("between", 7, (2, 6), -0.25),
    ],
)
def test_score_is_the_relative_margin_to_the_threshold(op, value, threshold, margin):
    assert _scored(check("m", value, op, threshold))[2] == pytest.approx(margin)


def test_score_takes_the_worst_margin_clipped_to_one():
    assert _scored(check("a", 60, ">=", 50), check("b", 45, "<=", 50))[2] == pytest.approx(0.1)
    assert _scored(check("a", 500, ">=", 50))[2] == 1.0  # 9 times the threshold: clipped
    assert _scored(check("a", -500, ">=", 50))[2] == -1.0
    assert _scored(check("a", float("inf"), "<=", 50))[2] == -1.0  # not finite: the worst
    assert _scored(check("a", float("nan"), ">=", 50))[2] == -1.0


def test_a_zero_threshold_or_range_is_scaled_by_a_tiny_width_not_divided_by_zero():
    # a margin of 1e-10 over a width of 1e-9: a tenth
    assert _scored(check("a", 1e-10, ">=", 0))[2] == pytest.approx(0.1)
    assert _scored(check("a", 1e-10, "<=", 0))[2] == pytest.approx(-0.1)
    assert _scored(check("a", 0.0, "between", (-1e-10, -1e-10)))[2] == pytest.approx(-0.1)


def test_a_reversed_range_is_measured_by_its_width():
    # (6, 2) holds no value: 4 is 2 outside each end, of a range 4 wide
    assert _scored(check("a", 4, "between", (6, 2))) == (False, -1, pytest.approx(-0.5))


def test_score_ignores_exempt_boolean_and_non_numeric_checks():
    assert _scored(check("a", 60, ">=", 50), check("b", 0, ">=", 50, exempt="a hold"))[2] == pytest.approx(0.2)
    # a boolean is a verdict, not a measurement: False >= 1 has no margin
    assert _scored(check("a", 60, ">=", 50), check("b", False, ">=", 1))[2] == pytest.approx(0.2)
    assert _scored(check("a", 60, ">=", 50), check("c", "h264", "==", "h264"))[2] == pytest.approx(0.2)
    assert _scored(check("a", 60, ">=", 50), check("d", 7, "==", 7))[2] == pytest.approx(0.2)
    assert _scored(check("a", 60, ">=", 50), check("e", 7, "<=", [1, 2]))[2] == pytest.approx(0.2)
    assert _scored(check("c", "h264", "==", "h264")) == (True, 0, 0.0)  # no margin at all


def test_a_refusal_names_a_waiver_whose_check_the_report_does_not_have(tmp_path):
    checks = [check("frozen_seconds", 3.0, "<=", 1.0), check("fps", 24, "==", 24)]
    typo = {"kind": "clip", "item": "ep/s1", "check": "frozn_seconds", "reason": "a hold on purpose"}
    path = tmp_path / "r.json"
    write_report(path, make_report("clip", "ep/s1", checks, waivers=[typo]))
    with pytest.raises(GateFailed) as exc:
        require_pass([path])
    assert (
        "qc.waive names the check 'frozn_seconds' for clip ep/s1, which its report does not have, so it "
        "waives nothing; the failed checks are ['frozen_seconds']" in str(exc.value)
    )
