"""The one place that runs FFmpeg/ffprobe as subprocesses and reads their answers."""
import json
import re
import shutil
import subprocess

from .errors import MediaError


def require_tool(name, hint="run `bash setup.sh`"):
    path = shutil.which(name)
    if not path:
        raise MediaError(f"`{name}` is not installed or not on PATH; {hint}")
    return path


def run(cmd, what, log=None):
    """Run a command; on failure raise MediaError with the tool's last lines of stderr."""
    require_tool(cmd[0])
    if log is not None:
        print("$ " + " ".join(str(c) for c in cmd), file=log, flush=True)
    proc = subprocess.run([str(c) for c in cmd], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if log is not None and proc.stderr:
        log.write(proc.stderr[-20000:])
        log.flush()
    _raise_on_failure(what, proc.returncode, proc.stderr)
    return proc


def _raise_on_failure(what, code, stderr):
    """A non-zero exit, or a write error in stderr: FFmpeg 5.1 printed "Error writing trailer
    ...: No space left on device" on a full disk and still exited 0 (verify_output)."""
    from .verify_output import likely_cause, write_errors

    written = write_errors(stderr)
    if code == 0 and not written:
        return
    tail = "\n".join(stderr.strip().splitlines()[-8:])
    status = f"exit {code}" if code != 0 else "exit 0, but it reported a failed write"
    hint = f"\n  likely cause and fix: {likely_cause(' '.join(written))}" if written else ""
    raise MediaError(f"{what} failed ({status}):\n{tail}{hint}")


def ffmpeg(args, what, log=None):
    return run(["ffmpeg", "-hide_banner", "-nostdin", "-y", *args], what, log)


def ffmpeg_from_frames(frames, args, what, log=None):
    """Run FFmpeg reading raw frames (an iterable of bytes) on stdin; args name the input
    (`-f rawvideo ... -i pipe:0`). stderr goes to a file, so a chatty FFmpeg cannot block
    the pipe; on failure raise MediaError with its last lines."""
    import tempfile

    cmd = ["ffmpeg", "-hide_banner", "-y", *(str(a) for a in args)]
    require_tool("ffmpeg")
    if log is not None:
        print("$ " + " ".join(cmd), file=log, flush=True)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
        try:
            for data in frames:
                proc.stdin.write(data)
        except BrokenPipeError:
            pass  # FFmpeg stopped reading: its exit status and stderr say why
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
            code = proc.wait()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    if log is not None and stderr:
        log.write(stderr[-20000:])
        log.flush()
    _raise_on_failure(what, code, stderr)


def probe(path):
    """ffprobe streams, format and chapters of a media file as a dict."""
    proc = run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format",
         "-show_chapters", str(path)],
        f"ffprobe {path}",
    )
    return json.loads(proc.stdout)


def count_frames(path):
    """Decoded video frame count (exact, not the container's estimate)."""
    proc = run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=nb_read_frames", "-of", "default=nw=1:nk=1", str(path)],
        f"count frames of {path}",
    )
    return int(proc.stdout.strip())


_SUMMARY_I = re.compile(r"Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS")
_SUMMARY_TP = re.compile(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS")
_SUMMARY_LRA = re.compile(r"Loudness range:\s+LRA:\s+(-?[\d.]+) LU")


def loudness(path, stream="a:0"):
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU) by FFmpeg's ebur128 meter."""
    proc = ffmpeg(["-i", str(path), "-map", f"0:{stream}", "-af", "ebur128=peak=true", "-f", "null", "-"],
                  f"loudness of {path}")
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    i = _SUMMARY_I.search(summary)
    tp = _SUMMARY_TP.search(summary)
    if not i or not tp:
        raise MediaError(f"could not read the ebur128 summary for {path}")
    lra = _SUMMARY_LRA.search(summary)
    return {"integrated_lufs": float(i.group(1)), "true_peak_dbtp": float(tp.group(1)),
            "loudness_range_lu": float(lra.group(1)) if lra else None}


def read_pcm(path, rate, channels=1):
    """Decode any audio file to float32 samples at `rate` (interleaved when channels > 1)."""
    import numpy as np

    require_tool("ffmpeg")
    proc = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-ac", str(channels),
                           "-ar", str(rate), "-f", "f32le", "-"], stdin=subprocess.DEVNULL, capture_output=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.decode(errors="replace").strip().splitlines()[-8:])
        raise MediaError(f"decode {path} failed (exit {proc.returncode}):\n{tail}")
    return np.frombuffer(proc.stdout, dtype="<f4")


# The delivery format's codecs (as ffprobe names them, the names in config `output`) and the
# FFmpeg encoders that write them: the encoder and the episode gate read the same config values.
ENCODERS = {"h264": "libx264", "opus": "libopus", "subrip": "srt"}
PCM = {16: "pcm_s16le", 24: "pcm_s24le"}


def encoder(codec: str) -> str:
    """The FFmpeg encoder for a delivery codec name (config output.*_codec)."""
    try:
        return ENCODERS[codec]
    except KeyError:
        raise MediaError(f"no encoder known for codec {codec!r}; expected one of {sorted(ENCODERS)}") from None
