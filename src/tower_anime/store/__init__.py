"""The project's database: SQLite by default (embedded), PostgreSQL when a URL names one.

url (which database, masked for messages), connection (one interface over both drivers),
migrate (versioned SQL in migrations/), story_rows + story_db (the story as rows; import,
export, read), templates (workflow templates as named text).
"""
from .connection import connect
from .migrate import migrate, require_schema
from .story_db import export_folder, import_folder, read_story
from .url import DEFAULT_URL, ENV_VAR, mask_url, parse_url, resolve_url

__all__ = ["connect", "migrate", "require_schema", "import_folder", "export_folder", "read_story",
           "DEFAULT_URL", "ENV_VAR", "mask_url", "parse_url", "resolve_url"]
