"""The one validation pass before any job: config files, config, story, references, plan.

The workflow (rules/common.smk) and `tower-anime validate` both call check_inputs, so a
story the CLI accepts is a story the workflow plans, and every refusal is an InvalidInput
with one line per problem (file, field, value, what is allowed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .config import load_config, validate_config
from .errors import InvalidInput, ValidationProblem
from .schema import read_yaml
from .story import load_inputs, plan_story
from .story.load import Story


@dataclass
class Checked:
    config: dict
    story: Story
    context: object  # facts.PromptContext or None
    plans: dict  # episode id -> EpisodePlan


def config_file_problems(files: Iterable) -> list:
    """Re-read config files as Tower reads YAML: a duplicate key, bytes that are not UTF-8 or
    a syntax error named with the file and the line (Snakemake's own reader keeps the last
    of two equal keys silently)."""
    found = []
    for f in files:
        try:
            read_yaml(f)
        except InvalidInput as e:
            found += e.problems
    return found


def _decodes(path: Path) -> str | None:
    """None when Pillow can open, verify and decode the picture; else why not."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.verify()  # structure and checksums
        with Image.open(path) as im:
            im.load()  # the pixels themselves (verify does not decode them)
    except Exception as e:  # Pillow raises many types for a bad file; the message says which
        return f"{type(e).__name__}: {' '.join(str(e).split())[:120]}"
    return None


def reference_problems(characters: dict, where: Path | str, root: Path | str | None = None) -> list:
    """Every character's reference_image must be a decodable picture inside the project folder
    (the folder the workflow runs in, where relative paths are read): a still check opens it."""
    root = Path(root or Path.cwd()).resolve()
    found = []
    for cid, c in (characters or {}).items():
        ref = c.get("reference_image")
        if not ref:
            continue
        field = f"characters.{cid}.reference_image"
        path = (root / ref).resolve()
        if not path.is_relative_to(root):
            found.append(
                ValidationProblem(
                    where,
                    field,
                    f"got {ref!r}, outside the project folder {root}; copy the "
                    "picture into the project (e.g. config/references/) and give its relative path",
                )
            )
        elif not path.is_file():
            found.append(
                ValidationProblem(
                    where,
                    field,
                    f"got {ref!r}: no such file in the project folder {root}; "
                    "give the path of a PNG or JPEG picture of the character",
                )
            )
        else:
            why = _decodes(path)
            if why:
                found.append(
                    ValidationProblem(
                        where,
                        field,
                        f"got {ref!r}, which is not a picture Pillow can decode "
                        f"({why}); give a PNG or JPEG picture of the character",
                    )
                )
    return found


def episode_list_problems(config: dict, story: Story, label: Path | str) -> list:
    """story.episodes names episodes to build: each must be one the story has."""
    return [
        ValidationProblem(
            label,
            f"story.episodes[{i}]",
            f"got {ep!r}; no such episode in the story; expected one of {sorted(story.episodes)}",
        )
        for i, ep in enumerate(config["story"]["episodes"])
        if ep not in story.episodes
    ]


def _story_items(story: Story) -> dict[str, set[str]]:
    """The items each kind of QC report names, as qc.waive writes them (<ep>/<shot>...)."""
    items: dict[str, set[str]] = {"still": set(), "clip": set(), "voice": set(), "music": set(), "episode": set()}
    for ep, doc in story.episodes.items():
        items["episode"].add(ep)
        for scene in doc.get("scenes") or []:
            items["music"].add(f"{ep}/{scene['id']}")
            for shot in scene.get("shots") or []:
                items["still"].add(f"{ep}/{shot['id']}")
                items["clip"].add(f"{ep}/{shot['id']}")
                for i, _ in enumerate(shot.get("dialogue") or []):
                    items["voice"].add(f"{ep}/{shot['id']}_l{i + 1}")
    return items


def _story_languages(story: Story, config: dict) -> set[str]:
    """The ISO 639-2 tags of every language the story's lines are spoken or translated in."""
    from . import lang

    found = {lang.matroska(config["story"]["lang"])}
    for char in story.characters.values():
        if "lang" in char:
            found.add(lang.matroska(char["lang"]))
    for doc in story.episodes.values():
        if "lang" in doc:
            found.add(lang.matroska(doc["lang"]))
        for scene in doc.get("scenes") or []:
            for shot in scene.get("shots") or []:
                for line in shot.get("dialogue") or []:
                    found |= {lang.matroska(c) for c in [line.get("lang"), *(line.get("subtitles") or {})] if c}
    return found


def config_story_problems(config: dict, story: Story, label: Path | str) -> list:
    """Config values that name parts of Tower or the story, each checked against them: an
    exempt camera move must be a move and a backend, and the audience's subtitle language a
    language (waivers: waiver_findings)."""
    from . import backends, lang
    from .schema import load_schema

    camera_moves = load_schema("episode")["$defs"]["camera_move"]["enum"]
    found = []
    for table in ("frozen_exempt", "first_frame_exempt"):
        for backend, moves in config["qc"]["clip"][table].items():
            found += backends.unknown("clips", backend, label, f"qc.clip.{table}.{backend}")
            for j, move in enumerate(moves):
                if move not in camera_moves:
                    found.append(
                        ValidationProblem(
                            label,
                            f"qc.clip.{table}.{backend}[{j}]",
                            f"got {move!r}; expected a camera move: {camera_moves}",
                        )
                    )
    audience = config["output"]["subtitle_language"]
    # a code Tower's table knows (eng, jpn, deu or ger) maps to a two-letter one; any other
    # three letters pass through as themselves and must be a language the story has
    code = lang.primary(audience)
    if code is None or (code == audience and lang.matroska(audience) not in _story_languages(story, config)):
        found.append(
            ValidationProblem(
                label,
                "output.subtitle_language",
                f"got {audience!r}, which is neither an ISO 639-2 code Tower knows nor a language of the story's "
                "lines; expected the audience's language as its subtitle track is tagged, such as eng, jpn or spa",
            )
        )
    return found


def waiver_findings(config: dict, story: Story, label: Path | str) -> tuple[list, dict[str, list[str]]]:
    """Each waiver's item checked against the story, as (problems, {episode: [note]}). An
    episode the story lacks is a typo the waiver can never match: a problem. An item its
    episode no longer has (a shot removed, a line renumbered) waives nothing: a note, where
    people see the plan's notes, so that removing a shot stops no build."""
    items, problems, notes = _story_items(story), [], {}
    for i, waiver in enumerate(config["qc"]["waive"]):
        kind, item = waiver["kind"], waiver["item"]
        ep = item.split("/")[0]
        if item in items[kind]:
            continue
        if ep in story.episodes:
            notes.setdefault(ep, []).append(
                f"qc.waive[{i}] names {kind} {item!r}, which the story does not have (a typo, or removed?): "
                "it waives nothing; correct or delete it"
            )
            continue
        problems.append(
            ValidationProblem(
                label,
                f"qc.waive[{i}].item",
                f"got {item!r}; the story has no {kind} item of that name, so the waiver would apply to "
                f"nothing; expected <ep>/<id> as its reports name it, such as {sorted(items[kind])[:8]}",
            )
        )
    return problems, notes


def check_inputs(config: dict, label: str, config_files: Iterable = (), inputs: tuple | None = None) -> Checked:
    """Validate the config (filling defaults in place), load the story and facts, check the
    references and plan every episode; raise InvalidInput listing every problem found.

    inputs: (story, prompt context) already loaded, instead of load_inputs(config): a
    candidate story that the review room checks before it saves it."""
    found = config_file_problems(config_files)
    if found:
        raise InvalidInput(found)
    validate_config(config, label)
    story, context = inputs if inputs is not None else load_inputs(config)
    sheet = config["story"]["characters"] if config["story"]["source"] == "yaml" else "story database (characters)"
    waiver_problems, waiver_notes = waiver_findings(config, story, label)
    found = (
        reference_problems(story.characters, sheet)
        + episode_list_problems(config, story, label)
        + config_story_problems(config, story, label)
        + waiver_problems
    )
    if found:
        raise InvalidInput(found)
    plans = plan_story(story, config, context, label)
    for ep, notes in waiver_notes.items():
        if ep in plans:
            plans[ep].notes += notes
    return Checked(config, story, context, plans)


def check_config_file(path: Path | str, overrides: dict | None = None) -> Checked:
    """check_inputs on a config file (what `tower-anime validate --config FILE` runs)."""
    config = load_config(path, overrides)
    return check_inputs(config, str(path))
