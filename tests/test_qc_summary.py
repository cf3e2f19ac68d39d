"""The episode's QC summary (tower_anime.qc.summary): which reports it expects, the CSV's rows
(a missing or stale report is one failed row), the counts, verdicts and thumbnails of the
HTML contact sheet. Reports are written by hand into tmp_path."""

import base64
import io
import re
from types import SimpleNamespace

import pandas as pd
import pytest

from tower_anime.qc.report import check, make_report, write_report
from tower_anime.qc.summary import COLUMNS, episode_view, expected_reports, html, table, write_summary

VIEW = {
    "episode": "ep01",
    "title": "Night Signal",
    "shots": [{"shot": "s1", "scene": "sc1", "frames": 24}, {"shot": "s2", "scene": "sc1", "frames": 36}],
    "lines": ["l1"],
    "scenes": ["sc1"],
}
WAIVE = [{"kind": "still", "item": "ep01/s2", "check": "sharpness", "reason": "a soft dream shot"}]


def test_episode_view_keeps_what_the_summary_reads():
    plan = SimpleNamespace(
        id="ep01",
        title="Night Signal",
        shots=[{"shot": "s1", "scene": "sc1", "frames": 24, "action": "not needed"}],
        cues=[{"line": "l1", "text": "Hello."}],
        scenes=[{"scene": "sc1", "location": "roof"}],
    )
    assert episode_view(plan) == {
        "episode": "ep01",
        "title": "Night Signal",
        "shots": [{"shot": "s1", "scene": "sc1", "frames": 24}],
        "lines": ["l1"],
        "scenes": ["sc1"],
    }


def test_every_gate_of_the_episode_is_expected():
    assert [(k, i, str(p)) for k, i, p in expected_reports(VIEW)] == [
        ("still", "ep01/s1", "reports/ep01/stills/s1.json"),
        ("clip", "ep01/s1", "reports/ep01/clips/s1.json"),
        ("still", "ep01/s2", "reports/ep01/stills/s2.json"),
        ("clip", "ep01/s2", "reports/ep01/clips/s2.json"),
        ("voice", "ep01/l1", "reports/ep01/voice/l1.json"),
        ("music", "ep01/sc1", "reports/ep01/music/sc1.json"),
        ("episode", "ep01", "reports/ep01/episode.json"),
    ]


def jpeg(color):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def on_disk(tmp_path):
    """s1: still passes, clip fails; s2: still waived, its clip report stale (the clip is gone);
    l1 passes; sc1 has no report; the episode fails twice."""
    r = tmp_path / "reports" / "ep01"

    def put(rel, kind, item, checks, waivers=(), **extra):
        write_report(r / rel, make_report(kind, item, checks, extra or None, waivers))

    (tmp_path / "stills").mkdir()
    (tmp_path / "stills" / "s1.png").write_bytes(b"png")
    takes = {
        "takes": [{"take": 1, "seed": 12, "pass": False, "failed": ["palette"]}, {"take": 2, "seed": 13, "pass": True}]
    }
    put("stills/s1.json", "still", "ep01/s1", [check("sharpness", 80.5, ">=", 50)], file="stills/s1.png", takes=takes)
    put("clips/s1.json", "clip", "ep01/s1", [check("frames", 20, "==", 24), check("fps", 24, "==", 24)])
    put(
        "stills/s2.json",
        "still",
        "ep01/s2",
        [check("sharpness", 12.0, ">=", 50), check("luma_std", 30, ">=", 8)],
        WAIVE,
    )
    put("clips/s2.json", "clip", "ep01/s2", [check("frames", 36, "==", 36)], file="clips/s2.mp4")  # gone
    put(
        "voice/l1.json",
        "voice",
        "ep01/l1",
        [check("decodes", True, "==", True), check("rms_dbfs", -20.5, "between", [-30, -10], "dBFS")],
    )
    put(
        "episode.json",
        "episode",
        "ep01",
        [check("true_peak", 0.3, "<=", -1.0, "dBTP"), check("title", "x", "==", "Night Signal")],
    )
    (r / "thumbs").mkdir()
    (r / "thumbs" / "s1.still.jpg").write_bytes(jpeg("red"))
    (r / "thumbs" / "s1.clip.jpg").write_bytes(jpeg("blue"))
    (r / "thumbs" / "s2.clip.jpg").write_bytes(jpeg("green"))  # of the clip that is gone
    return tmp_path  # fmt: skip


def row(kind, item, check_, value, op, threshold, unit, passed, report, waived="", exempt=""):
    return {
        "episode": "ep01",
        "kind": kind,
        "item": item,
        "check": check_,
        "value": value,
        "op": op,
        "threshold": threshold,
        "unit": unit,
        "pass": passed,
        "waived": waived,
        "exempt": exempt,
        "report": report,
    }


NOT_CHECKED = "not checked: an earlier gate stopped this item, or it was not built yet"


def test_the_table_has_a_row_per_check_and_one_per_missing_or_stale_report(on_disk):
    df = table(VIEW, on_disk)
    assert list(df.columns) == COLUMNS
    rows = df.replace({float("nan"): None}).to_dict("records")
    assert rows == [
        row("still", "ep01/s1", "sharpness", 80.5, ">=", 50, "", True, "reports/ep01/stills/s1.json"),
        row("clip", "ep01/s1", "frames", 20, "==", 24, "", False, "reports/ep01/clips/s1.json"),
        row("clip", "ep01/s1", "fps", 24, "==", 24, "", True, "reports/ep01/clips/s1.json"),
        row("still", "ep01/s2", "sharpness", 12.0, ">=", 50, "", False, "reports/ep01/stills/s2.json", "a soft dream shot"),
        row("still", "ep01/s2", "luma_std", 30, ">=", 8, "", True, "reports/ep01/stills/s2.json"),
        row("clip", "ep01/s2", "(no report)", None, "", None, "", False, "reports/ep01/clips/s2.json", exempt=NOT_CHECKED),
        row("voice", "ep01/l1", "decodes", True, "==", True, "", True, "reports/ep01/voice/l1.json"),
        row("voice", "ep01/l1", "rms_dbfs", -20.5, "between", "[-30, -10]", "dBFS", True, "reports/ep01/voice/l1.json"),
        row("music", "ep01/sc1", "(no report)", None, "", None, "", False, "reports/ep01/music/sc1.json", exempt=NOT_CHECKED),
        row("episode", "ep01", "true_peak", 0.3, "<=", -1.0, "dBTP", False, "reports/ep01/episode.json"),
        row("episode", "ep01", "title", "x", "==", "Night Signal", "", False, "reports/ep01/episode.json"),
    ]  # fmt: skip


def test_a_report_whose_file_is_there_is_not_stale(on_disk):
    (on_disk / "clips").mkdir()
    (on_disk / "clips" / "s2.mp4").write_bytes(b"mp4")
    df = table(VIEW, on_disk)
    assert df[df["item"] == "ep01/s2"]["check"].tolist() == ["sharpness", "luma_std", "frames"]


def test_the_contact_sheet_counts_verdicts_and_thumbnails(on_disk):
    page = html(VIEW, on_disk)
    # 11 rows: 5 failed (frames, s2 clip missing, sc1 missing, true_peak, title) on 4 items; 1 waived
    assert "<b>11</b> checks" in page
    assert "<b>5</b> failed (4 items)" in page
    assert "<b>1</b> waived" in page
    assert 'episode: <span class="badge fail">fail</span>' in page
    cards = page.split('<div class="card ')[1:]
    s1, s2 = cards[0], cards[1]
    # s1: its still passes, its clip fails; both thumbnails are embedded
    assert s1.startswith('fail">') and 'still <span class="badge pass">pass</span>' in s1
    assert 'clip <span class="badge fail">fail</span>' in s1
    red = (
        "data:image/jpeg;base64,"
        + base64.b64encode((on_disk / "reports/ep01/thumbs/s1.still.jpg").read_bytes()).decode()
    )
    blue = (
        "data:image/jpeg;base64,"
        + base64.b64encode((on_disk / "reports/ep01/thumbs/s1.clip.jpg").read_bytes()).decode()
    )
    assert f'<img src="{red}" width="192" alt="still s1">' in s1
    assert f'<img src="{blue}" width="390"' in s1
    assert "takes: #1 seed 12 fail (palette); #2 seed 13 pass" in s1
    marked = re.findall(r'<li class="(\w+)">(\w+) =', s1)
    assert marked == [("fail", "frames")]  # the failed check only, not the passing fps
    # s2: the still is waived, its clip's report is stale: no thumbnail of a clip that is gone
    assert s2.startswith('missing">') and 'still <span class="badge waived">waived</span>' in s2
    assert 'clip <span class="badge missing">missing</span>' in s2
    assert '<div class="nopic">no still</div>' in s2 and '<div class="nopic">no clip</div>' in s2
    assert re.findall(r'<li class="(\w+)">(\w+) =', s2) == [("waived", "sharpness")]
    assert "— waived: a soft dream shot" in s2


def test_the_sound_table_lists_voice_lines_and_music_cues_only(on_disk):
    page = html(VIEW, on_disk)
    sounds = page.split("<h2>Voice lines and music cues</h2>")[1].split("<h2>Episode</h2>")[0]
    rows = re.findall(r'<tr class="(\w+)"><td>(\w+)</td><td>([\w/]+)</td>', sounds)
    assert rows == [("pass", "voice", "ep01/l1"), ("missing", "music", "ep01/sc1")]
    assert "<td>rms_dbfs -20.5</td>" in sounds  # measured values, the decodes verdict left out


def test_a_waived_report_with_a_passing_check_is_waived_not_passed(tmp_path):
    view = {**VIEW, "shots": [{"shot": "s1", "scene": "sc1", "frames": 24}]}
    r = tmp_path / "reports" / "ep01"
    waive = [{"kind": "still", "item": "ep01/s1", "check": "a", "reason": "fine"}]
    write_report(
        r / "stills/s1.json",
        make_report("still", "ep01/s1", [check("a", 9, "<=", 5), check("b", 1, "<=", 5)], waivers=waive),
    )
    write_report(r / "clips/s1.json", make_report("clip", "ep01/s1", [check("a", 1, "<=", 5)]))
    card = html(view, tmp_path).split('<div class="card ')[1]
    assert card.startswith('waived">') and 'still <span class="badge waived">' in card
    assert 'clip <span class="badge pass">pass</span>' in card
    assert re.findall(r'<li class="(\w+)">(\w+) =', card) == [("waived", "a")]  # b passed: not marked


def test_write_summary_writes_the_csv_and_the_sheet(on_disk):
    csv, sheet = on_disk / "qc.csv", on_disk / "qc.html"
    df = write_summary(VIEW, csv, sheet, on_disk)
    assert csv.read_text().splitlines()[0] == ",".join(COLUMNS)  # no index column
    back = pd.read_csv(csv)
    assert len(back) == len(df) == 11 and back["check"].tolist() == df["check"].tolist()
    assert sheet.read_text() == html(VIEW, on_disk)


def test_the_sheet_escapes_what_it_shows(on_disk):
    # the template is qc.html.j2: its escaping must not hang on the file name's last suffix
    view = {**VIEW, "title": "Nexus <script>alert(1)</script> & Co"}
    page = html(view, on_disk)
    assert "<script>alert(1)</script>" not in page
    assert "Nexus &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "(required &lt;= " in page or "(required &gt;= " in page or "(required == " in page
