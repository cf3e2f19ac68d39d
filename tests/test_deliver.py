"""Delivery (tower_anime.episode.deliver): the master becomes the episode file only when every
QC report passes and the copy is a whole video with its sound."""

import subprocess

import pytest

from tower_anime.episode.deliver import deliver
from tower_anime.errors import GateFailed
from tower_anime.fsutil import OutputError
from tower_anime.qc.report import check, make_report, write_report


def ff(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    d = tmp_path_factory.mktemp("masters")
    src = ["-f", "lavfi", "-i", "testsrc=s=32x32:r=24"]
    ff(*src, "-f", "lavfi", "-i", "sine=r=8000", "-frames:v", "4", "-t", "0.17", "-c:v", "libx264", d / "master.mkv")
    ff(*src, "-frames:v", "4", "-c:v", "libx264", d / "silent.mkv")
    return d


def report(tmp_path, name, value, waive=False):
    waivers = [{"kind": "episode", "item": "ep01", "check": "true_peak", "reason": "a shout"}] if waive else []
    path = tmp_path / "reports" / name
    write_report(path, make_report("episode", "ep01", [check("true_peak", value, "<=", -1.0, "dBTP")], waivers=waivers))
    return path


def test_a_master_whose_reports_pass_is_delivered_as_a_copy(masters, tmp_path):
    out = tmp_path / "episodes" / "ep01.mkv"
    deliver(masters / "master.mkv", [report(tmp_path, "a.json", -1.5), report(tmp_path, "b.json", 0.2, True)], out)
    assert out.read_bytes() == (masters / "master.mkv").read_bytes()
    assert out.stat().st_ino != (masters / "master.mkv").stat().st_ino  # its own file, not a hard link
    assert sorted(p.name for p in out.parent.iterdir()) == ["ep01.mkv"]


def test_a_failed_report_stops_delivery(masters, tmp_path):
    out = tmp_path / "episodes" / "ep01.mkv"
    with pytest.raises(
        GateFailed, match=r"QC gate failed: episode ep01: true_peak = 0.2 dBTP \(required <= -1.0 dBTP\)"
    ):
        deliver(masters / "master.mkv", [report(tmp_path, "a.json", -1.5), report(tmp_path, "b.json", 0.2)], out)
    assert not out.exists()


def test_a_master_without_sound_is_not_delivered(masters, tmp_path):
    out = tmp_path / "ep01.mkv"
    with pytest.raises(OutputError, match="it has no audio"):
        deliver(masters / "silent.mkv", [report(tmp_path, "a.json", -1.5)], out)
    assert list(tmp_path.glob("*.mkv")) == []
