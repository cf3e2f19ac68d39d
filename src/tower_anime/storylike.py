"""What the lower floors read of a checked story (story.load.Story), as a Protocol: the
database rows, the ComfyUI checks and the storyboard's glyph check take a story without
importing the story floor that sits above them."""

from __future__ import annotations

from typing import Any, Protocol


class StoryLike(Protocol):
    """A checked story: characters and episodes by id, and the file each episode came from."""

    @property
    def characters(self) -> dict[str, dict[str, Any]]: ...

    @property
    def episodes(self) -> dict[str, dict[str, Any]]: ...

    @property
    def files(self) -> dict[str, str]: ...
