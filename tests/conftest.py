"""Shared fixtures: the repository root, a story to edit, and a workflow copy to run."""
import copy
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_PARTS = ["Snakefile", "rules", "scripts", "config", "profiles", "report"]


@pytest.fixture
def root():
    return ROOT


def load_yaml(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def dump_yaml(data, path):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False)


@pytest.fixture
def story_dir(tmp_path):
    """A writable copy of the shipped characters and the small test episode."""
    shutil.copy(ROOT / "config" / "characters.yaml", tmp_path / "characters.yaml")
    (tmp_path / "episodes").mkdir()
    shutil.copy(ROOT / "tests" / "data" / "episodes" / "test01.yaml", tmp_path / "episodes" / "test01.yaml")
    return tmp_path


def copy_workflow(dest):
    """The workflow (not its outputs) in a fresh folder, with the test data beside it."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            shutil.copy2(src, dest / part)
    shutil.copytree(ROOT / "tests" / "data", dest / "tests" / "data")
    return dest


@pytest.fixture
def test_config():
    from tower_anime.config import load_config

    return load_config(ROOT / "tests" / "data" / "config.yaml")


def deep(d):
    return copy.deepcopy(d)
