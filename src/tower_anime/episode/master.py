"""The join of the shots (cuts, crossfades, dips and fades) that each picture segment is cut
from (video_graph, used by segments.py), the episode's sound encoded once (encode_sound),
and the one FFmpeg run that joins the encoded segments and the encoded sound without
encoding either again and muxes subtitles, chapters and the title into the episode MKV
(H.264 + Opus)."""

import struct
import tempfile
from pathlib import Path
from typing import TextIO

from .. import lang, verify_output
from ..errors import MediaError
from ..fsutil import atomic_path, write_json_atomic
from ..media import (
    Filter,
    Stream,
    chain,
    concat_list,
    encoder,
    ffmpeg,
    fx,
    hashed_packets,
    join,
    loudness,
    loudness_meter,
    probe,
)
from ..qc.subtitles import parse_srt
from .chapters import ffmetadata
from .subtitles import srt_time
from .transitions import shot_edges


def _fade_out(n: int, frames: int, fps: int, colour: str) -> list[Filter]:
    """The shot's last n frames toward `colour`, the k-th from the end at k/n of the picture,
    so that its last frame is the colour (the mirror of fade=t=in:s=0:n=n).

    FFmpeg's frame-counted fade-out first dims the frame after its start frame, which would
    have to be -1 when the fade is the whole shot; its time-based form computes the level from
    each frame's time, so the frames are stamped 1..frames for it and back to 0..frames-1."""
    return [
        fx("setpts", "PTS+1"),
        fx("fade", t="out", st=f"{(frames - n) / fps:.6f}", d=f"{n / fps:.6f}", c=colour),
        fx("setpts", "PTS-1"),
    ]


def video_graph(timeline: dict, inputs: list[Stream], edges: list[dict] | None = None) -> Stream:
    """The shots' video streams (`inputs`, one per shot in timeline order) joined into the
    episode's picture: concat for cuts and dips, xfade for crossfades; dips and the episode's
    fades are fades at the ends of the shots they touch. The editor's conform (editor/conform.py)
    joins its trimmed clips with this same graph.

    Frame k of the output is frame k of the plan: every link runs in a 1/fps time base with
    pts = frame index, because xfade's offset and duration are times. FFmpeg 5.1's xfade
    stamps the frames it passes on from its second input one frame late (a hole after each
    crossfade); concat then puts the next shot after the hole, and 0.97 ms later still, as it
    guesses a segment's end from its mean frame spacing; the next xfade's offset then fell a
    frame early and paired an extra frame, so one frame of the shot was lost. Renumbering
    after every join (setpts=N) leaves no hole to carry forward.

    edges: what each shot's transitions take of it (transitions.shot_edges), given when the
    shots are a part of the timeline (a segment) whose ends fade as the whole one says."""
    fps = timeline["fps"]
    tb = [fx("settb", f"1/{fps}"), fx("setpts", "N")]
    shots = []
    for stream, shot, edge in zip(inputs, timeline["shots"], edges or shot_edges(timeline), strict=True):
        n = shot["frames"]
        # a clip longer than planned must not push the later shots: take its planned frames
        filters = [
            fx("setpts", "PTS-STARTPTS"),
            fx("fps", fps),
            fx("format", "yuv420p"),
            fx("setsar", 1),
            *tb,
            fx("trim", end_frame=n),
        ]
        if edge["fade_in"]:
            # frame k of the first fade_in frames at k/fade_in of the picture: frame 0 is the colour
            filters.append(fx("fade", t="in", s=0, n=edge["fade_in"], c=edge["fade_in_colour"]))
        if edge["fade_out"]:
            filters += _fade_out(edge["fade_out"], n, fps, edge["fade_out_colour"])
        shots.append(chain(stream, filters))
    current, length = shots[0], timeline["shots"][0]["frames"]
    for i, shot in enumerate(timeline["shots"][1:], 1):
        if shot["transition_in"] == "crossfade":
            d = shot["transition_frames"]
            # xfade's fade shows the first overlapped frame as the earlier shot alone (progress P
            # runs 1 .. 1/d): the later shot's weight is made (k+1)/(d+1) at overlapped frame k
            # instead, so both shots' every frame is seen and neither repeats a pure frame.
            # xfade ends the transition as soon as its first input reports its end, even with
            # that input's last frame still queued (seen after concat): the last overlapped
            # frame then showed the later shot alone. One cloned frame after the earlier shot
            # keeps its real frames paired; the clone meets P = 0 (the later shot alone, as
            # wanted there) or is dropped at the end, either way one frame at the right place
            c = d / (d + 1)
            padded = chain(current, [fx("tpad", stop=1, stop_mode="clone")])
            joined = join(
                [padded, shots[i]],
                "xfade",
                transition="custom",
                expr=f"B+(A-B)*P*{c:.6f}+0.5",
                duration=f"{d / fps:.6f}",
                offset=f"{(length - d) / fps:.6f}",
            )
            length += shot["frames"] - d
        else:
            # concat runs in microseconds: back to frame numbers for the next xfade
            joined = join([current, shots[i]], "concat", n=2, v=1, a=0)
            length += shot["frames"]
        current = chain(joined, tb)
    return current


def clip_srt(text: str, end: float) -> str:
    """SRT text with every event cut at `end` (the picture's end) and those starting there or
    later dropped: an event past the picture would make the file, and its duration, longer."""
    kept = [(a, min(b, end), t) for a, b, t in parse_srt(text) if a < end]
    return "\n".join(f"{n}\n{srt_time(a)} --> {srt_time(b)}\n{t}\n" for n, (a, b, t) in enumerate(kept, 1))


# libopus starts every stream with 312 samples (6.5 ms at 48 kHz) that the decoder discards
# (pre-skip, Matroska CodecDelay). FFmpeg 5.1 stamps the first packet -6.5 ms and, with
# -avoid_negative_ts disabled (which keeps the video at 0), the Matroska muxer writes it so,
# and the demuxer subtracts CodecDelay once more: the sound was heard 6.5 ms early and ended
# 6.5 ms before the picture (measured: first decoded sample at -6 ms, last at 4.2018 s of a
# 4.2083 s picture). Starting the mix's timestamps 312 samples late puts the first packet at
# 0 and the first sample heard at 0; the encoder's end trimming (DiscardPadding on the last
# block) then ends the sound on the picture's last sample.
OPUS_PRESKIP = 312
OPUS_RATE = 48000  # Opus codes at 48 kHz whatever it is given: its pre-skip counts 48 kHz samples
# config `output` keys that shape the encoded sound: only these re-encode it (encode_sound)
SOUND_KEYS = ("audio_codec", "audio_bitrate", "sample_rate", "audio_channels")


def _seconds_of(wav) -> float:
    """A WAV's exact length from its sample count (24-bit stereo is WAVE_FORMAT_EXTENSIBLE,
    which Python's wave module does not read)."""
    stream = probe(wav)["streams"][0]
    return int(stream["duration_ts"]) / int(stream["sample_rate"])


def set_matroska_duration(path: str | Path, seconds: float) -> None:
    """Rewrite the Segment's Duration (an 8-byte float in the Info element near the start).

    FFmpeg 5.1's muxer takes a track's end in block time, which for Opus still holds the 6.5 ms
    CodecDelay that every reader subtracts: the file said 4.215 s for a 4.2083 s picture and
    sound (measured). `seconds` is the end of the longest stream as it is played."""
    with open(path, "r+b") as f:
        head = f.read(1 << 16)
        info = head.find(b"\x15\x49\xa9\x66")  # the Info element
        scale = head.find(b"\x2a\xd7\xb1", info)  # TimestampScale, ns per tick
        at = head.find(b"\x44\x89\x88", info)  # Duration, written as an 8-byte float
        if info < 0 or scale < 0 or at < 0:
            raise MediaError(f"{path}: no Matroska Info/Duration in the first 64 KiB; cannot set its duration")
        size = head[scale + 3] & 0x7F if head[scale + 3] & 0x80 else None
        ticks = int.from_bytes(head[scale + 4 : scale + 4 + size], "big") if size else 1_000_000
        f.seek(at + 3)
        f.write(struct.pack(">d", seconds * 1e9 / ticks))


def set_chapter_language(path: str | Path, code: str) -> int:
    """Tag every chapter name with `code` (ISO 639-2, three letters); returns how many.

    FFmpeg 5.1's Matroska muxer writes each ChapLanguage as "und" with no option to change it;
    the element is rewritten in place (same size: a three-letter code for another), inside the
    Chapters element only. Read back with mkvtoolnix (`mkvextract FILE chapters -`)."""
    code_bytes = code.encode("ascii")
    if len(code_bytes) != 3:
        raise MediaError(f"chapter language {code!r}: expected a three-letter ISO 639-2 code")
    with open(path, "r+b") as f:
        data = f.read()
        at = data.find(b"\x10\x43\xa7\x70")  # the Chapters element
        if at < 0:
            return 0
        first = data[at + 4]
        width = 8 - first.bit_length() + 1  # EBML variable-size integer: its length from the first byte
        size = int.from_bytes(bytes([first & (0xFF >> width)]) + data[at + 5 : at + 4 + width], "big")
        start, end = at + 4 + width, at + 4 + width + size
        found, i = 0, data.find(b"\x43\x7c\x83und", start, end)  # ChapLanguage, 3 bytes, "und"
        while i >= 0:
            f.seek(i + 3)
            f.write(code_bytes)
            found += 1
            i = data.find(b"\x43\x7c\x83und", i + 6, end)
    return found


def _stream_tags(timeline: dict, output_cfg: dict, languages: dict | None, tracks: int) -> list[str]:
    """Track flags, names and languages: video, audio and the audience's subtitles default
    (episode/tracks.py says which track that is and which is forced), every track named for a
    player's menu."""
    if languages is None:  # one track in the configured language, as before tracks had languages
        code = output_cfg["subtitle_language"]
        languages = {
            "audio": code,
            "audio_languages": [code],
            "chapters": None,
            "subtitles": [{"lang": code, "name": lang.name(code), "default": True, "forced": False}],
        }
    subs = languages["subtitles"]
    if len(subs) != tracks:
        raise MediaError(f"{tracks} subtitle file(s) for {len(subs)} subtitle track(s) {[t['lang'] for t in subs]}")
    spoken = [lang.name(c) for c in languages.get("audio_languages") or [languages["audio"]]]
    spoken = ["Music and effects"] if languages["audio"] == "zxx" else spoken
    channels = {1: "mono", 2: "stereo"}.get(output_cfg["audio_channels"], f"{output_cfg['audio_channels']} channels")
    args = [
        "-default_mode",
        "passthrough",  # the flags below, not FFmpeg's guess
        "-disposition:v:0",
        "default",
        "-metadata:s:v:0",
        f"title=Picture ({timeline['width']}x{timeline['height']})",
        "-disposition:a:0",
        "default",
        "-metadata:s:a:0",
        f"language={languages['audio']}",
        "-metadata:s:a:0",
        f"title={', '.join(spoken)} ({channels})",
    ]
    for i, t in enumerate(subs):
        flags = "+".join(f for f in ("default", "forced") if t[f]) or "0"
        args += [
            f"-disposition:s:{i}",
            flags,
            f"-metadata:s:s:{i}",
            f"language={t['lang']}",
            f"-metadata:s:s:{i}",
            f"title={t['name']}",
        ]
    return args


def sound_args(mix_wav: str | Path, out: str | Path, output_cfg: dict) -> list[str]:
    """FFmpeg's arguments (after the global ones) that encode the mix as config `output` says,
    into Ogg Opus: the episode's one encode of its sound, which the master copies."""
    return [
        "-i",
        str(mix_wav),
        "-map",
        "0:a:0",
        "-c:a",
        encoder(output_cfg["audio_codec"]),
        "-b:a",
        output_cfg["audio_bitrate"],
        "-ar",
        str(output_cfg["sample_rate"]),
        "-ac",
        str(output_cfg["audio_channels"]),
        "-fflags",
        "+bitexact",
        "-f",
        "ogg",
        str(out),
    ]


def encode_sound(
    mix_wav: str | Path, out: str | Path, output_cfg: dict, log: TextIO | None = None, record: str | Path | None = None
) -> None:
    """Encode the mix once, atomically, into `out` (Ogg Opus). Its own job: an edit to the
    picture re-encodes no sound, and the master only copies it (episode_args).

    Ogg keeps the encoder's pre-skip in its header, and its reader gives the first packet the
    same -6.5 ms time that the encoder gives it, so the master that copies this file with the
    offset below has the very packets, times and end trimming of one that encodes the mix
    itself (measured: equal packet lists and equal decoded samples)."""
    with atomic_path(out, check=verify_output.audio) as part:
        ffmpeg(sound_args(mix_wav, part, output_cfg), f"the sound of {mix_wav}", log)
    if record:
        write_json_atomic(record, sound_record(out))


def sound_record(sound: str | Path) -> dict:
    """What the episode's gate needs of the encoded sound, measured once where it is made: the
    digest of its packets (codec header included), its loudness and the meter that measured
    it (media.loudness_meter). The gate takes this loudness for the master's only
    when the master's sound has the same digest (the same packets, copied), and measures the
    master itself otherwise; an edit to the picture then measures no sound again."""
    _, digest = hashed_packets(sound)
    return {
        "file": str(sound),
        "packets": digest,
        "loudness": loudness(sound),
        "meter": loudness_meter(),
    }


def episode_args(
    timeline: dict,
    picture: list[str],
    sound: str | Path,
    subs: list,
    meta: str | Path,
    part: str | Path,
    output_cfg: dict,
    tags: list[str],
) -> list[str]:
    """The master's FFmpeg arguments (after the global ones): the picture (input arguments of
    the joined segments, media.concat_list) and the sound (encode_sound) copied as they are,
    the subtitle files, the chapters and the metadata of the FFMETADATA file `meta`; tags: the
    tracks' flags and names (_stream_tags). Inputs: the picture 0, the sound 1, the subtitles
    2.., `meta` last. Nothing is decoded or encoded but the subtitles."""
    chapters = str(2 + len(subs))
    args = [*picture, "-itsoffset", f"{OPUS_PRESKIP / OPUS_RATE:.6f}", "-i", str(sound)]
    for s in subs:
        args += ["-i", str(s)]
    args += ["-i", str(meta), "-map", "0:v:0", "-map", "1:a:0"]
    for i in range(len(subs)):
        args += ["-map", f"{2 + i}:s:0"]
    return [
        *args,
        "-map_chapters",
        chapters,
        "-map_metadata",
        chapters,
        # the segments and the sound are the delivery format already: copied, not encoded again
        "-c:v",
        "copy",
        "-c:a",
        "copy",
        "-c:s",
        encoder(output_cfg["subtitle_codec"]),
        *tags,
        "-metadata",
        f"title={timeline['title']}",
        # keep video at t=0: Opus pre-skip would otherwise shift every stream by ~7 ms
        "-avoid_negative_ts",
        "disabled",
        # the Matroska muxer otherwise writes a random segment UID and the date: two
        # builds of the same episode differed only there (tests/test_reproducible.py)
        "-fflags",
        "+bitexact",
        str(part),
    ]


def assemble_episode(
    timeline: dict,
    segment_paths: list,
    mix_wav: str | Path,
    srt_path: str | Path | dict,
    out_mkv: str | Path,
    output_cfg: dict,
    log: TextIO | None = None,
    languages: dict | None = None,
    sound: str | Path | None = None,
) -> None:
    """segment_paths: the picture's segments in timeline order (segments.py). Writes out_mkv
    atomically: exactly total_frames frames at fps, the mix under them from the first to the
    last frame, subtitles cut at the picture's end.

    sound: the mix already encoded by encode_sound (the workflow's `sound` job), copied as it
    is; None: encoded here first. mix_wav gives the sound's exact length either way.
    srt_path: one SRT, or one per subtitle track in the order of languages["subtitles"];
    languages: the plan's language_tags() (the audio's, the chapters' and each subtitle
    track's language, name and flags); None: one track in output.subtitle_language."""
    fps = timeline["fps"]
    srt_paths = [srt_path] if isinstance(srt_path, (str, Path)) else list(srt_path)
    tags = _stream_tags(timeline, output_cfg, languages, len(srt_paths))
    with tempfile.TemporaryDirectory(prefix="tower-episode-") as tmp:
        meta = Path(tmp) / "chapters.txt"
        meta.write_text(ffmetadata(timeline), encoding="utf-8")
        subs = []
        for i, src in enumerate(srt_paths):
            subs.append(Path(tmp) / f"subs{i}.srt")
            subs[-1].write_text(
                clip_srt(Path(src).read_text(encoding="utf-8"), timeline["total_frames"] / fps), encoding="utf-8"
            )
        if sound is None:
            sound = Path(tmp) / "sound.opus"
            encode_sound(mix_wav, sound, output_cfg, log)
        complete = lambda p: verify_output.video(p, frames=timeline["total_frames"], audio=True)  # noqa: E731
        with atomic_path(out_mkv, check=complete) as part:
            picture = concat_list(segment_paths, Path(tmp) / "segments.txt")
            args = episode_args(timeline, picture, sound, subs, meta, part, output_cfg, tags)
            ffmpeg(args, f"episode {timeline['episode']}", log)
            if languages and languages.get("chapters"):
                set_chapter_language(part, languages["chapters"])
            # the longest stream as heard: the picture, unless the mix or a subtitle runs on
            events = [e for s in subs for e in parse_srt(s.read_text(encoding="utf-8"))]
            set_matroska_duration(
                part,
                max(timeline["total_frames"] / fps, _seconds_of(mix_wav), max((e[1] for e in events), default=0.0)),
            )
