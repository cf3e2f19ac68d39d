"""Error types whose messages a user can act on: what is wrong, where, and how to fix it."""


class TowerError(Exception):
    """Base class: printed once, without a traceback, by the CLI and the scripts."""


class ValidationProblem:
    """One problem in one input file: the file, the path to the field, what is expected."""

    def __init__(self, file, field, message):
        self.file = str(file)
        self.field = field
        self.message = message

    def __str__(self):
        # one line per problem, whatever a value or a file name holds
        text = f"{self.file}: {self.field or '(top level)'}: {self.message}"
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def __repr__(self):
        return f"ValidationProblem({self.file!r}, {self.field!r}, {self.message!r})"


class InvalidInput(TowerError):
    """Raised with every problem found in the story or config, one line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the story/config:\n{lines}")


class MediaError(TowerError):
    """An FFmpeg/FluidSynth/voice step failed; the message carries the tool's own last words."""


class GateFailed(TowerError):
    """A quality gate failed: names the item, metric, value, threshold and report file."""


class DatabaseError(TowerError):
    """The story/facts database is unreachable, too old, or refused a statement.

    Messages name the database by its masked URL (never the password) and say what to run."""


class QueryTimeout(DatabaseError):
    """A statement ran past its time bound and was stopped (the database is left as it was)."""


class ServiceError(TowerError):
    """An HTTP service failed or answered something unusable: names the service, the cause and the fix."""
