"""Facts ("Echo Brain"): subject-predicate-object triples about the production.

files (Fact, facts YAML), store (add, list, ranked search in the database), context (each
character's facts and the style bible for prompts and specs), server (the MCP server).
"""

from .context import PromptContext, character_facts, prompt_context, style_bible
from .files import Fact, make_fact, read_fact_files, read_facts_file
from .store import add_facts, facts_about, list_facts, search_facts

__all__ = [
    "Fact",
    "make_fact",
    "read_facts_file",
    "read_fact_files",
    "add_facts",
    "list_facts",
    "search_facts",
    "facts_about",
    "PromptContext",
    "character_facts",
    "style_bible",
    "prompt_context",
]
