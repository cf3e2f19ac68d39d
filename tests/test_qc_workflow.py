"""Quality gates in real workflow runs on the test episode: a failed still stops its own
clip and not the other shots, a waiver lets it by, a retake with the next seed passes,
and changing thresholds re-runs only the checks. The failing still comes from the
test-only `flaky` backend (tests/plugins/tower_test_backends.py, loaded via TOWER_PLUGINS):
the storyboard without its cast on even seeds. Shot s2 (Luna) has seed 12."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import PLUGINS, copy_workflow, dump_yaml, load_yaml, snakemake
from test_workflow import EP, fork, planned

from tower_anime.fsutil import sha256_file

pytestmark = pytest.mark.workflow
CLIPS = [f"clips/{EP}/{s}.mp4" for s in ("s1", "s2", "s3")]
WAIVE = [
    {"kind": "still", "item": f"{EP}/s2", "check": check, "reason": "Luna is only heard in this shot"}
    for check in ("palette[luna]", "palette_colours[luna]")
]


def flaky(takes, waive=()):
    def edit(cfg):
        cfg["backends"]["stills"] = "flaky"
        cfg["qc"] = {"takes": takes, "waive": list(waive)}

    return edit


def edit_config(work, fn):
    path = work / "tests" / "data" / "config.yaml"
    cfg = load_yaml(path)
    fn(cfg)
    dump_yaml(cfg, path)


def report(work, kind, name):
    return json.loads((work / "reports" / EP / kind / f"{name}.json").read_text())


def test_a_failed_still_stops_its_clip_not_the_others_and_a_waiver_lets_it_by(built, tmp_path):
    work = fork(built, tmp_path)
    edit_config(work, flaky(takes=1))
    proc = snakemake(work, "--cores", "2", "--keep-going", plugins=True, check=False)
    assert proc.returncode != 0
    path = f"reports/{EP}/stills/s2.json"
    # one line naming the item, the metric, its value, the threshold and the report
    assert re.search(
        rf"QC gate failed: still {EP}/s2: palette\[luna\] = 0(\.0)? \(required >= 0.03\); report: {path}", proc.stderr
    ), proc.stderr[-3000:]
    assert not (work / CLIPS[1]).exists()
    assert (work / CLIPS[0]).exists() and (work / CLIPS[2]).exists()
    assert report(work, "clips", "s1")["pass"] and report(work, "clips", "s3")["pass"]
    failed = report(work, "stills", "s2")
    assert failed["pass"] is False and {c["metric"] for c in failed["checks"] if not c["pass"]} == {
        "palette[luna]",
        "palette_colours[luna]",
    }
    assert report(work, "stills", "s1")["pass"] and report(work, "stills", "s3")["pass"]

    # the summary from the reports on disk names the failure and the clip it stopped
    env = {
        **os.environ,
        "TOWER_PLUGINS": "tower_test_backends",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])),
    }

    def qc_cli():
        return subprocess.run(
            [sys.executable, "-m", "tower_anime.cli", "--config", "tests/data/config.yaml", "qc", EP],
            cwd=work,
            capture_output=True,
            text=True,
            env=env,
        )

    cli = qc_cli()
    assert cli.returncode == 1, cli.stderr
    assert f"FAIL still {EP}/s2: palette[luna]" in cli.stdout and f"NOT CHECKED clip {EP}/s2" in cli.stdout
    assert "likely cause and fix: the character is missing from the shot" in cli.stdout
    assert "likely cause and fix: the character is missing from the shot" in proc.stderr  # the refusal too
    table = pd.read_csv(work / "reports" / EP / "qc.csv")
    assert set(table.loc[~table["pass"], "item"]) == {f"{EP}/s2"}
    sheet = (work / "reports" / EP / "qc.html").read_text()
    assert 'class="card fail"' in sheet and "palette[luna] = 0" in sheet

    # a person accepts the missing palette with a reason: the check re-runs, no still is
    # rendered again, and the refused clip is made, then the episode
    edit_config(work, flaky(takes=1, waive=WAIVE))
    jobs = planned(work, plugins=True)
    assert {(r, o) for r, o in jobs if r in ("still", "qc_still", "clip", "qc_clip")} == {
        ("qc_still", f"reports/{EP}/stills/s2.json"),
        ("clip", CLIPS[1]),
        ("qc_clip", f"reports/{EP}/clips/s2.json"),
    }
    snakemake(work, "--cores", "2", plugins=True)
    waived = report(work, "stills", "s2")
    assert waived["pass"] is True
    assert {c["metric"]: c.get("waived") for c in waived["checks"] if not c["pass"]} == {
        "palette[luna]": "Luna is only heard in this shot",
        "palette_colours[luna]": "Luna is only heard in this shot",
    }
    assert (work / CLIPS[1]).exists() and (work / "episodes" / f"{EP}.mkv").exists()
    table = pd.read_csv(work / "reports" / EP / "qc.csv")
    assert table["waived"].notna().sum() == 2 and table.loc[table["waived"].isna(), "pass"].all()
    # the summary shows the accepted checks as waived, not failed, and the gate as passed
    cli = qc_cli()
    assert cli.returncode == 0, cli.stdout
    assert "FAIL" not in cli.stdout
    assert f"WAIVED still {EP}/s2: palette[luna] = 0" in cli.stdout and "Luna is only heard in this shot" in cli.stdout
    assert f"{EP}: " in cli.stdout and " 0 failed, 2 waived" in cli.stdout


def test_a_retake_with_the_next_seed_passes_and_every_take_is_kept(built, tmp_path):
    work = fork(built, tmp_path)
    edit_config(work, flaky(takes=3))
    snakemake(work, "--cores", "2", CLIPS[1], plugins=True)  # a new backend: the still is made again
    takes = json.loads((work / "reports" / EP / "stills" / "s2.takes.json").read_text())
    assert [(t["take"], t["seed"], t["pass"]) for t in takes["takes"]] == [(1, 12, False), (2, 13, True)]
    assert (takes["promoted"], takes["seed"]) == (2, 13)
    assert report(work, "stills", "s2.take1")["pass"] is False
    assert report(work, "stills", "s2.take2")["pass"] is True
    final = report(work, "stills", "s2")
    assert final["pass"] and final["takes"]["promoted"] == 2
    assert (work / CLIPS[1]).exists()


def test_changing_thresholds_reruns_checks_not_renders(built, tmp_path):
    work = fork(built, tmp_path)

    def tighten(cfg):
        cfg["qc"] = {
            "still": {"min_sharpness": 60},
            "clip": {"max_black_fraction": 0.5},
            "voice": {"min_rms_dbfs": -45},
            "music": {"min_rms_dbfs": -50},
        }

    edit_config(work, tighten)
    jobs = planned(work)
    rules = {r for r, _ in jobs}
    # the editor's timeline again too: it carries each clip's QC result
    assert rules == {"qc_still", "qc_clip", "qc_voice", "qc_music", "deliver", "qc_summary", "otio_timeline"}
    assert len(jobs) == 3 + 3 + 3 + 2 + 3  # every still, clip, line and cue checked again; nothing else


def test_snakemake_report_has_the_stills_the_qc_tables_and_the_dag(built, tmp_path):
    out = tmp_path / "report.html"
    snakemake(built, "--report", str(out))
    page = out.read_text()
    for needle in (
        f"stills/{EP}/s1.png",
        f"reports/{EP}/qc.csv",
        f"reports/{EP}/qc.html",
        f"reports/{EP}/stills/s1.json",
        "Contact sheet of episode",
        "rulegraph",
    ):
        assert needle in page, needle


def frame(mkv, seconds):
    """One decoded grey frame of a video at `seconds`, as bytes."""
    return subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-ss",
            str(seconds),
            "-i",
            str(mkv),
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout


def test_a_still_replaced_by_hand_re_renders_its_clip_in_the_same_run(built, tmp_path):
    from PIL import Image, ImageDraw, PngImagePlugin

    work = fork(built, tmp_path)
    old_episode = (work / "episodes" / f"{EP}.mkv").read_bytes()
    old_clip = sha256_file(work / CLIPS[1])
    old_mtimes = {c: (work / c).stat().st_mtime_ns for c in CLIPS}
    # as a re-fetch or a person would: other pixels, another text chunk, same settings
    still = work / "stills" / EP / "s2.png"
    image = Image.open(still).convert("RGB")
    ImageDraw.Draw(image).rectangle([344, 196, 424, 276], fill=(128, 128, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "replaced by hand")
    image.save(still, pnginfo=info)
    new_still = still.read_bytes()

    snakemake(work, "--cores", "2")  # once
    assert still.read_bytes() == new_still  # checked, not rendered again
    assert sha256_file(work / CLIPS[1]) != old_clip, "the old clip of s2 was kept"
    assert [(work / c).stat().st_mtime_ns for c in (CLIPS[0], CLIPS[2])] == [
        old_mtimes[c] for c in (CLIPS[0], CLIPS[2])
    ]
    assert report(work, "stills", "s2")["pass"] and report(work, "clips", "s2")["pass"]
    # the delivered episode is the new one: s2 (frames 49-108) changed, s1 did not
    episode = work / "episodes" / f"{EP}.mkv"
    assert episode.read_bytes() != old_episode
    (tmp_path / "old.mkv").write_bytes(old_episode)
    assert frame(episode, 78 / 24) != frame(tmp_path / "old.mkv", 78 / 24)
    assert frame(episode, 24 / 24) == frame(tmp_path / "old.mkv", 24 / 24)
    assert planned(work) == set()

    # a threshold changed afterwards still re-runs the checks only
    edit_config(work, lambda cfg: cfg.update(qc={"still": {"min_sharpness": 60}}))
    assert {r for r, _ in planned(work)} == {"qc_still", "qc_clip", "deliver", "qc_summary", "otio_timeline"}


def test_snakemake_report_before_a_build_says_what_to_build(tmp_path):
    work = copy_workflow(tmp_path / "new")
    proc = snakemake(work, "--report", "report.html", check=False)
    assert proc.returncode != 0 and not (work / "report.html").exists()
    assert f"Tower: snakemake --report shows a finished build, and this one is missing episodes/{EP}.mkv" in proc.stderr
    assert "Build first: snakemake --cores 2" in proc.stderr
    assert "Traceback" not in proc.stderr and "marked for report but does not exist" not in proc.stderr
