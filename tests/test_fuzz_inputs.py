"""Property test: any mutation of the story or the config either plans or is refused with
InvalidInput whose every problem names a file and a field; never any other exception."""

import math
import os
import shutil

import yaml
from conftest import ROOT, load_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tower_anime.check import check_config_file
from tower_anime.errors import InvalidInput

CHARACTERS = load_yaml(ROOT / "config" / "characters.yaml")
EPISODE = load_yaml(ROOT / "tests" / "data" / "episodes" / "test01.yaml")

weird_text = st.lists(
    st.one_of(
        st.text(max_size=6),
        st.sampled_from(["\x00", "\x1b", "\n", "\t", "\u2028", "<i>", "{\\an8}", "{{", " ", "../", "\x85", "a", "1"]),
    ),
    max_size=6,
).map("".join)
weird_number = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e300, -1e300, 0, -1, 1, 0.5]),
    st.floats(allow_nan=True, allow_infinity=True),
)
weird_value = st.one_of(
    weird_text,
    weird_number,
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.lists(weird_text, max_size=2),
    st.dictionaries(weird_text, weird_text, max_size=2),
)


def _paths(node, prefix=()):
    """Every (path) to a value in a document."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


def _mutate(doc, data):
    """A copy of doc with a few fields deleted, replaced by weird values or given extra keys."""
    doc = yaml.safe_load(yaml.safe_dump(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["delete", "replace", "replace", "add"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "replace":
            parent[path[-1]] = data.draw(weird_value)
        elif isinstance(parent, dict):
            parent[data.draw(weird_text)] = data.draw(weird_value)
    return doc


def _dump(doc, data):
    """YAML text; sometimes with a key written twice (YAML would keep the last one)."""
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=data.draw(st.booleans()))
    if data.draw(st.integers(0, 4)) == 0:
        lines = text.splitlines()
        keyed = [i for i, row in enumerate(lines) if ":" in row and not row.lstrip().startswith("-")]
        if keyed:
            i = data.draw(st.sampled_from(keyed))
            lines.insert(i + 1, lines[i])
            text = "\n".join(lines) + "\n"
    return text


def _check(folder, characters_text, episode_text, config_doc, data):
    (folder / "episodes").mkdir(parents=True, exist_ok=True)
    (folder / "characters.yaml").write_text(characters_text, encoding="utf-8", errors="surrogatepass")
    (folder / "episodes" / "test01.yaml").write_text(episode_text, encoding="utf-8", errors="surrogatepass")
    config_path = folder / "config.yaml"
    (config_path).write_text(_dump(config_doc, data), encoding="utf-8", errors="surrogatepass")
    cwd = os.getcwd()
    os.chdir(folder)  # the project folder: default paths and reference pictures are read from here
    try:
        checked = check_config_file(config_path)
    except InvalidInput as e:
        assert e.problems
        for p in e.problems:
            assert p.file and p.file != "None", p  # a file (relative ones are read from the folder)
            assert "\n" not in str(p), p
            assert str(p).split(": ", 2)[1], p  # a field (or "(top level)")
        return
    finally:
        os.chdir(cwd)
    assert set(checked.plans) == {"test01"}


def _config(folder):
    return {
        "story": {"characters": str(folder / "characters.yaml"), "episodes_dir": str(folder / "episodes")},
        "facts": {"source": "none"},
        "backends": {"voice": "espeak"},
        "output": {"width": 768, "height": 512, "fps": 24},
        "music": {"bed_level_db": -8, "scene_fade": 0.75},
        "voice": {"gap": 0.25, "first_line_at": 0.4},
    }


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(data=st.data())
def test_mutated_story_is_planned_or_refused_by_field(tmp_path, data):
    folder = tmp_path / "story"
    shutil.rmtree(folder, ignore_errors=True)
    which = data.draw(st.sampled_from(["episode", "characters", "both"]))
    episode = _mutate(EPISODE, data) if which != "characters" else EPISODE
    characters = _mutate(CHARACTERS, data) if which != "episode" else CHARACTERS
    _check(folder, _dump(characters, data), _dump(episode, data), _config(folder), data)


@SETTINGS
@given(data=st.data())
def test_mutated_config_is_planned_or_refused_by_field(tmp_path, data):
    folder = tmp_path / "config"
    shutil.rmtree(folder, ignore_errors=True)
    config = _mutate(_config(folder), data)
    _check(folder, yaml.safe_dump(CHARACTERS), yaml.safe_dump(EPISODE), config, data)
