"""`tower-anime init`: a user's own series outside Tower, built with Tower's workflow as a
Snakemake module."""

import subprocess
import sys

import pytest
from conftest import ROOT

from tower_anime.errors import TowerError
from tower_anime.series import init_series


def test_init_writes_a_series_and_refuses_a_folder_in_use(tmp_path):
    series = tmp_path / "my-series"
    written = {p.relative_to(series).as_posix() for p in init_series(series, "My Series")}
    assert {
        "Snakefile",
        "config/config.yaml",
        "config/characters.yaml",
        "config/episodes/ep01.yaml",
        ".gitignore",
    } <= written
    snakefile = (series / "Snakefile").read_text()
    assert f'"{(ROOT / "Snakefile").as_posix()}"' in snakefile and "use rule * from tower" in snakefile
    assert (series / "config" / "config.yaml").read_text().startswith("# My Series: ")
    with pytest.raises(TowerError, match="is not empty"):
        init_series(series)


@pytest.mark.workflow
def test_a_new_series_builds_its_episode(tmp_path):
    series = tmp_path / "pilot"
    cli = [sys.executable, "-m", "tower_anime.cli"]
    subprocess.run([*cli, "init", str(series)], check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", "episodes/ep01.mkv"],
        cwd=series,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (series / "episodes" / "ep01.mkv").stat().st_size > 0
    report = (series / "reports" / "ep01" / "episode.json").read_text()
    assert '"pass": true' in report
    # the renderers' code inputs are Tower's, the outputs the series'
    again = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "episodes/ep01.mkv"],
        cwd=series,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert "Nothing to be done" in again.stdout + again.stderr
