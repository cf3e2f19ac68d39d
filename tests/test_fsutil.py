"""Atomic outputs: complete files only, no leftovers, ordinary permissions."""

import os
import stat

import pytest

from tower_anime.fsutil import atomic_path, write_json_atomic


def test_atomic_path_renames_on_success_with_plain_permissions(tmp_path):
    target = tmp_path / "sub" / "out.json"
    write_json_atomic(target, {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in target.parent.iterdir()] == ["out.json"]


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "clip.mp4"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.suffix == ".mp4" and tmp.parent == tmp_path  # FFmpeg picks the container from it
            tmp.write_bytes(b"half a file")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_a_check_that_fails_leaves_nothing_and_says_what_was_wrong(tmp_path):
    from tower_anime import verify_output
    from tower_anime.fsutil import OutputError

    target = tmp_path / "line.wav"
    with pytest.raises(OutputError, match=r"line.wav was not written completely: not a WAV file.*nothing was left"):
        with atomic_path(target, check=verify_output.wav) as tmp:
            tmp.write_bytes(b"RIFF half")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writers_temporary_file_is_removed_when_the_output_is_made_again(tmp_path):
    stale = tmp_path / ".out.abcd1234.tmp.json"  # the name pattern of atomic_path's temporary files
    stale.write_text("{")
    other = tmp_path / ".out.take1.abcd1234.tmp.json"  # another output's: kept
    other.write_text("{")
    write_json_atomic(tmp_path / "out.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "out.json"]
