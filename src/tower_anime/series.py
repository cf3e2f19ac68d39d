"""`tower-anime init <folder>`: a user's own series, outside Tower, using Tower's workflow.

The new folder holds only what belongs to the series: its config, character sheet, episodes,
prompt and ComfyUI templates, and a Snakefile that uses Tower's workflow as a Snakemake
`module` (the convention of the snakemake-workflows catalog). Tower is updated without
touching the series, and the series is versioned without Tower's code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import TowerError

FILES = Path(__file__).resolve().parent / "init_files"


def workflow_root() -> Path:
    """The folder holding Tower's Snakefile, rules/ and scripts/ (the checkout the package
    runs from: the workflow's files are not Python package data)."""
    root = Path(__file__).resolve().parents[2]
    if (root / "Snakefile").is_file() and (root / "rules" / "common.smk").is_file():
        return root
    raise TowerError(
        f"Tower's workflow (Snakefile, rules/, scripts/) is not beside the package at {root}; "
        "install Tower from its checkout with `pip install -e .` (README: Quick start)"
    )


def init_series(folder: str | Path, title: str | None = None) -> list[Path]:
    """Create a series in `folder` (new or empty); returns the files written."""
    dest = Path(folder)
    if dest.exists() and any(dest.iterdir()):
        raise TowerError(f"{dest} is not empty; give a new folder (nothing was written)")
    root = workflow_root()
    title = title or dest.resolve().name
    config = dest / "config"
    written = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    def fill(name: str) -> str:
        # str.replace, not str.format: the templates hold YAML and Snakemake braces
        text = (FILES / name).read_text(encoding="utf-8")
        return text.replace("{title}", title).replace("{snakefile}", (root / "Snakefile").as_posix())

    write(dest / "Snakefile", fill("Snakefile.in"))
    write(config / "config.yaml", fill("config.yaml"))
    write(config / "episodes" / "ep01.yaml", fill("ep01.yaml"))
    write(dest / ".gitignore", fill("gitignore"))
    # the shipped character sheet and templates are the series' own from now on: copies to edit
    write(config / "characters.yaml", (root / "config" / "characters.yaml").read_text(encoding="utf-8"))
    for sub in ("prompts", "workflows"):
        shutil.copytree(root / "config" / sub, config / sub)
        written += sorted((config / sub).iterdir())
    return written
