"""The code's habits, checked with the suite: ruff's lint rules and its formatter (settings in
pyproject.toml) report nothing on the package, the scripts, the tests and the benchmarks."""

import shutil
import subprocess

import pytest
from conftest import ROOT


def ruff(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("ruff")
    if exe is None:  # ruff is in the test extra: `pip install -e '.[test]'` (setup.sh does)
        pytest.fail("ruff is not installed; run `bash setup.sh`")
    return subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_is_clean():
    proc = ruff("check", "--output-format", "concise", ".")
    assert proc.returncode == 0, proc.stdout[-4000:]


def test_ruff_format_is_clean():
    proc = ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:]
