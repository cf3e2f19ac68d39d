"""Tower: a declarative anime production pipeline (story -> stills -> clips -> audio -> episode)."""

__version__ = "0.1.0"
