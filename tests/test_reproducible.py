"""Reproducible builds: the same story gives the same bytes in another process and another
project folder. Piper samples noise inside its model and takes no seed, so it is checked on
its own across processes; then the whole test episode is built twice (two folders, two
snakemake runs) and every voice, cue, mix, stem, subtitle file, timeline, still, clip and
the delivered episode are compared by sha256."""

import hashlib
import subprocess
import sys

import pytest
from conftest import copy_workflow, snakemake

EP = "test01"

SPEAK = """
import hashlib, sys
from tower_anime.audio.voice import synthesize_line
for engine in ("piper", "espeak"):
    out = f"{sys.argv[1]}/{engine}.wav"
    # pitch and speed: the whole post-filter chain (rubberband, silenceremove, aresample) runs
    synthesize_line({"line": "l1", "text": "Nexus Corp is hiding something.",
                     "voice": {"engine": engine, "pitch": 3, "speed": 1.1, "espeak_voice": "en-us"}}, out)
    print(engine, hashlib.sha256(open(out, "rb").read()).hexdigest())
"""


def test_a_line_spoken_in_three_processes_is_byte_identical(tmp_path):
    runs = []
    for n in range(3):
        out = tmp_path / str(n)
        out.mkdir()
        proc = subprocess.run([sys.executable, "-c", SPEAK, str(out)], capture_output=True, text=True, check=True)
        runs.append(dict(line.split() for line in proc.stdout.splitlines()))
    for engine in ("piper", "espeak"):
        assert len({r[engine] for r in runs}) == 1, f"{engine}: {[r[engine][:12] for r in runs]}"


# what must come out byte-identical, by glob under the project folder
OUTPUTS = [
    f"audio/{EP}/voice/*.wav",
    f"audio/{EP}/music/*.wav",
    f"audio/{EP}/mix.wav",
    f"audio/{EP}/stems/*.wav",
    "subs/*.srt",
    f"build/{EP}/timeline.json",
    f"stills/{EP}/*.png",
    f"clips/{EP}/*.mp4",
    f"build/{EP}/master.mkv",
    f"episodes/{EP}.mkv",
]


def digests(work):
    found = {}
    for pattern in OUTPUTS:
        paths = sorted(work.glob(pattern))
        assert paths, f"{work}: nothing matches {pattern}"
        found.update({str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths})
    return found


@pytest.mark.workflow
def test_two_builds_in_two_folders_are_byte_identical(built, tmp_path):
    # the session's build is one; a fresh copy built by its own snakemake process the other
    other = copy_workflow(tmp_path / "other")
    snakemake(other, "--cores", "2")
    a, b = digests(built), digests(other)
    assert a.keys() == b.keys()
    differ = sorted(path for path in a if a[path] != b[path])
    assert differ == [], f"not reproducible: {differ}"
