"""The episode's subtitle tracks and language tags, from the lines' languages and translations.

One subtitle track per language present: a line is on the track of the language it is spoken
in (its own words) and on the track of each language it is translated into (`subtitles:` on the
line; translations are the writer's, never generated). A track is named for a person choosing
in a player's menu (the language's own name: English, 日本語, Español) and tagged with its
ISO 639-2 code.

Flags: the audience's track (output.subtitle_language) is the default subtitle track. A track
is forced ("foreign parts only") when none of its lines is spoken in its own language: it only
translates what is said in other languages, which a player shows even with subtitles off. The
audio track is tagged with the dialogue's language, `mul` when lines are in several, `zxx`
when there are none."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .. import lang
from .subtitles import reading_seconds, subtitle_limits


def line_texts(line: Mapping, code: str) -> dict[str, str]:
    """{ISO 639-2 track language: text} of one line: its own words and its translations."""
    texts = {lang.matroska(code): line["text"]}
    for key, text in (line.get("subtitles") or {}).items():
        texts.setdefault(lang.matroska(key), text)
    return texts


def line_reading(line: Mapping, code: str, settings: Mapping, fps: float) -> float:
    """The least time the line's subtitles need on screen, over every track it is on."""
    return max(
        reading_seconds(text, subtitle_limits(settings, fps, track)) for track, text in line_texts(line, code).items()
    )


def subtitle_tracks(lines: Sequence[tuple[str, str, Mapping]], audience: str) -> list[dict]:
    """The tracks of an episode from (line id, spoken language, line) in order: each
    {lang, name, default, forced, lines: {line id: text}}, the audience's track first, then
    the others in the order their languages first appear."""
    tracks: dict[str, dict] = {}
    spoken: set[str] = set()
    for line_id, code, line in lines:
        spoken.add(lang.matroska(code))
        for track, text in line_texts(line, code).items():
            tracks.setdefault(track, {})[line_id] = text
    audience = lang.matroska(audience)
    if not tracks:  # an episode without dialogue still has its (empty) audience track
        tracks[audience] = {}
    order = sorted(tracks, key=lambda t: t != audience)  # stable: first appearance otherwise
    out = []
    for track in order:
        forced = track not in spoken and bool(tracks[track])
        out.append(
            {
                "lang": track,
                "name": lang.name(track) + (" (forced)" if forced else ""),
                "default": track == audience,
                "forced": forced,
                "lines": tracks[track],
            }
        )
    return out


def audio_language(codes: Iterable[str]) -> str:
    """The audio track's ISO 639-2 tag: the dialogue's one language, mul for several, zxx for none."""
    found = {lang.matroska(c) for c in codes}
    if not found:
        return "zxx"
    return found.pop() if len(found) == 1 else "mul"
