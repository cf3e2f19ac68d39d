"""Reply verification of the audio services (tower_anime.audio.verify) on crafted replies:
WAVs written byte by byte (they decode to exactly their sample count), Matroska replies whose
declared duration is set by hand, and replies that are not audio at all. No service runs."""

import re
import struct
import subprocess

import pytest

from tower_anime.audio.verify import riff_shortfall, verify_audio
from tower_anime.errors import ServiceError

RATE = 48000


def wav_bytes(samples=RATE // 2, declared=None, before_data=b"", kind=b"WAVE", rate=RATE):
    """16-bit mono PCM; `declared`: the data chunk's size field (default: the bytes present)."""
    pcm = b"\x10\x00" * samples
    fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, rate, 2 * rate, 2, 16)
    data = struct.pack("<4sI", b"data", len(pcm) if declared is None else declared) + pcm
    body = kind + fmt + before_data + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def reply(tmp_path, data, name="reply"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refusal(path):
    with pytest.raises(ServiceError) as err:
        verify_audio(path, "voice line ep/l1")
    return str(err.value)


def ff(*args):
    return subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *map(str, args)], check=True)


# --- riff_shortfall: the WAV's own account of its length ---------------------------------------


def test_riff_shortfall_of_whole_short_and_streamed_wavs(tmp_path):
    assert riff_shortfall(reply(tmp_path, wav_bytes(100))) is None
    whole = wav_bytes(100)
    assert riff_shortfall(reply(tmp_path, whole[:-1])) == (200, 199)
    assert riff_shortfall(reply(tmp_path, whole[:-200])) == (200, 0)
    for size in (0, 0xFFFFFFFF):  # the length was unknown to a streaming writer: not short
        assert riff_shortfall(reply(tmp_path, wav_bytes(100, declared=size))) is None
    # a data chunk declaring one byte that never came
    assert riff_shortfall(reply(tmp_path, wav_bytes(0, declared=1))) == (1, 0)


def test_riff_shortfall_steps_over_padded_chunks(tmp_path):
    odd = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\0"  # 5 bytes and a pad byte
    assert riff_shortfall(reply(tmp_path, wav_bytes(100, before_data=odd))) is None
    assert riff_shortfall(reply(tmp_path, wav_bytes(100, before_data=odd)[:-2])) == (200, 198)


def test_riff_shortfall_without_a_data_chunk(tmp_path):
    assert riff_shortfall(reply(tmp_path, b"RIFF\4\0\0\0WAVE")) == (None, 0)
    no_data = wav_bytes(100)
    no_data = no_data[: no_data.index(b"data")]
    assert riff_shortfall(reply(tmp_path, no_data)) == (None, 0)
    # the last 8 bytes are a data chunk's header, its size unset: a streaming writer's start
    assert riff_shortfall(reply(tmp_path, wav_bytes(0, declared=0))) is None


@pytest.mark.parametrize(
    "data", [b"", b"RIFF\4\0\0\0WAV", b"ID3\3\0\0\0\0\0\0WAVE", wav_bytes(100, declared=999, kind=b"AVI ")]
)
def test_riff_shortfall_says_nothing_of_other_files(tmp_path, data):
    assert riff_shortfall(reply(tmp_path, data)) is None


# --- verify_audio on WAVs ------------------------------------------------------------------------


def test_a_whole_wav_reply_is_measured(tmp_path):
    assert verify_audio(reply(tmp_path, wav_bytes(RATE // 2)), "line") == {
        "seconds": 0.5,
        "codec": "pcm_s16le",
        "declared_seconds": 0.5,
    }


def test_a_truncated_wav_reply_is_refused_as_such(tmp_path):
    assert refusal(reply(tmp_path, wav_bytes(RATE // 2)[:-2])) == (
        "voice line ep/l1: the reply is a truncated WAV: its header announces 48000 bytes of samples, "
        "47998 arrived; the service stopped early"
    )


def test_a_reply_needs_fifty_milliseconds_of_audio(tmp_path):
    # 2400 samples at 48 kHz are 0.05 s exactly: enough; one sample fewer is not
    assert verify_audio(reply(tmp_path, wav_bytes(2400)), "line")["seconds"] == 0.05
    assert refusal(reply(tmp_path, wav_bytes(2399))) == (
        "voice line ep/l1: the reply holds no audio (0.050 s decoded from 4842 bytes)"
    )
    empty = reply(tmp_path, wav_bytes(0, declared=0))  # a header and nothing else
    assert refusal(empty) == "voice line ep/l1: the reply holds no audio (0.000 s decoded from 44 bytes)"


# --- replies that are not audio -----------------------------------------------------------------------


def test_an_empty_reply(tmp_path):
    path = reply(tmp_path, b"")
    assert refusal(path) == "voice line ep/l1: the reply is empty; expected audio"
    with pytest.raises(ServiceError, match=r"the reply is empty \(Content-Type audio/wav\); expected audio"):
        verify_audio(path, "voice line ep/l1", "audio/wav")


def test_an_error_page_is_quoted_by_its_first_48_bytes(tmp_path):
    page = b"<html>\x1f \x7e\x7f<body>502 Bad Gateway: upstream model worker died</body></html>\n"
    shown = "<html>. ~.<body>502 Bad Gateway: upstream model "  # 48 bytes; 0x1f and 0x7f as dots
    assert len(shown) == 48
    msg = refusal(reply(tmp_path, page))
    assert msg == (
        "voice line ep/l1: the reply is not audio FFmpeg can read: Invalid data found when processing input; "
        f"it starts with {shown!r} ({len(page)} bytes)"
    )
    assert "not audio FFmpeg can read: " in refusal(reply(tmp_path, b"x"))  # one byte is not empty


def test_a_reply_ffprobe_cannot_open_is_quoted_by_its_last_line(tmp_path):
    # an MP4 without its index: ffprobe says two things, the last is the verdict
    msg = refusal(reply(tmp_path, b"\0\0\0\x18ftypisom" + b"\0" * 80, "reply.mp4"))
    assert msg.startswith("voice line ep/l1: the reply is not audio FFmpeg can read: ")
    assert ": Invalid data found when processing input; it starts with " in msg


def test_a_picture_is_not_audio(tmp_path):
    png = tmp_path / "reply.png"
    ff("-f", "lavfi", "-i", "color=c=red:s=8x8", "-frames:v", "1", png)
    assert refusal(png).startswith(
        "voice line ep/l1: the reply is not audio FFmpeg can read: no audio stream in it; it starts with '.PNG"
    )


def test_a_reply_ffmpeg_has_no_decoder_for(tmp_path):
    data = bytearray(wav_bytes(4800))
    data[20:22] = struct.pack("<H", 0x1234)  # a format tag no decoder knows
    assert refusal(reply(tmp_path, bytes(data))) == (
        "voice line ep/l1: FFmpeg could not decode the reply: Decoder (codec none) not found for input stream #0:0"
    )


# --- the duration a container declares -------------------------------------------------------------


def decoded_us(path):
    """What FFmpeg decodes of the file, in microseconds (its last progress report)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-map", "0:a:0", "-f", "null", "-", "-progress", "pipe:1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(re.findall(r"^out_time_us=(\d+)$", out, re.M)[-1])


def mka(path, samples, declared_us=None):
    """PCM in Matroska; its Segment Duration set to `declared_us` (ffprobe truncates to whole µs)."""
    ff("-f", "lavfi", "-i", f"sine=f=300:r={RATE}:d={samples / RATE}", "-c:a", "pcm_s16le", path)
    if declared_us is not None:
        data = bytearray(path.read_bytes())
        at = data.index(b"\x44\x89\x88")  # Duration, an 8-byte float of milliseconds
        data[at + 3 : at + 11] = struct.pack(">d", (declared_us + 0.5) / 1000)
        path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def three_seconds(tmp_path_factory):
    path = mka(tmp_path_factory.mktemp("mka") / "whole.mka", 3 * RATE)
    return path, decoded_us(path)


def test_a_reply_may_decode_up_to_two_percent_short_of_its_declared_length(three_seconds, tmp_path):
    whole, got = three_seconds
    # decoded s is refused when s < D - 0.02 D, i.e. D > s / 0.98 (0.02 D > 0.05 s here)
    edge = got / 0.98
    ok = verify_audio(mka(tmp_path / "a.mka", 3 * RATE, int(edge) - 1000), "music cue")
    assert ok["seconds"] == round(got / 1e6, 4) and ok["declared_seconds"] == (int(edge) - 1000) / 1e6
    short = mka(tmp_path / "b.mka", 3 * RATE, int(edge) + 1000)
    assert refusal(short) == (
        f"voice line ep/l1: the reply is truncated: it decodes to {got / 1e6:.2f} s of the "
        f"{(int(edge) + 1000) / 1e6:.2f} s its container declares"
    )


def test_a_short_reply_may_decode_fifty_milliseconds_short(tmp_path):
    whole = mka(tmp_path / "whole.mka", RATE)
    got = decoded_us(whole)  # 0.02 D < 0.05 s here: the 50 ms floor applies
    verify_audio(mka(tmp_path / "a.mka", RATE, got + 50000 - 1000), "line")
    assert "the reply is truncated" in refusal(mka(tmp_path / "b.mka", RATE, got + 50000 + 1000))


def test_decoding_exactly_the_tolerance_short_is_accepted(tmp_path):
    # the first length for which D - 0.05 s is exactly the decoded length in floating point
    for samples in range(RATE, RATE + 48 * 40, 48):
        path = mka(tmp_path / "a.mka", samples)
        got = decoded_us(path)
        if float(f"{(got + 50000) / 1e6:.6f}") - 0.05 == got / 1e6:
            break
    else:
        pytest.fail("no length found")
    verify_audio(mka(path, samples, got + 50000), "line")
    assert "the reply is truncated" in refusal(mka(path, samples, got + 50001))


def test_the_audio_streams_own_duration_comes_before_the_containers(tmp_path):
    # half a second of sound under a second of picture: the audio is whole
    mov = tmp_path / "reply.mov"
    ff(
        *("-f", "lavfi", "-i", "testsrc=s=32x32:r=10", "-f", "lavfi", "-i", f"sine=r={RATE}:d=0.5"),
        *("-map", "0:v", "-map", "1:a", "-t", "1", "-c:v", "libx264", "-c:a", "pcm_s16le", mov),
    )
    assert verify_audio(mov, "line")["declared_seconds"] == 0.5


def test_a_reply_ffmpeg_reports_damaged_quotes_its_first_complaint(tmp_path):
    mp3 = tmp_path / "reply.mp3"
    ff("-f", "lavfi", "-i", f"sine=f=300:r={RATE}:d=3", "-c:a", "libmp3lame", mp3)
    data = bytearray(mp3.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 300] = b"\xaa" * 300  # a frame lost: about as long as declared
    mp3.write_bytes(bytes(data))
    said = subprocess.run(["ffmpeg", "-v", "error", "-i", mp3, "-f", "null", "-"], capture_output=True, text=True)
    complaints = [line for line in said.stderr.splitlines() if line.strip()]
    assert len(complaints) >= 2  # the test needs more than one complaint to tell the first
    expected = f"voice line ep/l1: the reply is damaged or truncated: FFmpeg says {complaints[0]!r}"
    address = re.compile(r"@ 0x[0-9a-f]+")  # where the decoder lived in each FFmpeg process
    assert address.sub("@", refusal(mp3)) == address.sub("@", expected)


def test_a_reply_ffmpeg_gives_up_on_is_quoted_by_its_last_line(tmp_path):
    # MS ADPCM by its header, with frames that are not: every packet fails until FFmpeg stops
    data = bytearray(wav_bytes(4800))
    data[20:22] = struct.pack("<H", 2)
    data[34:36] = struct.pack("<H", 4)
    path = reply(tmp_path, bytes(data))
    said = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
    lines = [line.strip() for line in said.stderr.splitlines() if line.strip()]
    assert said.returncode != 0 and len(set(lines)) > 1  # several different lines: the last one is quoted
    assert refusal(path) == f"voice line ep/l1: FFmpeg could not decode the reply: {lines[-1]}"
