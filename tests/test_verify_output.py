"""Verify-before-rename (tower_anime.verify_output): each check refuses the file it is there
to refuse (a WAV whose data is shorter than its header says, a video cut short or without
its audio, a picture that does not decode, a short copy) and accepts the whole one.

WAVs are built byte by byte; videos are made with the real FFmpeg in a temporary folder.
A few answers no FFmpeg build writes on purpose (a video stream without a size or without
packets, a header that declares more frames than it holds) come from a stand-in ffprobe."""

import json
import os
import struct
import subprocess

import pytest
from PIL import Image

from tower_anime import verify_output as vo
from tower_anime.verify_output import IncompleteOutput

# --- WAVs, byte by byte ----------------------------------------------------------------------


def fmt_chunk(channels=1, rate=8000, bits=16):
    align = channels * bits // 8
    return chunk(b"fmt ", struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits))


def chunk(cid, payload, declared=None):
    size = len(payload) if declared is None else declared
    return cid + struct.pack("<I", size) + payload + (b"\0" if len(payload) % 2 else b"")


def riff(*chunks, kind=b"WAVE"):
    body = kind + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write(tmp_path, data, name="a.wav"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(check, path, *args, **kw):
    with pytest.raises(IncompleteOutput) as err:
        check(path, *args, **kw)
    return str(err.value)


def test_a_whole_wav_passes_with_its_sample_count_and_channels(tmp_path):
    path = write(tmp_path, riff(fmt_chunk(channels=2), chunk(b"data", b"\1\0\2\0" * 100)))
    vo.wav(path)
    vo.wav(path, samples=100, channels=2)
    assert refused(vo.wav, path, samples=99) == "it holds 100 samples, expected 99"
    assert refused(vo.wav, path, samples=101) == "it holds 100 samples, expected 101"
    assert refused(vo.wav, path, channels=1) == "it has 2 channel(s), expected 1"


def test_chunks_before_the_data_are_stepped_over_with_their_padding(tmp_path):
    # an odd-sized LIST chunk (17 bytes + 1 pad byte) between fmt and data: the data chunk
    # starts after the pad byte, and the LIST chunk is not read as a format
    data = riff(fmt_chunk(), chunk(b"LIST", b"\0" * 17), chunk(b"data", b"\0\0" * 10))
    assert data.index(b"data") == 12 + 24 + 8 + 18
    vo.wav(write(tmp_path, data), samples=10, channels=1)


def test_a_truncated_wav_names_what_its_header_declares_and_what_is_missing(tmp_path):
    # stereo 16-bit at 1000 Hz (4 bytes a frame): 4003 bytes declared, 1003 present
    data = riff(fmt_chunk(channels=2, rate=1000)) + b"data" + struct.pack("<I", 4003) + b"\0" * 1003
    msg = refused(vo.wav, write(tmp_path, data))
    assert msg == (
        "its header declares 1.000 s (1000 samples) but the file holds 0.250 s: 3000 bytes of audio are missing"
    )
    # one byte short of its declared size is already short
    data = riff(fmt_chunk()) + b"data" + struct.pack("<I", 20) + b"\0" * 19
    assert refused(vo.wav, write(tmp_path, data)).endswith(": 1 bytes of audio are missing")
    # audio() reads a .wav (any case) by its header: FFmpeg would play the short file without a word
    assert "bytes of audio are missing" in refused(vo.audio, write(tmp_path, data, "B.WAV"))


def test_an_unfinished_header_and_odd_layouts_are_refused(tmp_path):
    fmt = fmt_chunk()
    for size in (0, 0xFFFFFFFF):  # a streaming writer's placeholder, never filled in
        data = riff(fmt) + b"data" + struct.pack("<I", size) + b"\0" * 8
        assert "header was never finished" in refused(vo.wav, write(tmp_path, data))
    # the data chunk's header is the last 8 bytes of the file, its size still 0
    assert "header was never finished" in refused(vo.wav, write(tmp_path, riff(fmt, chunk(b"data", b""))))
    assert refused(vo.wav, write(tmp_path, riff(chunk(b"data", b"\0\0"), fmt))) == (
        "its data chunk comes before any fmt chunk"
    )
    assert refused(vo.wav, write(tmp_path, riff(fmt))) == "it has no data chunk: the writer stopped before the audio"
    assert refused(vo.wav, write(tmp_path, b"RIFF\4\0\0\0WAVE")) == (
        "it has no data chunk: the writer stopped before the audio"
    )
    # 5 bytes of 16-bit mono: two and a half frames
    assert refused(vo.wav, write(tmp_path, riff(fmt, chunk(b"data", b"\0" * 5)))) == (
        "its data (5 bytes) is not a whole number of 2-byte frames"
    )
    # a format chunk shorter than a PCM format is no format
    short_fmt = chunk(b"fmt ", struct.pack("<HHIIH", 1, 1, 8000, 16000, 2))
    assert "before any fmt chunk" in refused(vo.wav, write(tmp_path, riff(short_fmt, chunk(b"data", b"\0\0"))))


@pytest.mark.parametrize(
    "data",
    [b"", b"RIFF\4\0\0\0WAV", b"RIFX\4\0\0\0WAVE", b"RIFF\4\0\0\0AVI " + fmt_chunk() + chunk(b"data", b"\0\0")],
)
def test_what_is_not_a_wav_is_named_so(tmp_path, data):
    assert refused(vo.wav, write(tmp_path, data)) == f"not a WAV file ({len(data)} bytes, no RIFF/WAVE header)"


def test_an_rf64_wav_is_decoded_instead(tmp_path):
    path = tmp_path / "long.wav"
    ff("-f", "lavfi", "-i", "sine=r=8000:d=0.1", "-rf64", "always", path)
    assert path.read_bytes()[:4] == b"RF64"
    vo.wav(path)
    vo.audio(path)


# --- decoding other audio ----------------------------------------------------------------------


def ff(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


def test_other_audio_is_decoded_in_full(tmp_path):
    good, bad = tmp_path / "a.mp3", tmp_path / "b.mp3"
    ff("-f", "lavfi", "-i", "sine=f=440:r=8000:d=0.5", good)
    vo.audio(good)
    vo.decodes(good)
    data = bytearray(good.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 200] = b"\xff" * 200  # frames FFmpeg cannot find
    bad.write_bytes(bytes(data))
    # FFmpeg exits 0 here: its error lines are what give the damage away
    assert subprocess.run(["ffmpeg", "-v", "error", "-i", bad, "-f", "null", "-"], capture_output=True).returncode == 0
    msg = refused(vo.audio, bad)
    assert msg.startswith("it does not decode to the end: ") and "Invalid data found when processing input" in msg
    junk = write(tmp_path, b"<html>502 Bad Gateway</html>", "c.flac")
    said = subprocess.run(["ffmpeg", "-v", "error", "-i", junk, "-f", "null", "-"], capture_output=True, text=True)
    assert said.returncode != 0
    last_two = [line.strip() for line in said.stderr.splitlines() if line.strip()][-2:]
    assert refused(vo.decodes, junk) == "it does not decode to the end: " + "; ".join(last_two)


# --- pictures ----------------------------------------------------------------------------------


def test_a_picture_must_decode(tmp_path):
    Image.new("RGB", (1, 1), (200, 10, 10)).save(tmp_path / "one.png")
    vo.image(tmp_path / "one.png")  # one pixel is a picture
    Image.new("RGB", (64, 48), (200, 10, 10)).save(tmp_path / "still.png")
    vo.image(tmp_path / "still.png")
    data = (tmp_path / "still.png").read_bytes()
    cut = write(tmp_path, data[: len(data) - 20], "cut.png")
    assert refused(vo.image, cut).startswith("it does not decode as a picture: ")
    assert refused(vo.image, write(tmp_path, b"", "empty.png")).startswith("it does not decode as a picture: ")


# --- videos ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    src = ["-f", "lavfi", "-i", "testsrc=s=32x32:r=24"]
    tone = ["-f", "lavfi", "-i", "sine=r=8000"]
    ff(*src, "-frames:v", "6", "-c:v", "libx264", "-movflags", "+faststart", d / "six.mp4")
    ff(*src, "-frames:v", "1", "-c:v", "libx264", d / "one.mp4")
    ff(*src, "-frames:v", "3", "-c:v", "libx264", d / "raw.h264")  # no container: no duration
    av = ["-map", "0:v", "-map", "1:a", "-frames:v", "2", "-c:v", "libx264", "-c:a", "pcm_s16le"]
    ff(*src, *tone, *av, "-frames:a", "1", d / "one_audio_packet.mkv")
    ff(*src, *tone, *av, "-frames:a", "0", d / "no_audio_packets.mkv")
    ff(*tone, "-t", "0.1", d / "tone.wav")
    data = (d / "six.mp4").read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) - 300])  # index whole, the last frames' bytes gone
    return d


def test_a_whole_video_passes_and_its_frame_count_is_checked(videos):
    vo.video(videos / "six.mp4")
    vo.video(videos / "six.mp4", frames=6)
    assert refused(vo.video, videos / "six.mp4", frames=5) == "it holds 6 video frames, expected 5"
    assert refused(vo.video, videos / "six.mp4", frames=7) == "it holds 6 video frames, expected 7"
    vo.video(videos / "one.mp4", frames=1)  # a single frame is a video
    vo.video(videos / "one.mp4")


def test_a_video_needs_audio_only_when_asked(videos):
    assert refused(vo.video, videos / "six.mp4", audio=True) == (
        "it has no audio (no audio stream, or one with no packets)"
    )
    vo.video(videos / "one_audio_packet.mkv", audio=True)  # one packet of audio is audio
    vo.video(videos / "no_audio_packets.mkv")
    assert refused(vo.video, videos / "no_audio_packets.mkv", audio=True) == (
        "it has no audio (no audio stream, or one with no packets)"
    )


def test_a_cut_unreadable_or_streamless_video_is_refused(videos, tmp_path):
    msg = refused(vo.video, videos / "cut.mp4")
    assert msg.startswith("it is damaged or cut short: ") and msg.endswith("partial file")
    msg = refused(vo.video, write(tmp_path, b"hello\n", "t.mp4"))
    assert msg.startswith("ffprobe cannot read it: ") and msg.endswith("Invalid data found when processing input")
    assert refused(vo.video, videos / "tone.wav") == "it has no video stream"
    assert refused(vo.video, videos / "raw.h264") == "its container declares no duration"


@pytest.fixture
def ffprobe_says(tmp_path, monkeypatch):
    """A stand-in ffprobe on PATH that prints `answer` (JSON) and `stderr`, and exits `rc`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def install(answer, stderr="", rc=0):
        (bin_dir / "answer").write_text(json.dumps(answer))
        (bin_dir / "stderr").write_text(stderr)
        script = bin_dir / "ffprobe"
        script.write_text(f'#!/bin/sh\ncat "{bin_dir}/answer"\ncat "{bin_dir}/stderr" >&2\nexit {rc}\n')
        script.chmod(0o755)
        return tmp_path / "v.mp4"

    return install


def stream(**over):
    return {"index": 0, "codec_type": "video", "width": 32, "height": 32, "nb_read_packets": "5", **over}


def answer(*streams, duration="0.2"):
    return {"streams": list(streams), "format": {"duration": duration}}


def test_the_stand_in_ffprobe_is_what_video_reads(ffprobe_says):
    vo.video(ffprobe_says(answer(stream())))  # the same answer as a real 5-frame MKV's
    with pytest.raises(IncompleteOutput):
        vo.video(ffprobe_says(answer(stream(), duration="0")))


def test_a_video_stream_without_a_size_or_packets_is_refused(ffprobe_says):
    assert refused(vo.video, ffprobe_says(answer(stream(width=0)))) == "it has no video stream"
    no_size = stream()
    del no_size["width"]
    assert refused(vo.video, ffprobe_says(answer(no_size))) == "it has no video stream"
    no_packets = stream()
    del no_packets["nb_read_packets"]  # ffprobe leaves the count out of a stream it read nothing of
    assert refused(vo.video, ffprobe_says(answer(no_packets))) == "its video stream holds no frames"
    assert refused(vo.video, ffprobe_says(answer(stream(nb_read_packets="0")))) == "its video stream holds no frames"


def test_the_frame_count_a_header_declares_must_all_be_there(ffprobe_says):
    short = ffprobe_says(answer(stream(nb_frames="6", nb_read_packets="5")))
    assert refused(vo.video, short) == "it holds 5 video frames, its header declares 6"
    vo.video(short, frames=5)  # a count asked for wins over the header's (the header may count otherwise)
    vo.video(ffprobe_says(answer(stream(nb_frames="N/A"))))  # no count declared: nothing to compare


def test_a_container_must_declare_a_positive_duration(ffprobe_says):
    for duration in ("0.000000", "-0.1"):
        assert refused(vo.video, ffprobe_says(answer(stream(), duration=duration))) == (
            "its container declares no duration"
        )
    assert refused(vo.video, ffprobe_says({"streams": [stream()]})) == "its container declares no duration"
    vo.video(ffprobe_says(answer(stream(), duration="0.001")))


def test_an_audio_stream_needs_packets(ffprobe_says):
    audio = {"index": 1, "codec_type": "audio"}
    path = ffprobe_says(answer(stream(), audio))
    assert "it has no audio" in refused(vo.video, path, audio=True)
    vo.video(ffprobe_says(answer(stream(), {**audio, "nb_read_packets": "1"})), audio=True)


def test_ffprobe_errors_are_quoted_by_their_last_two_lines(ffprobe_says):
    path = ffprobe_says({}, "first line\n  second line\n\nthird line\n", rc=1)
    assert refused(vo.video, path) == "ffprobe cannot read it: second line; third line"
    assert refused(vo.video, ffprobe_says({}, "", rc=1)) == "ffprobe cannot read it: exit 1"
    path = ffprobe_says(answer(stream()), "one\ntwo\nthree: partial file\n")
    assert refused(vo.video, path) == "it is damaged or cut short: two; three: partial file"


# --- copies, several checks, write errors -----------------------------------------------------------


def test_same_size_refuses_a_short_or_long_copy(tmp_path):
    src = write(tmp_path, b"x" * 100, "master.mkv")
    check = vo.same_size(src)
    check(write(tmp_path, b"y" * 100, "copy.mkv"))
    assert refused(check, write(tmp_path, b"x" * 99, "short.mkv")) == f"the copy holds 99 bytes of 100 ({src})"
    assert refused(check, write(tmp_path, b"x" * 101, "long.mkv")) == f"the copy holds 101 bytes of 100 ({src})"


def test_all_of_runs_every_check_in_turn(tmp_path):
    seen = []
    both = vo.all_of(seen.append, vo.same_size(write(tmp_path, b"abc", "src")))
    both(write(tmp_path, b"xyz", "ok"))
    with pytest.raises(IncompleteOutput):
        both(write(tmp_path, b"xy", "short"))
    assert [p.name for p in seen] == ["ok", "short"]


def test_write_errors_and_their_likely_cause():
    stderr = (
        "frame=  10 fps=0.0\n"
        "[mp4 @ 0x1] Error writing trailer of out.mp4: No space left on device\n"
        "Invalid argument\n"  # a bad option, not a write
        "av_interleaved_write_frame(): Invalid argument\n"
    )
    assert vo.write_errors(stderr) == [
        "[mp4 @ 0x1] Error writing trailer of out.mp4: No space left on device",
        "av_interleaved_write_frame(): Invalid argument",
    ]
    assert vo.likely_cause("Disk quota exceeded").startswith("the disk is full (or over quota)")
    assert vo.likely_cause("open: Read-only file system").startswith("the folder is not writable")
    assert vo.likely_cause("Input/output error").startswith("the disk or network share failed a write")
    assert vo.likely_cause("killed").startswith("the writer stopped early")
