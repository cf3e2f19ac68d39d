"""The project's database: SQLite by default (embedded), PostgreSQL when a URL names one.

url (which database, masked for messages), connection (one interface over both drivers),
migrate (versioned SQL in migrations/), story_rows (the story as rows), templates (workflow
templates as named text). Importing, exporting and reading a whole story, with its checks, is
the story's business: tower_anime.story.database.
"""

from .connection import connect
from .migrate import migrate, require_schema
from .url import DEFAULT_URL, ENV_VAR, mask_url, parse_url, resolve_url

__all__ = ["connect", "migrate", "require_schema", "DEFAULT_URL", "ENV_VAR", "mask_url", "parse_url", "resolve_url"]
