"""The likely cause and fix printed under every failed check (tower_anime.qc.hints)."""

from tower_anime.qc.hints import FALLBACK, HINTS, hint
from tower_anime.qc.report import check, describe_failure


def test_hints_name_cause_and_fix_by_metric_and_kind():
    assert hint("still", "sharpness").startswith(
        "a blurred or blank render: re-take with the next seed (raise qc.takes)"
    )
    assert hint("voice", "chars_per_second").startswith("speech too fast or too slow")
    assert hint("clip", "frozen_seconds").startswith("the clip stops moving")
    # per-character metrics by the name before the bracket; the kind picks among same-named ones
    assert hint("still", "palette[luna]") == HINTS["palette"]
    assert hint("voice", "rms_dbfs") != hint("music", "rms_dbfs")
    assert hint("episode", "chapter_start[street]") == HINTS["chapter_start"]


def test_an_unknown_metric_gets_the_fallback():
    assert hint("still", "aesthetic_score") == FALLBACK
    assert hint("plugin", "decodes") == FALLBACK  # only the kinds that have a decodes hint get one


def test_a_refusal_prints_the_hint_under_the_measurement():
    c = check("sharpness", 11.2, ">=", 50)
    first, second = describe_failure(
        {"kind": "still", "item": "ep01/s1"}, c, "reports/ep01/stills/s1.json"
    ).splitlines()
    assert (
        first == "QC gate failed: still ep01/s1: sharpness = 11.2 (required >= 50); report: reports/ep01/stills/s1.json"
    )
    assert second == f"  likely cause and fix: {hint('still', 'sharpness')}"
