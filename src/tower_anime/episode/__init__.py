"""Episode stage: dialogue placement, subtitles, chapters and the final assembly."""
