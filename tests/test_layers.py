"""The package's floors: a module imports only from its own floor or the floors below it.

From the bottom: the shared tools (errors, files, FFmpeg, schemas, config), the database, the
facts, the stages (stills, clips, audio, episode, QC, ComfyUI, prompts, backends), the story
(which plans the stages' specs) and the config check, and the commands on top. An import up a floor would make a
lower piece depend on a higher one's choices (the database on how stories are checked)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tower_anime"
FLOORS = {
    0: {
        "errors",
        "fsutil",
        "media",
        "joblog",
        "scripting",
        "schema",
        "plugins",
        "verify_output",
        "lang",
        "storylike",
        "codestamp",
        "snakemake_patches",
        "yamledit",
    },
    1: {"store"},
    2: {"facts"},
    3: {"stills", "clips", "audio", "episode", "qc", "comfyui", "prompts", "backends"},
    4: {"story", "config"},  # config checks backend names against the stages' registries
    5: {"check", "estimate", "series", "editor", "review", "cli", "__init__", "__main__", "knowledge_base", "services"},
}
FLOOR = {name: n for n, names in FLOORS.items() for name in names}


def top_name(module: Path) -> str:
    rel = module.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def imported(module: Path):
    """(line, top-level package name) of each tower_anime module this one imports."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    depth = len(module.relative_to(PACKAGE).parts) - 1  # folders below the package
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: climb to the package, then the first name is a top-level one
                up = node.level - 1
                if up < depth:
                    continue  # inside its own folder
                target = (node.module or "").split(".")[0] or (node.names[0].name if node.names else "")
            elif (node.module or "").startswith("tower_anime."):
                target = node.module.split(".")[1]
            else:
                continue
            yield node.lineno, target


def test_no_module_imports_from_a_higher_floor():
    unknown, upward = [], []
    for module in sorted(PACKAGE.rglob("*.py")):
        here = top_name(module)
        if here not in FLOOR:
            unknown.append(str(module.relative_to(PACKAGE)))
            continue
        for line, target in imported(module):
            if target in FLOOR and FLOOR[target] > FLOOR[here]:
                upward.append(
                    f"{module.relative_to(PACKAGE)}:{line} imports {target} (floor {FLOOR[target]} > {FLOOR[here]})"
                )
    assert unknown == [], "give these modules a floor in FLOORS"
    assert upward == []
