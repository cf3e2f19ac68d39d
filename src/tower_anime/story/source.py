"""Where the story and the prompt facts come from, as config says: YAML files (the default)
or the database. The workflow and the CLI both call load_inputs, so they plan alike."""

from __future__ import annotations

from typing import Any

from ..facts.context import PromptContext, subjects_for
from .load import Story, load_story


def load_configured_story(config: dict[str, Any]) -> Story:
    story_cfg = config["story"]
    if story_cfg.get("source", "yaml") == "database":
        from ..store import connect, resolve_url
        from .database import read_story

        with connect(resolve_url(config, "story")) as db:
            return read_story(db)
    return load_story(story_cfg["characters"], story_cfg["episodes_dir"])


def load_prompt_context(config: dict[str, Any], characters: dict[str, dict[str, Any]]) -> PromptContext | None:
    """The facts for prompts, resolved per character and stage; None when facts are off."""
    facts_cfg = config.get("facts") or {}
    source = facts_cfg.get("source", "none")
    if source == "none":
        return None
    subject = facts_cfg["style_subject"]
    if source == "database":
        from ..facts.store import facts_about
        from ..store import connect, require_schema, resolve_url

        with connect(resolve_url(config, "facts")) as db:
            require_schema(db)
            facts = facts_about(db, subjects_for(characters, subject))
    else:
        from ..facts.files import read_fact_files

        facts = read_fact_files(facts_cfg["files"])
    return PromptContext(facts, characters, subject, facts_cfg["style"])


def load_inputs(config: dict[str, Any]) -> tuple[Story, PromptContext | None]:
    """(story, prompt context) for a validated config."""
    story = load_configured_story(config)
    return story, load_prompt_context(config, story.characters)
