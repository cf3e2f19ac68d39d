"""The episode as an OpenTimelineIO timeline, and that timeline read back as plan rows.

Tracks (all in one Stack):
  Picture (video)      one clip per shot, source range = the frames the master uses; a crossfade is
                       an SMPTE_Dissolve Transition centred on the cut (in_offset = d // 2 before it,
                       out_offset = the rest after it; the frames beyond each clip's source range are
                       its handles). A dip and the episode's fades are not Transitions: the shots of a
                       dip do not overlap, so each side carries a `Tower_Fade` Effect (frames, colour).
  Dialogue (audio)     each voice line at its placed start, to the sample (rate = the sample rate),
                       named "speaker: text"; a sped-up line has a LinearTimeWarp (its tempo).
  Music (audio)        each scene's cue over its scene; overlapping cues join like the picture.
  Stem dialogue, Stem music, Mix (audio, disabled)
                       the delivered stems and mix, one clip each: the alternative track set.
Markers (on the Stack): one per scene and one per subtitle event.
Metadata under "tower": the timeline's (episode, fps, size, the plan's digest), each shot's (seed,
backend, prompts, QC result, its planned row), each line's (id, shot, placed start) and cue's.
Media paths are relative to the folder of the .otio file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import opentimelineio as otio

from ..episode.transitions import COLOURS, dip_halves, shot_edges
from ..errors import TowerError

RT, TR = otio.opentime.RationalTime, otio.opentime.TimeRange
FADE = "Tower_Fade"
FORMAT = 1


def digest(timeline_json: str) -> str:
    """The plan's fingerprint stored in the timeline: an edit is read back against the same plan."""
    return hashlib.sha256(timeline_json.encode()).hexdigest()[:16]


def _rel(path, folder) -> str:
    return Path(os.path.relpath(Path(path), Path(folder))).as_posix()


def _ref(path, folder, frames: int, rate: float) -> otio.schema.ExternalReference:
    return otio.schema.ExternalReference(
        target_url=_rel(path, folder), available_range=TR(RT(0, rate), RT(frames, rate))
    )


def _fade(direction: str, frames: int, colour: str, by: str) -> otio.schema.Effect:
    return otio.schema.Effect(
        name=f"fade {direction} {'from' if direction == 'in' else 'to'} {colour}",
        effect_name=FADE,
        metadata={"tower": {"fade": direction, "frames": frames, "colour": colour, "by": by}},
    )


def _join(track: otio.schema.Track, rows: list[dict], rate: float, make_clip) -> None:
    """Rows (start_frame, frames, crossfade_in) laid on a track: clips at their frames, a
    crossfade as a Transition centred on the cut, the clips' source ranges short by its halves."""
    heads = [r["crossfade_in"] // 2 for r in rows]
    tails = [rows[i + 1]["crossfade_in"] - heads[i + 1] if i + 1 < len(rows) else 0 for i in range(len(rows))]
    cursor = 0
    for i, row in enumerate(rows):
        if row["crossfade_in"] and i:
            d = row["crossfade_in"]
            track.append(
                otio.schema.Transition(
                    name=f"crossfade {d}f",
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=RT(heads[i], rate),
                    out_offset=RT(d - heads[i], rate),
                    metadata={"tower": {"kind": "crossfade", "frames": d}},
                )
            )
        start = row["start_frame"] + heads[i]
        if start > cursor:
            track.append(otio.schema.Gap(source_range=TR(RT(0, rate), RT(start - cursor, rate))))
        clip = make_clip(row)
        clip.source_range = TR(RT(heads[i], rate), RT(row["frames"] - heads[i] - tails[i], rate))
        track.append(clip)
        cursor = start + row["frames"] - heads[i] - tails[i]


def build_timeline(
    timeline: dict,
    shots: dict,
    music: dict,
    placement: dict,
    subtitles: list,
    reports: dict,
    paths: dict,
    folder: Path | str,
    sample_rate: int,
    timeline_json: str,
) -> otio.schema.Timeline:
    """The episode's OTIO timeline.

    timeline: plan.timeline(); shots / music: per shot / scene metadata (seed, backend, prompts...);
    placement: build/<ep>/placement.json; subtitles: [(start s, end s, text)]; reports: shot ->
    its clip QC report; paths: {"clips": {shot: path}, "voice": {line: path}, "music": {scene: path},
    "stems": {"dialogue", "music", "mix"}}; folder: where the .otio goes (media paths are relative to it)."""
    fps, ep = timeline["fps"], timeline["episode"]
    total = timeline["total_frames"]
    tl = otio.schema.Timeline(name=timeline["title"], global_start_time=RT(0, fps))
    tl.metadata["tower"] = {
        "format": FORMAT,
        "episode": ep,
        "fps": fps,
        "width": timeline["width"],
        "height": timeline["height"],
        "total_frames": total,
        "sample_rate": sample_rate,
        "plan": digest(timeline_json),
        "fade_in_frames": timeline["fade_in_frames"],
        "fade_out_frames": timeline["fade_out_frames"],
    }

    picture = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    edges = shot_edges(timeline)
    rows = []
    for i, (row, edge) in enumerate(zip(timeline["shots"], edges)):
        rows.append({**row, "crossfade_in": edge["crossfade_in"], "index": i, "edge": edge})

    def shot_clip(row):
        sid, edge = row["shot"], row["edge"]
        report = reports.get(sid) or {}
        failed = [c["metric"] for c in report.get("checks", []) if not c.get("pass", True)]
        clip = otio.schema.Clip(name=sid, media_reference=_ref(paths["clips"][sid], folder, row["frames"], fps))
        clip.metadata["tower"] = {
            **shots[sid],
            "shot": sid,
            "scene": row["scene"],
            "planned": {k: row[k] for k in ("start_frame", "frames", "transition_in", "transition_frames")},
            "qc": {"clip": report.get("pass"), "still": (report.get("still") or {}).get("pass"), "failed": failed},
        }
        first, last = row["index"] == 0, row["index"] == len(rows) - 1
        if edge["fade_in"]:
            by = "episode_fade" if first else row["transition_in"]
            clip.effects.append(_fade("in", edge["fade_in"], edge["fade_in_colour"], by))
        if edge["fade_out"]:
            by = "episode_fade" if last else timeline["shots"][row["index"] + 1]["transition_in"]
            clip.effects.append(_fade("out", edge["fade_out"], edge["fade_out_colour"], by))
        return clip

    _join(picture, rows, fps, shot_clip)

    dialogue = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    cursor = 0
    for cue in placement["lines"]:
        # the mix delays a line by whole milliseconds (adelay): the same sample here
        start = round(round(cue["start"] * 1000) * sample_rate / 1000)
        length = round(cue["voice_seconds"] * sample_rate)
        if start > cursor:
            dialogue.append(otio.schema.Gap(source_range=TR(RT(0, sample_rate), RT(start - cursor, sample_rate))))
        played = round(length / cue["tempo"])
        clip = otio.schema.Clip(
            name=f"{cue['speaker']}: {cue['text']}",
            media_reference=_ref(paths["voice"][cue["line"]], folder, length, sample_rate),
            source_range=TR(RT(0, sample_rate), RT(played, sample_rate)),
        )
        if cue["tempo"] != 1.0:
            clip.effects.append(otio.schema.LinearTimeWarp(name=f"tempo {cue['tempo']}", time_scalar=cue["tempo"]))
        clip.metadata["tower"] = {
            k: cue[k] for k in ("line", "speaker", "text", "shot", "scene", "start", "end", "tempo", "window")
        }
        dialogue.append(clip)
        cursor = start + played

    cues = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
    scene_rows = [
        {**s, "crossfade_in": max(0, prev["start_frame"] + prev["frames"] - s["start_frame"]) if prev else 0}
        for prev, s in zip([None] + timeline["scenes"][:-1], timeline["scenes"])
    ]

    def cue_clip(row):
        clip = otio.schema.Clip(
            name=f"music: {row['title']}",
            media_reference=_ref(paths["music"][row["scene"]], folder, row["frames"], fps),
        )
        clip.metadata["tower"] = {**music.get(row["scene"], {}), "scene": row["scene"]}
        return clip

    _join(cues, scene_rows, fps, cue_clip)
    tl.tracks.extend([picture, dialogue, cues])

    samples = round(total * sample_rate / fps)
    for name, key in (("Stem dialogue", "dialogue"), ("Stem music", "music"), ("Mix", "mix")):
        track = otio.schema.Track(name=name, kind=otio.schema.TrackKind.Audio)
        track.enabled = False  # the alternative track set: switch it on instead of Dialogue + Music
        track.metadata["tower"] = {"track_set": "stems" if key != "mix" else "mix"}
        track.append(
            otio.schema.Clip(
                name=name,
                media_reference=_ref(paths["stems"][key], folder, samples, sample_rate),
                source_range=TR(RT(0, sample_rate), RT(samples, sample_rate)),
            )
        )
        tl.tracks.append(track)

    for s in timeline["scenes"]:
        tl.tracks.markers.append(
            otio.schema.Marker(
                name=s["title"],
                marked_range=TR(RT(s["start_frame"], fps), RT(s["frames"], fps)),
                color=otio.schema.MarkerColor.PURPLE,
                metadata={"tower": {"kind": "scene", "scene": s["scene"]}},
            )
        )
    for n, (a, b, text) in enumerate(subtitles, 1):
        ms_a, ms_b = round(a * 1000), round(b * 1000)
        tl.tracks.markers.append(
            otio.schema.Marker(
                name=text.replace("\n", " "),
                marked_range=TR(RT(ms_a, 1000), RT(ms_b - ms_a, 1000)),
                color=otio.schema.MarkerColor.YELLOW,
                metadata={"tower": {"kind": "subtitle", "event": n, "text": text}},
            )
        )
    return tl


# --- exports through OTIO's adapters -------------------------------------------------------


def _frame(t: otio.opentime.RationalTime, fps: int) -> otio.opentime.RationalTime:
    return t.rescaled_to(fps).round()


def _range_in_frames(r: otio.opentime.TimeRange, fps: int) -> otio.opentime.TimeRange:
    """A range with its start and its end each on their nearest frame (not its duration rounded on its own)."""
    start = _frame(r.start_time, fps)
    return TR(start, _frame(r.end_time_exclusive(), fps) - start)


def _to_frames(tl: otio.schema.Timeline, fps: int) -> otio.schema.Timeline:
    """A copy with every time at the picture rate: FCP 7 XML and EDL count frames only (their
    adapters refuse 48 kHz ranges). Each item's start and end on its track are rounded from its
    own time there (the sum of everything before it, not of rounded lengths), so every line lands
    on its nearest frame and no rounding accumulates; markers likewise round their start and end."""
    copy = tl.deepcopy()
    _composition_to_frames(copy.tracks, fps)
    return copy


def _composition_to_frames(comp: otio.core.Composition, fps: int) -> None:
    # each child's range in its parent, in the exact times, before any is changed
    spans = {
        index: comp.range_of_child_at_index(index)
        for index, item in enumerate(comp)
        if not isinstance(item, otio.schema.Transition)
    }
    for index, item in enumerate(comp):
        if isinstance(item, otio.schema.Transition):
            item.in_offset, item.out_offset = (_frame(t, fps) for t in (item.in_offset, item.out_offset))
            continue
        span = _range_in_frames(spans[index], fps)
        ref = getattr(item, "media_reference", None)
        if ref is not None and ref.available_range is not None:
            ref.available_range = _range_in_frames(ref.available_range, fps)
        if isinstance(item, otio.core.Composition):
            _composition_to_frames(item, fps)
        if item.source_range is not None:
            item.source_range = TR(_frame(item.source_range.start_time, fps), span.duration)
        elif not isinstance(item, otio.core.Composition):  # a clip playing its whole media
            start = ref.available_range.start_time if ref is not None and ref.available_range else RT(0, fps)
            item.source_range = TR(start, span.duration)
        for m in item.markers:
            m.marked_range = _range_in_frames(m.marked_range, fps)
    for m in comp.markers:
        m.marked_range = _range_in_frames(m.marked_range, fps)


def export_fcp_xml(tl: otio.schema.Timeline, path: Path | str) -> None:
    """FCP 7 XML (Resolve and Premiere import it) through the otio-fcp-adapter plugin."""
    fps = tl.metadata["tower"]["fps"]
    frames = _to_frames(tl, fps)
    for track in list(frames.tracks):
        if not track.enabled:  # the stems: an editor would play them over the tracks they sum
            frames.tracks.remove(track)
    otio.adapters.write_to_file(frames, str(path), adapter_name="fcp_xml")


def export_edl(tl: otio.schema.Timeline, path: Path | str) -> None:
    """CMX 3600 EDL of the picture (one video track, cuts and dissolves) through otio-cmx3600-adapter."""
    fps = tl.metadata["tower"]["fps"]
    frames = _to_frames(tl, fps)
    picture = frames.video_tracks()[0]
    for track in list(frames.tracks):
        if track is not picture:
            frames.tracks.remove(track)
    frames.tracks.markers.clear()
    otio.adapters.write_to_file(frames, str(path), adapter_name="cmx_3600")


def write_timeline_files(
    tl: otio.schema.Timeline,
    otio_path: Path | str,
    fcp_path: Path | str | None = None,
    edl_path: Path | str | None = None,
) -> None:
    """The .otio (and the exports), each written under a temporary name and renamed."""
    from ..fsutil import atomic_path

    for path, writer in (
        (otio_path, lambda p: otio.adapters.write_to_file(tl, str(p), adapter_name="otio_json")),
        (fcp_path, lambda p: export_fcp_xml(tl, p)),
        (edl_path, lambda p: export_edl(tl, p)),
    ):
        if path is None:
            continue
        with atomic_path(path) as part:
            writer(part)


# --- reading a timeline back ---------------------------------------------------------------


class TimelineError(TowerError):
    """A timeline Tower cannot read back."""


def read(path: Path | str) -> otio.schema.Timeline:
    try:
        tl = otio.adapters.read_from_file(str(path))
    except Exception as e:  # OTIO raises its own types, and ValueError / KeyError from JSON
        raise TimelineError(f"{path}: not a timeline OpenTimelineIO can read ({type(e).__name__}: {e})") from None
    if "tower" not in tl.metadata:
        raise TimelineError(
            f"{path}: no Tower metadata; expected a timeline written by Tower "
            "(timelines/<ep>.otio) and edited, not made elsewhere"
        )
    return tl


def _frames(t: otio.opentime.RationalTime, fps: int) -> int:
    return round(t.rescaled_to(fps).value)


def picture_rows(tl: otio.schema.Timeline) -> tuple[list[dict], list[str]]:
    """The picture track as plan rows: per clip its shot (metadata), start_frame and frames (its
    handles under a crossfade included), source_start (the frame of its media it starts on),
    transition_in and transition_frames, fade_in / fade_out (Effects), and what else lies on the
    track (gaps, foreign clips, transitions of another kind) under "problems" of the row or the list."""
    fps = tl.metadata["tower"]["fps"]
    track = tl.video_tracks()[0]
    rows, pending = [], None  # pending: the transition before the next clip
    problems = []
    for index, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            pending = item
            continue
        span = track.range_of_child_at_index(index)
        start, length = _frames(span.start_time, fps), _frames(span.duration, fps)
        if isinstance(item, otio.schema.Gap):
            problems.append(f"a gap of {length} frames at frame {start} of the picture track")
            continue
        meta = item.metadata.get("tower") or {}
        url = getattr(item.media_reference, "target_url", None)
        row = {
            "shot": meta.get("shot"),
            "name": item.name,
            "media": url,
            "meta": meta,
            "source_start": _frames(item.source_range.start_time, fps) if item.source_range else 0,
            "transition_in": "cut",
            "transition_frames": 0,
            "fade_in": None,
            "fade_out": None,
        }
        head = 0
        if pending is not None:
            head = _frames(pending.in_offset, fps)
            kind = (pending.metadata.get("tower") or {}).get("kind")
            if pending.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve or kind not in (None, "crossfade"):
                problems.append(f"a transition {pending.transition_type!r} ({pending.name}) before {item.name!r}")
            row["transition_in"] = "crossfade"
            row["transition_frames"] = head + _frames(pending.out_offset, fps)
            rows[-1]["frames"] += _frames(pending.out_offset, fps) if rows else 0
            pending = None
        row["start_frame"] = start - head
        row["source_start"] -= head
        row["frames"] = length + head
        for effect in item.effects:
            fade = (effect.metadata.get("tower") or {}) if effect.effect_name == FADE else None
            if fade:
                row[f"fade_{fade['fade']}"] = fade
        rows.append(row)
    if pending is not None:
        problems.append(f"a transition at the end of the picture track ({pending.name})")
    # dips: the fade out of one shot and the fade in of the next, by the same dip
    for before, row in zip(rows, rows[1:]):
        fin, fout = row["fade_in"], before["fade_out"]
        if row["transition_in"] == "cut" and fin and fin.get("by") in COLOURS:
            row["transition_in"] = fin["by"]
            row["transition_frames"] = fin["frames"] + (fout["frames"] if fout else 0)
            if (
                not fout
                or fout.get("by") != fin["by"]
                or dip_halves(row["transition_frames"]) != (fout["frames"], fin["frames"])
            ):
                problems.append(
                    f"the {fin['by']} into {row['name']!r} has lost its other half (the fade out of {before['name']!r})"
                )
        elif fout and fout.get("by") in COLOURS and not (fin and fin.get("by") == fout["by"]):
            problems.append(
                f"the {fout['by']} after {before['name']!r} has lost its other half (the fade in of {row['name']!r})"
            )
    return rows, problems


def timeline_of(tl: otio.schema.Timeline) -> tuple[dict, list[dict]]:
    """(a timeline dict as plan.timeline() has it, the picture rows): what the conform needs."""
    meta = tl.metadata["tower"]
    rows, problems = picture_rows(tl)
    if problems:
        raise TimelineError("the picture track cannot be rebuilt: " + "; ".join(problems))
    fade_in = (
        rows[0]["fade_in"]["frames"]
        if rows and rows[0]["fade_in"] and rows[0]["fade_in"]["by"] == "episode_fade"
        else 0
    )
    fade_out = (
        rows[-1]["fade_out"]["frames"]
        if rows and rows[-1]["fade_out"] and rows[-1]["fade_out"]["by"] == "episode_fade"
        else 0
    )
    shots = [
        {
            "shot": r["shot"] or r["name"],
            "scene": r["meta"].get("scene"),
            "start_frame": r["start_frame"],
            "frames": r["frames"],
            "transition_in": r["transition_in"],
            "transition_frames": r["transition_frames"],
        }
        for r in rows
    ]
    total = max((r["start_frame"] + r["frames"] for r in rows), default=0)
    return (
        {
            "episode": meta["episode"],
            "fps": meta["fps"],
            "width": meta["width"],
            "height": meta["height"],
            "total_frames": total,
            "fade_in_frames": fade_in,
            "fade_out_frames": fade_out,
            "shots": shots,
        },
        rows,
    )


def dialogue_clips(tl: otio.schema.Timeline) -> list[dict]:
    """Each clip of the Dialogue track: start and length in samples, source start, tempo, metadata."""
    rate = tl.metadata["tower"]["sample_rate"]
    track = next((t for t in tl.audio_tracks() if t.name == "Dialogue"), None)
    out = []
    if track is None:
        return out
    for index, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip):
            continue
        span = track.range_of_child_at_index(index)
        tempo = next((e.time_scalar for e in item.effects if isinstance(e, otio.schema.LinearTimeWarp)), 1.0)
        out.append(
            {
                "name": item.name,
                "meta": item.metadata.get("tower") or {},
                "media": getattr(item.media_reference, "target_url", None),
                "start": round(span.start_time.rescaled_to(rate).value),
                "length": round(span.duration.rescaled_to(rate).value),
                "source_start": round(item.source_range.start_time.rescaled_to(rate).value),
                "tempo": tempo,
            }
        )
    return out
