"""Which language each line is spoken in, which voice backend speaks it, and the story's
language problems (found before any job).

A line's language is its own `lang`, else its speaker's, else the episode's, else
`story.lang` (en). Its backend is the speaker's `voice.engine` when set; else
`voice.by_language[<language>]`; else `backends.voice` when that speaks the language; else
`voice.by_language['*']`. Every candidate must speak the language (Backend.languages)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import backends, lang
from ..errors import ValidationProblem
from .text import markup_problem

if TYPE_CHECKING:
    from .load import Story


def line_language(line: dict, characters: dict, episode: dict, config: dict) -> str:
    """The primary language subtag (ja, en, es) the line is spoken in."""
    speaker = characters.get(line.get("speaker"), {})
    code = line.get("lang") or speaker.get("lang") or episode.get("lang") or config["story"]["lang"]
    return lang.primary(code) or code


def title_language(episode: dict, config: dict) -> str:
    """The language of the episode's title and chapter names."""
    code = episode.get("title_lang") or episode.get("lang") or config["story"]["lang"]
    return lang.primary(code) or code


def speaks(engine: str, code: str) -> bool:
    """Whether the voice backend `engine` declares the language."""
    langs = backends.get("voice", engine).languages
    return "*" in langs or lang.primary(code) in {lang.primary(x) for x in langs}


def _candidates(code: str, voice: dict, config: dict) -> list[str]:
    if voice.get("engine"):
        return [voice["engine"]]
    by = {lang.primary(k) or k: v for k, v in config["voice"]["by_language"].items()}
    names = [by.get(code), config["backends"]["voice"], by.get("*")]
    return [n for n in names if n]


def voice_engine(code: str, voice: dict, config: dict) -> str | None:
    """The voice backend that speaks a line in language `code` for a speaker with `voice`
    (the character's voice settings), or None when no configured one speaks it."""
    for name in _candidates(code, voice, config):
        if name in backends.names("voice") and speaks(name, code):
            return name
    return None


def espeak_voice_for(code: str, espeak_voice: str) -> str:
    """The character's espeak-ng voice moved to the line's language, keeping its variant
    (en-us+m3 speaking Spanish is es+m3); unchanged when it already speaks that language."""
    base, _, variant = espeak_voice.partition("+")
    if lang.same(base.split("-")[0], code):
        return espeak_voice
    head = "en-us" if code == "en" else code
    return f"{head}+{variant}" if variant else head


def _who_speaks(code: str) -> list[str]:
    return [n for n in backends.names("voice") if speaks(n, code)]


def _code_problem(found, where, field, code):
    why = lang.problem(code)
    if why:
        found.append(ValidationProblem(where, field, why))
    return why is None


def language_problems(story: Story, config: dict, config_label: Path | str = "config") -> list:
    """Every language problem of a schema-valid story: codes Tower does not know, a line no
    configured voice speaks (naming the backends that would), translations into the line's
    own language or given twice, and voice.by_language naming a backend that cannot speak."""
    found = []
    _code_problem(found, config_label, "story.lang", config["story"]["lang"])
    for key, name in config["voice"]["by_language"].items():
        if key != "*" and not _code_problem(found, config_label, f"voice.by_language.{key}", key):
            continue
        if name not in backends.names("voice"):
            found += backends.unknown("voice", name, config_label, f"voice.by_language.{key}")
        elif key != "*" and not speaks(name, key):
            found.append(
                ValidationProblem(
                    config_label,
                    f"voice.by_language.{key}",
                    f"got {name!r}, which does not speak {key!r}; voices that do: {_who_speaks(lang.primary(key))}",
                )
            )
    sheet = config["story"]["characters"] if config["story"]["source"] == "yaml" else "story database (characters)"
    for cid, char in story.characters.items():
        if "lang" in char:
            _code_problem(found, sheet, f"characters.{cid}.lang", char["lang"])
    for ep_id, doc in story.episodes.items():
        where = story.files.get(ep_id, ep_id)
        for key in ("lang", "title_lang"):
            if key in doc:
                _code_problem(found, where, key, doc[key])
        for si, scene in enumerate(doc.get("scenes") or []):
            for hi, shot in enumerate(scene.get("shots") or []):
                for li, line in enumerate(shot.get("dialogue") or []):
                    field = f"scenes[{si}].shots[{hi}].dialogue[{li}]"
                    if "lang" in line and not _code_problem(found, where, f"{field}.lang", line["lang"]):
                        continue
                    if line.get("speaker") not in story.characters:
                        continue  # the plan names the unknown speaker
                    code = line_language(line, story.characters, doc, config)
                    if lang.problem(code):
                        continue  # named above, on the speaker or the episode
                    voice = story.characters[line["speaker"]].get("voice") or {}
                    if voice.get("engine") and voice["engine"] not in backends.names("voice"):
                        continue  # named as an unknown backend on the character sheet
                    engine = voice_engine(code, voice, config)
                    # the offline voices: what they cannot read is known (a voice service reads what it reads)
                    own_script = bool(engine) and backends.get("voice", engine).own_script_only
                    if engine and own_script and not lang.speakable(line["text"]):
                        found.append(
                            ValidationProblem(
                                where,
                                f"{field}.text",
                                f"{shot['id']} line {li + 1} ({line['speaker']}: {line['text'][:40]!r}) has nothing "
                                "an offline voice can say (no letter or digit): write the words, or put a silent beat "
                                "in the shot's action instead of a line",
                            )
                        )
                    odd = lang.foreign_characters(line["text"], code)
                    if odd and own_script:
                        found.append(
                            ValidationProblem(
                                where,
                                f"{field}.text",
                                f"{shot['id']} line {li + 1} ({line['speaker']}) is spoken in {code!r} by {engine}, "
                                f"which cannot read {odd!r} (it would say 'Chinese letter' or skip them): write "
                                "those words in the line's own language and script (渋谷 is Shibuya in an English "
                                "line), or set the line's lang to the language they are in",
                            )
                        )
                    if engine is None:
                        tried = _candidates(code, voice, config)
                        found.append(
                            ValidationProblem(
                                where,
                                field,
                                f"{shot['id']} line {li + 1} ({line['speaker']}: {line['text'][:40]!r}) is in {code!r}, "
                                f"which no configured voice speaks (tried {tried}); voices that speak it: "
                                f"{_who_speaks(code) or 'none installed'}: set voice.by_language.{code} to one of "
                                f"them{' or change the speaker' + chr(39) + 's voice.engine' if voice.get('engine') else ''}",
                            )
                        )
                    seen = {}
                    for key, text in (line.get("subtitles") or {}).items():
                        tf = f"{field}.subtitles.{key}"
                        if not _code_problem(found, where, tf, key):
                            continue
                        if lang.same(key, code):
                            found.append(
                                ValidationProblem(
                                    where,
                                    tf,
                                    f"is a translation into {key!r}, the language the "
                                    "line is spoken in; the line's own text is that track's text: "
                                    "remove it or correct the line's lang",
                                )
                            )
                        elif lang.primary(key) in seen:
                            found.append(
                                ValidationProblem(
                                    where,
                                    tf,
                                    f"translates into the same language as "
                                    f"{seen[lang.primary(key)]!r}; give one of them",
                                )
                            )
                        seen[lang.primary(key)] = key
                        if isinstance(text, str) and (not text.strip() or markup_problem(text)):
                            found.append(ValidationProblem(where, tf, markup_problem(text) or "is only white space"))
    return found
