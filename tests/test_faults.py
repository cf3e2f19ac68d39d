"""Faults injected into real runs: a full disk, a killed run, a file cut short after it was
made, a read-only folder. Each must end in a clear message, nothing partial under a real
name, and a next run that makes what is missing (README: Reliability).

The full disk and the read-only folder are small tmpfs mounts made here (root only); where
mounting is refused the test is skipped with the mount's own error."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import copy_workflow, fork_project, snakemake
from test_workflow import EP, planned

from tower_anime import verify_output
from tower_anime.errors import MediaError
from tower_anime.fsutil import OutputError, write_json_atomic
from tower_anime.media import run

pytestmark = [pytest.mark.faults, pytest.mark.workflow]
LINE = f"audio/{EP}/voice/s3_l1.wav"


def mount(where: Path, *options: str) -> None:
    """A small tmpfs at `where`; skip the test (with the mount's error) where mounting is refused."""
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")


def umount(where: Path) -> None:
    subprocess.run(["umount", str(where)], capture_output=True)


def fill(folder: Path, leave_kib: int) -> Path:
    """A file that takes all but about `leave_kib` KiB of the folder's filesystem."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    filler = folder / "filler"
    filler.write_bytes(b"\0" * max(0, free - leave_kib * 1024))
    return filler


def real_names(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "filler"]


def leftovers(work: Path) -> list[Path]:
    return [
        p
        for d in ("stills", "clips", "audio", "subs", "episodes", "build", "reports")
        if (work / d).exists()
        for p in (work / d).rglob("*")
        if ".tmp" in p.name
    ]


# --- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_fails_the_job_leaves_nothing_and_the_next_run_makes_it(built, tmp_path):
    work = fork_project(built, tmp_path)
    voice = work / "audio" / EP / "voice"
    old = voice.parent / "voice.built"
    voice.rename(old)  # the built lines move aside: the line is made on the small disk
    mount(voice, "size=3m")
    try:
        # a JSON writer on the full disk: an error that says so, and no file at all
        filler = fill(voice, leave_kib=16)
        with pytest.raises(OutputError, match=r"No space left on device.*disk is full"):
            write_json_atomic(voice / "big.json", {"text": "x" * 100_000})
        assert list(voice.iterdir()) == [filler]

        # a voice line on it: FFmpeg ends the WAV on a full disk and still exits 0
        filler.unlink()
        filler = fill(voice, leave_kib=24)  # the line takes 58 KiB
        proc = snakemake(work, "--cores", "1", LINE, check=False)
        assert proc.returncode != 0
        assert "ERROR [voice]" in proc.stderr and "No space left on device" in proc.stderr, proc.stderr[-3000:]
        assert "disk is full" in proc.stderr and f"nothing was left under {LINE}" in proc.stderr
        assert real_names(voice) == [] and list(voice.glob(".*.tmp*")) == []

        # space again: the next run makes it, whole
        filler.unlink()
        snakemake(work, "--cores", "1", LINE)
        verify_output.wav(work / LINE)
        assert real_names(voice) == [work / LINE]
    finally:
        umount(voice)


# --- a killed run ----------------------------------------------------------------------------


def test_a_run_killed_mid_job_leaves_no_partial_file_and_the_next_run_completes(built, tmp_path):
    work = fork_project(built, tmp_path)
    clips = work / "clips" / EP
    for made in [*clips.glob("*.mp4"), work / "build" / EP / "master.mkv", work / "episodes" / f"{EP}.mkv"]:
        made.unlink()  # the clips and the episode are to be made again
    run = subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--configfile", "tests/data/config.yaml", "--cores", "2"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not list(clips.glob(".*.tmp.mp4")) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.02)
        assert list(clips.glob(".*.tmp.mp4")), "no clip was being written"
        time.sleep(0.3)  # FFmpeg is writing
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # snakemake and its jobs, as a power loss would
        run.wait()
    # the clip being written is only under its temporary name; whatever has a real name is whole
    assert list(clips.glob(".*.tmp.mp4"))
    for clip in real_names(clips):
        verify_output.video(clip)
    # the lock of the killed snakemake stays: --unlock, as its message says; then a plain run
    snakemake(work, "--unlock")
    snakemake(work, "--cores", "2")
    for clip in real_names(clips):
        verify_output.video(clip, frames=None)
    verify_output.video(work / "episodes" / f"{EP}.mkv", audio=True)
    assert leftovers(work) == []
    assert planned(work) == set()


# --- a file cut short after it was made ------------------------------------------------------


CLIP, CLIP_GATE = f"clips/{EP}/s2.mp4", f"reports/{EP}/clips/s2.json"
LINE_GATE = f"reports/{EP}/voice/s2_l1.json"


@pytest.mark.parametrize(
    "path,report,says",
    [
        # the shot's segment, cut beside the clip's gate, stops the run naming the clip and its gate
        (CLIP, CLIP_GATE, [f"{CLIP}: it is damaged or cut short", f"Its gate ({CLIP_GATE}) refuses such a clip"]),
        # the mix waits for the lines' gates: it stops the run with the gate's own finding
        (f"audio/{EP}/voice/s2_l1.wav", LINE_GATE, ["decodes = False", f"report: {LINE_GATE}"]),
    ],
)
def test_a_file_cut_short_is_refused_then_made_again(built, tmp_path, path, report, says):
    work = fork_project(built, tmp_path)
    target = work / path
    with open(target, "r+b") as f:
        f.truncate(target.stat().st_size // 2)
    episode = work / "episodes" / f"{EP}.mkv"
    delivered = episode.read_bytes()
    proc = snakemake(work, "--cores", "2", check=False)
    assert proc.returncode != 0
    for words in says:
        assert words in proc.stderr, proc.stderr[-3000:]
    assert "made again" in proc.stderr
    # whichever job stopped the run, the gate wrote its verdict: the next run makes the file again
    checks = {c["metric"]: c["pass"] for c in json.loads((work / report).read_text())["checks"]}
    assert checks["decodes"] is False
    # not delivered: the episode made from it is gone (the clip), or the one before it stays (the line)
    assert not episode.exists() or episode.read_bytes() == delivered
    snakemake(work, "--cores", "2")  # not blocking: made again, checked, delivered
    (verify_output.video if path.endswith(".mp4") else verify_output.wav)(target)
    assert (work / "episodes" / f"{EP}.mkv").exists()
    assert planned(work) == set()


# --- a read-only folder ----------------------------------------------------------------------


def test_a_read_only_folder_is_named_in_one_line(built, tmp_path):
    """A folder a pending job writes that cannot be written stops the run before any job
    (rules/common.smk: check_output_folders), not when the job gets there."""
    work = fork_project(built, tmp_path)
    voice = work / "audio" / EP / "voice"
    (work / LINE).unlink()  # a job to run: the line is made again
    before = sorted(voice.iterdir())
    # root writes through chmod 0555; not into an immutable folder. (A read-only mount is no
    # good here: Snakemake's own clean-up before the job gets EROFS, not ENOENT, and crashes.)
    proc = subprocess.run(["chattr", "+i", str(voice)], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot make a folder immutable here: {proc.stderr.strip() or proc.returncode}")
    try:
        proc = snakemake(work, "--cores", "1", LINE, check=False)
    finally:
        subprocess.run(["chattr", "-i", str(voice)], check=True)
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("Tower: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith(
        f"Tower: cannot write audio/{EP}/voice: Operation not permitted (folder audio/{EP}/voice"
    )
    assert "the folder is not writable" in lines[0] and "Traceback" not in proc.stderr
    assert "Nothing was run." in proc.stderr and "ERROR [voice]" not in proc.stderr
    assert sorted(voice.iterdir()) == before


# --- a file-size limit -----------------------------------------------------------------------

XFSZ = (
    "killed by SIGXFSZ (signal 25); likely cause and fix: a file grew past the file-size limit (ulimit -f): "
    "raise or remove it (ulimit -f unlimited), then run again"
)


def test_a_tool_killed_by_the_file_size_limit_is_named_with_the_fix(tmp_path):
    """FluidSynth past `ulimit -f` dies of SIGXFSZ without a word: the job said "failed
    (exit -25):" and nothing after the colon."""
    work = copy_workflow(tmp_path / "wf")
    cue = f"audio/{EP}/music/street.wav"

    def limit_file_size():  # as `ulimit -f 300` (KiB) in the shell that runs snakemake
        resource.setrlimit(resource.RLIMIT_FSIZE, (300 * 1024, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))

    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "tests/data/config.yaml", "--cores", "1", cue],
        cwd=work,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        preexec_fn=limit_file_size,
    )
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith("ERROR [music]")]
    assert lines == [f"ERROR [music]: FluidSynth render of music cue {EP}/street failed: {XFSZ}"], proc.stderr[-3000:]
    assert not (work / cue).exists()


@pytest.mark.parametrize(
    "script, says",
    [
        ("kill -XFSZ $$", f"a step failed: {XFSZ}"),
        (
            "echo 'last words' >&2; kill -KILL $$",
            "a step failed: killed by SIGKILL (signal 9); likely cause and fix: "
            "it was killed from outside, most often by the out-of-memory killer (see dmesg)",
        ),
        ("kill -USR1 $$", "a step failed: killed by SIGUSR1 (signal 10)"),
        ("echo 'bad input' >&2; exit 3", "a step failed (exit 3):\nbad input"),
    ],
)
def test_a_tool_killed_by_a_signal_is_named_by_it(script, says):
    with pytest.raises(MediaError) as e:
        run(["sh", "-c", script], "a step")
    assert str(e.value).startswith(says)
    if "last words" in script:
        assert str(e.value).endswith("then run again\nlast words")
