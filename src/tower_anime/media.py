"""The one place that runs FFmpeg/ffprobe as subprocesses and reads their answers."""

from __future__ import annotations

import functools
import itertools
import json
import re
import shutil
import signal
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

import ffmpeg as _lib  # ffmpeg-python: unmaintained (0.2.0, 2019), so no other module imports it

from .errors import MediaError

if TYPE_CHECKING:
    import numpy as np


def require_tool(name: str, hint: str = "run `bash setup.sh`") -> str:
    path = shutil.which(name)
    if not path:
        raise MediaError(f"`{name}` is not installed or not on PATH; {hint}")
    return path


def run(cmd: Sequence[Any], what: str, log: TextIO | None = None) -> subprocess.CompletedProcess[str]:
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


# What most likely sent a signal that killed a tool, and what to do: a tool killed by a
# signal often says nothing at all (FluidSynth past `ulimit -f`: "exit -25" and no word).
_SIGNAL_CAUSES = {
    "SIGXFSZ": "a file grew past the file-size limit (ulimit -f): raise or remove it (ulimit -f unlimited), "
    "then run again",
    "SIGXCPU": "it ran past the CPU-time limit (ulimit -t): raise or remove it, then run again",
    "SIGKILL": "it was killed from outside, most often by the out-of-memory killer (see dmesg) or a job's "
    "time or memory limit: free memory or run fewer jobs at once (--cores, --resources), then run again",
    "SIGTERM": "it was stopped from outside (a cancelled run, a job time limit, a shutdown): run again",
    "SIGINT": "it was interrupted (Ctrl-C): run again",
    "SIGHUP": "its terminal went away: run again (under nohup, tmux or screen)",
    "SIGPIPE": "what it wrote to was closed before it finished: see the job's log, then run again",
    "SIGSEGV": "the tool crashed: see the job's log; run again, or reinstall the tool (bash setup.sh)",
}
for _crash in ("SIGBUS", "SIGABRT", "SIGILL", "SIGFPE"):
    _SIGNAL_CAUSES[_crash] = _SIGNAL_CAUSES["SIGSEGV"]


def exit_status(code: int) -> str:
    """How a process ended, in words: "(exit 3)"; for a negative status (Python's way of
    saying that a signal killed the process) the signal by name and number with the likely
    cause and fix: ": killed by SIGXFSZ (signal 25); likely cause and fix: a file grew ..."."""
    if code >= 0:
        return f" (exit {code})"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f": killed by signal {-code}"
    cause = _SIGNAL_CAUSES.get(name)
    return f": killed by {name} (signal {-code})" + (f"; likely cause and fix: {cause}" if cause else "")


def _failed(what: str, code: int, stderr: str) -> str:
    """`<what> failed (exit <n>)` or `<what> failed: killed by <signal> ...`, then the tool's
    last lines of stderr when it wrote any."""
    tail = "\n".join(stderr.strip().splitlines()[-8:])
    if not tail:
        return f"{what} failed{exit_status(code)}"
    # the signal's cause ends the first line: the tool's words follow on their own lines
    return f"{what} failed{exit_status(code)}" + (f":\n{tail}" if code >= 0 else f"\n{tail}")


def _raise_on_failure(what, code, stderr):
    """A non-zero exit, or a write error in stderr: FFmpeg 5.1 printed "Error writing trailer
    ...: No space left on device" on a full disk and still exited 0 (verify_output)."""
    from .verify_output import likely_cause, write_errors

    written = write_errors(stderr)
    if code == 0 and not written:
        return
    hint = f"\n  likely cause and fix: {likely_cause(' '.join(written))}" if written else ""
    if code == 0:
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        raise MediaError(f"{what} failed (exit 0, but it reported a failed write):\n{tail}{hint}")
    raise MediaError(_failed(what, code, stderr) + hint)


def ffmpeg(args: Iterable[Any], what: str, log: TextIO | None = None) -> subprocess.CompletedProcess[str]:
    """Run FFmpeg on a plain argument list (no filter graph: those are built with graph())."""
    return run(["ffmpeg", "-hide_banner", "-nostdin", "-y", *args], what, log)


# Filter graphs are built with ffmpeg-python behind the functions below: it names the links,
# writes each filter's options and escapes them at both levels FFmpeg parses (the option
# value, then the graph), so a path or a text with ':', ',', '\'' or '[' needs no hand escaping.
# Two things it orders its own way, neither of which changes what FFmpeg does: a filter's
# named options are written sorted by name (FFmpeg sets them all by name before the filter
# starts), and so are an input's or an output's options.

Stream = Any  # an ffmpeg-python stream (a node's output pad)


class Filter(NamedTuple):
    """One filter of a chain: its name, positional options (FFmpeg's shorthand order), named options."""

    name: str
    args: tuple = ()
    options: dict = {}


def fx(name: str, *args: Any, **options: Any) -> Filter:
    """A filter for chain(): fx("afade", t="out", st="1.5000", d="0.500")."""
    return Filter(name, args, options)


_inputs = itertools.count(1)


def source(path: Path | str, **options: Any) -> Stream:
    """An input file; options are written before its -i (e.g. f="f32le", ar=48000).

    Each call is its own -i, as a hand-written argument list has it: ffmpeg-python would
    otherwise make one node of two calls with the same file and options (it identifies nodes
    by a hash of their contents), and a cue looped from several opens of one file needs them.
    """
    stream = _lib.input(str(path), **options)
    node = stream.node
    node._KwargReprNode__hash = _lib._utils.get_hash_int([hash(node), next(_inputs)])
    return stream


def chain(stream: Stream, filters: Iterable[Filter]) -> Stream:
    """The stream through each filter in turn."""
    for f in filters:
        stream = stream.filter(f.name, *f.args, **f.options)
    return stream


def join(streams: Iterable[Stream], name: str, *args: Any, **options: Any) -> Stream:
    """A filter with several inputs (amix, acrossfade, sidechaincompress, ...) and one output."""
    return _lib.filter(list(streams), name, *args, **options)


def split(stream: Stream, n: int, name: str = "asplit") -> list[Stream]:
    """n copies of a stream (asplit or split; the library writes the count)."""
    node = stream.filter_multi_output(name)
    return [node.stream(i) for i in range(n)]


class _SourceFilter(_lib.nodes.FilterNode):
    """A filter without inputs (anullsrc): ffmpeg-python's FilterNode wants at least one."""

    def __init__(self, name, args, kwargs):
        _lib.nodes.Node.__init__(
            self,
            None,
            name,
            {_lib.nodes.FilterableStream},
            _lib.nodes.FilterableStream,
            0,
            0,
            args=list(args),
            kwargs=dict(kwargs),
        )


def generate(name: str, *args: Any, **options: Any) -> Stream:
    """The output of a source filter, e.g. generate("anullsrc", r=48000, cl="stereo")."""
    return _SourceFilter(name, args, options).stream()


def output(streams: Stream | Iterable[Stream], path: Path | str, **options: Any) -> Stream:
    """One output file of the streams (each gets its -map); options such as **{"c:a": "pcm_s16le"}."""
    streams = [streams] if not isinstance(streams, (list, tuple)) else list(streams)
    return _lib.output(*streams, str(path), **options)


def outputs(*specs: Stream) -> Stream:
    """Several outputs written by one FFmpeg run."""
    return _lib.merge_outputs(*specs)


def graph(spec: Stream, inputs: Iterable[Any] = (), options: Iterable[Any] = ()) -> list[str]:
    """The FFmpeg arguments ffmpeg-python compiles: inputs, -filter_complex, each output's maps and options.

    inputs: plain input arguments written after the graph's own inputs (so numbered after
    them), for a file that no stream of the graph reads: the master's FFMETADATA file, which
    only -map_chapters names. options: plain options written, in their order, just before the
    last output's file, for options that the library's keywords cannot hold: one given more
    than once (-metadata:s:a:0 language=..., then title=...), or a list shared with a plain
    command (video_encode_args)."""
    args = [str(a) for a in _lib.get_args(spec)]
    inputs = [str(a) for a in inputs]
    if inputs:
        at = args.index("-filter_complex")
        args[at:at] = inputs
    args[-1:-1] = [str(a) for a in options]
    return args


def chain_text(filters: Iterable[Filter]) -> str:
    """A chain as filter graph text (an -af / -vf value), escaped by ffmpeg-python: for logs and tests."""
    filters = list(filters)
    return ",".join(_SourceFilter(f.name, f.args, f.options)._get_filter([]) for f in filters) or "anull"


def with_script(args: list[str], script: Path | str) -> list[str]:
    """args with the -filter_complex text moved into the file `script` (-filter_complex_script):
    the command line stays short however long the graph is (an episode's mix has a branch per
    line). FFmpeg reads the file as it reads the argument, so the escaping is the same."""
    args = list(args)
    i = args.index("-filter_complex")
    Path(script).write_text(args[i + 1])
    args[i : i + 2] = ["-filter_complex_script", str(script)]
    return args


def run_graph(
    spec: Stream, what: str, log: TextIO | None = None, script: Path | str | None = None, options: Iterable[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run FFmpeg on a graph built with the functions above (through run(): the same logging,
    write-error check and MediaError). script: a file for the graph text (see with_script);
    options: global options before the inputs (e.g. "-v", "error")."""
    args = graph(spec)
    if script is not None:
        args = with_script(args, script)
    return run(["ffmpeg", "-hide_banner", "-nostdin", *options, "-y", *args], what, log)


def concat_list(paths: list, list_file: Path | str) -> list[str]:
    """Write FFmpeg's concat demuxer list of `paths` (in order) and return the input arguments
    that read it as one stream. The list quotes each path in single quotes, a quote inside
    written as '\\'' (the demuxer's own rule: the only character to escape there)."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        quoted = str(Path(p).resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    Path(list_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["-f", "concat", "-safe", "0", "-i", str(list_file)]


def ffmpeg_from_frames(frames: Iterable[bytes], args: Iterable[Any], what: str, log: TextIO | None = None) -> None:
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


def probe(path: Path | str) -> dict[str, Any]:
    """ffprobe streams, format and chapters of a media file as a dict."""
    proc = run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            "-show_chapters",
            str(path),
        ],
        f"ffprobe {path}",
    )
    return json.loads(proc.stdout)


def count_frames(path: Path | str) -> int:
    """Decoded video frame count (exact, not the container's estimate)."""
    proc = run(
        [
            "ffprobe",
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=nw=1:nk=1",
            str(path),
        ],
        f"count frames of {path}",
    )
    return int(proc.stdout.strip())


_SUMMARY_I = re.compile(r"Integrated loudness:\s+I:\s+(-?[\d.]+|-inf) LUFS")
_SUMMARY_TP = re.compile(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS")
_SUMMARY_LRA = re.compile(r"Loudness range:\s+LRA:\s+(-?[\d.]+) LU")


def loudness(path: Path | str, stream: str = "a:0") -> dict[str, float | None]:
    """Integrated loudness (LUFS), true peak (dBTP) and loudness range (LU) by FFmpeg's ebur128 meter."""
    metered = source(path)[stream].filter("ebur128", peak="true")
    proc = run_graph(output(metered, "-", f="null"), f"loudness of {path}")
    summary = proc.stderr[proc.stderr.rfind("Summary:") :]
    i = _SUMMARY_I.search(summary)
    tp = _SUMMARY_TP.search(summary)
    if not i or not tp:
        raise MediaError(f"could not read the ebur128 summary for {path}")
    lra = _SUMMARY_LRA.search(summary)
    return {
        "integrated_lufs": float(i.group(1)),
        "true_peak_dbtp": float(tp.group(1)),
        "loudness_range_lu": float(lra.group(1)) if lra else None,
    }


def _packets_answer(path: Path | str, stream: str, *extra: str) -> dict[str, Any]:
    proc = run(
        ["ffprobe", "-v", "error", "-select_streams", stream, "-show_packets", *extra, "-of", "json", str(path)],
        f"packets of {path} ({stream})",
    )
    return json.loads(proc.stdout or "{}")


def stream_packets(path: Path | str, stream: str = "a:0") -> list[dict[str, Any]]:
    """Every packet of one stream as ffprobe lists it (time, length, side data such as the
    end trimming): nothing is decoded. hashed_packets adds an MD5 of each one's bytes."""
    return _packets_answer(path, stream).get("packets", [])


def packets_digest(packets: Sequence[dict[str, Any]], header: str | None = None) -> str | None:
    """One SHA-256 of a stream's packets (stream_packets with hashes): the hash of each
    packet's bytes in order, the samples the last one tells the decoder to drop, and the hash
    of the stream's codec header (`header`: Opus keeps its output gain, pre-skip and channel
    map there). Two streams with the same digest decode to the same samples, whatever
    container each is in (Ogg and Matroska keep the same Opus packets and header; the times
    are checked on their own, e.g. qc.episode.audio_end). None when a packet has no hash:
    nothing can then be said to be the same."""
    import hashlib

    if not packets or any(not packet.get("data_hash") for packet in packets):
        return None
    digest = hashlib.sha256(f"header {header}\n".encode())
    for packet in packets:
        digest.update(f"{packet['data_hash']}\n".encode())
    last = packets[-1].get("side_data_list", [])
    digest.update(f"discard {sum(int(sd.get('discard_padding', 0)) for sd in last)}".encode())
    return digest.hexdigest()


def hashed_packets(path: Path | str, stream: str = "a:0") -> tuple[list[dict[str, Any]], str | None]:
    """A stream's packets with their MD5s (as stream_packets) and their packets_digest,
    codec header included: one ffprobe."""
    answer = _packets_answer(path, stream, "-show_streams", "-show_data_hash", "MD5")
    packets = answer.get("packets", [])
    header = next(iter(answer.get("streams", [])), {}).get("extradata_hash")
    return packets, packets_digest(packets, header)


@functools.cache
def loudness_meter() -> str:
    """Which meter `loudness` is: its own code and the FFmpeg it runs (path, size, time). A
    measure recorded by one meter is taken by another only when this is the same. Worked out
    once per process (the gate asks twice)."""
    import hashlib
    import inspect

    tool = Path(require_tool("ffmpeg")).resolve()
    stat = tool.stat()
    mark = [inspect.getsource(loudness), _SUMMARY_I.pattern, _SUMMARY_TP.pattern, _SUMMARY_LRA.pattern]
    mark += [str(tool), str(stat.st_size), str(stat.st_mtime_ns)]
    return hashlib.sha256("\n".join(mark).encode()).hexdigest()[:16]


def read_pcm(path: Path | str, rate: int, channels: int = 1) -> np.ndarray:
    """Decode any audio file to float32 samples at `rate` (interleaved when channels > 1)."""
    import numpy as np

    require_tool("ffmpeg")
    proc = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-nostdin",
            "-i",
            str(path),
            "-ac",
            str(channels),
            "-ar",
            str(rate),
            "-f",
            "f32le",
            "-",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
    )
    if proc.returncode != 0:
        raise MediaError(_failed(f"decode {path}", proc.returncode, proc.stderr.decode(errors="replace")))
    return np.frombuffer(proc.stdout, dtype="<f4")


# The delivery format's codecs (as ffprobe names them, the names in config `output`) and the
# FFmpeg encoders that write them: the encoder and the episode gate read the same config values.
ENCODERS = {"h264": "libx264", "opus": "libopus", "subrip": "srt"}
PCM = {16: "pcm_s16le", 24: "pcm_s24le"}


def video_encode_args(output_cfg: dict, fps: int) -> list[str]:
    """The episode's video encoder settings from config `output` (codec, preset, quality,
    pixel format, rate): every picture segment of the master, and of the editor's conform, is
    encoded with them (episode/segments.py)."""
    return [
        "-c:v",
        encoder(output_cfg["video_codec"]),
        "-preset",
        output_cfg["video_preset"],
        "-crf",
        str(output_cfg["video_crf"]),
        "-pix_fmt",
        output_cfg["pix_fmt"],
        "-r",
        str(fps),
    ]


def encoder(codec: str) -> str:
    """The FFmpeg encoder for a delivery codec name (config output.*_codec)."""
    try:
        return ENCODERS[codec]
    except KeyError:
        raise MediaError(f"no encoder known for codec {codec!r}; expected one of {sorted(ENCODERS)}") from None
