"""The review room without a browser: its edits (comments kept, checked like `validate`),
conflicts (a hand edit, two tabs), the database story, token and origin checks, and the
reading of Snakemake's dry run and progress. The browser test is test_review_browser.py."""

import ast
import asyncio
import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from tower_anime.check import check_config_file
from tower_anime.errors import InvalidInput, TowerError
from tower_anime.review.build import Progress, episode_targets, planned
from tower_anime.review.edits import ACTIONS, FIELDS, Conflict, EditError, Editor, next_seed, read_text, version_of

EP = "test01"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project folder with the shipped characters, the test episode and the test config
    (its comments included), the working directory of the review room."""
    (tmp_path / "config" / "episodes").mkdir(parents=True)
    shutil.copy(ROOT / "config" / "characters.yaml", tmp_path / "config" / "characters.yaml")
    shutil.copy(ROOT / "tests" / "data" / "episodes" / f"{EP}.yaml", tmp_path / "config" / "episodes" / f"{EP}.yaml")
    text = (ROOT / "tests" / "data" / "config.yaml").read_text()
    (tmp_path / "config" / "config.yaml").write_text(text.replace("tests/data/episodes", "config/episodes"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def editor():
    return Editor("config/config.yaml", "config/review")


def episode_file():
    return Path("config/episodes") / f"{EP}.yaml"


def write_takes(shot, seeds, ep=EP):
    """A still's takes record (reports/<ep>/stills/<shot>.takes.json) listing takes of `seeds`."""
    takes = Path("reports") / ep / "stills" / f"{shot}.takes.json"
    takes.parent.mkdir(parents=True, exist_ok=True)
    record = {"takes": [{"take": i + 1, "seed": s} for i, s in enumerate(seeds)], "promoted": 1, "seed": seeds[0]}
    takes.write_text(json.dumps(record))


def changed_lines(before, after):
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b) if x != y]


def test_new_take_changes_only_the_seed_line_and_keeps_comments(project):
    ed, before = editor(), episode_file().read_text()
    checked = check_config_file("config/config.yaml")
    proposal = ed.propose(checked, {"action": "new_take", "episode": EP, "shot": "s2"})
    assert proposal.summary == "s2: new take, seed 12 -> 13"
    assert "-        seed: 12\n+        seed: 13\n" in proposal.diff
    assert episode_file().read_text() == before  # a proposal writes nothing
    ed.save(checked, {"action": "new_take", "episode": EP, "shot": "s2"}, version_of(before))
    after = episode_file().read_text()
    assert changed_lines(before, after) == [("        seed: 12", "        seed: 13")]
    assert after.startswith("# The small test episode")


def test_next_seed_follows_the_take_on_screen(project):
    assert next_seed(11, None) == 12
    assert next_seed(11, 12) == 13  # a retake promoted seed 12: asking for 12 would show it again
    takes = Path("reports") / EP / "stills" / "s1.takes.json"
    takes.parent.mkdir(parents=True)
    takes.write_text('{"takes": [{"take": 1, "seed": 11}, {"take": 2, "seed": 12}], "promoted": 2, "seed": 12}')
    checked = check_config_file("config/config.yaml")
    proposal = editor().propose(checked, {"action": "new_take", "episode": EP, "shot": "s1"})
    assert proposal.summary == "s1: new take, seed 11 -> 13"


def test_pin_take_is_limited_to_the_seeds_of_the_shots_takes(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    req = {"action": "pin_take", "episode": EP, "shot": "s1", "seed": 999999}
    with pytest.raises(EditError, match=r"no takes recorded yet .*build the shot first"):
        ed.propose(checked, req)  # before a build: no takes record
    write_takes("s1", [11, 12])
    before = episode_file().read_text()
    with pytest.raises(EditError, match=r"no take of seed 999999: .*holds seeds 11, 12"):
        ed.propose(checked, req)
    with pytest.raises(EditError, match=r"holds seeds 11, 12"):
        ed.save(checked, req, version_of(before))
    assert episode_file().read_text() == before
    p = ed.save(checked, {**req, "seed": 12}, version_of(before))
    assert p.summary == "s1: pin the take of seed 12 (was 11)"
    assert changed_lines(before, p.after) == [("        seed: 11", "        seed: 12")]


def test_line_and_action_edits_keep_quoting(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    before = episode_file().read_text()
    p = ed.save(
        checked, {"action": "line", "episode": EP, "shot": "s1", "line": "s1_l1", "text": "Go now!"}, version_of(before)
    )
    assert changed_lines(before, p.after) == [('            text: "Go!"', '            text: "Go now!"')]
    p2 = ed.save(
        check_config_file("config/config.yaml"),
        {"action": "action", "episode": EP, "shot": "s3", "text": "Viktor smiles, then frowns."},
        version_of(p.after),
    )
    assert changed_lines(p.after, p2.after) == [
        ("        action: Viktor smiles.", "        action: Viktor smiles, then frowns.")
    ]


def test_bad_input_gets_the_validate_message_naming_the_real_file(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    with pytest.raises(InvalidInput) as e:
        ed.propose(checked, {"action": "line", "episode": EP, "shot": "s1", "line": "s1_l1", "text": "Go <i>now</i>"})
    [problem] = e.value.problems
    assert str(problem).startswith(f"config/episodes/{EP}.yaml: scenes[0].shots[0].dialogue[0].text: holds '<i>'")
    write_takes("s1", [11, 2**33])  # a take of a seed the schema refuses: the schema's message
    with pytest.raises(InvalidInput) as e:
        ed.propose(checked, {"action": "pin_take", "episode": EP, "shot": "s1", "seed": 2**33})
    assert "scenes[0].shots[0].seed" in str(e.value) and "4294967295" in str(e.value)
    with pytest.raises(EditError, match="no shot 'nope'"):
        ed.propose(checked, {"action": "new_take", "episode": EP, "shot": "nope"})
    with pytest.raises(EditError, match="no line 's1_l9'"):
        ed.propose(checked, {"action": "line", "episode": EP, "shot": "s1", "line": "s1_l9", "text": "x"})


def test_a_file_changed_by_hand_is_a_conflict_and_is_not_overwritten(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    shown = ed.remember(episode_file().read_text())  # what the page was given
    hand = episode_file().read_text().replace("Luna calls from the lab.", "Luna calls from the roof.")
    episode_file().write_text(hand)
    with pytest.raises(Conflict) as e:
        ed.save(checked, {"action": "new_take", "episode": EP, "shot": "s1"}, shown)
    assert "-        action: Luna calls from the lab.\n+        action: Luna calls from the roof." in e.value.diff
    assert "nothing was saved" in str(e.value)
    assert episode_file().read_text() == hand


def test_two_tabs_the_second_save_is_a_conflict(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    shown = ed.remember(episode_file().read_text())  # both tabs loaded this version
    ed.save(checked, {"action": "new_take", "episode": EP, "shot": "s1"}, shown)
    first = episode_file().read_text()
    with pytest.raises(Conflict) as e:
        ed.save(checked, {"action": "action", "episode": EP, "shot": "s1", "text": "Akira waits."}, shown)
    assert "+        seed: 12" in e.value.diff
    assert episode_file().read_text() == first


def test_waiver_goes_into_the_config_file_checked_by_its_schema(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    before = read_text("config/config.yaml")
    req = {
        "action": "waive",
        "episode": EP,
        "kind": "still",
        "item": f"{EP}/s1",
        "check": "sharpness",
        "reason": "short",
    }
    with pytest.raises(InvalidInput, match=r"config/config.yaml: qc.waive\[0\].reason"):
        ed.propose(checked, req)
    p = ed.save(checked, {**req, "reason": "a soft frame is the look of this shot"}, version_of(before))
    assert p.after.startswith(before)  # appended; the comment line and the rest kept
    config = yaml.safe_load(p.after)
    assert config["qc"]["waive"] == [
        {"kind": "still", "item": f"{EP}/s1", "check": "sharpness", "reason": "a soft frame is the look of this shot"}
    ]
    assert check_config_file("config/config.yaml").config["qc"]["waive"][0]["check"] == "sharpness"


def test_marks_go_into_the_notes_file(project):
    ed, checked = editor(), check_config_file("config/config.yaml")
    req = {
        "action": "review",
        "episode": EP,
        "shot": "s2",
        "status": "needs-work",
        "note": "Luna is too small",
        "now": "2026-01-01T00:00:00Z",
    }
    p = ed.save(checked, req, version_of(""))
    assert p.after.startswith("# Review notes of episode test01")
    assert ed.read_notes(EP) == {
        "s2": {"status": "needs-work", "note": "Luna is too small", "updated": "2026-01-01T00:00:00Z"}
    }
    p2 = ed.save(checked, {**req, "shot": "s1", "status": "approved", "note": ""}, version_of(p.after))
    assert p2.after.startswith(p.after.rstrip("\n"))  # s2's mark kept as it was
    assert episode_file().read_text() == (ROOT / "tests" / "data" / "episodes" / f"{EP}.yaml").read_text()
    with pytest.raises(EditError, match="approved"):
        ed.propose(checked, {**req, "status": "great"})


def test_a_database_story_is_edited_in_a_transaction(project):
    from tower_anime.store import connect
    from tower_anime.story.database import import_folder, read_documents

    url = f"sqlite:///{project / 'tower.db'}"
    with connect(url, create=True) as db:
        import_folder(db, project / "config")
    cfg = Path("config/config.yaml")
    text = cfg.read_text().replace("story:\n", f"story:\n  source: database\n  database_url: {url}\n", 1)
    cfg.write_text(text)
    ed, checked = editor(), check_config_file(cfg)
    assert checked.config["story"]["source"] == "database"
    shown = ed.remember(ed.database_text(checked, EP))
    p = ed.propose(checked, {"action": "new_take", "episode": EP, "shot": "s3"})
    assert "-    seed: 13\n+    seed: 14" in p.diff and p.version == shown
    ed.save(checked, {"action": "new_take", "episode": EP, "shot": "s3"}, shown)
    with connect(url) as db:
        _, episodes = read_documents(db)
    assert [s["seed"] for sc in episodes[EP]["scenes"] for s in sc["shots"]] == [11, 12, 14]
    with pytest.raises(Conflict):  # the page's version is gone: another writer (here: us) came first
        ed.save(checked, {"action": "new_take", "episode": EP, "shot": "s3"}, shown)
    with pytest.raises(InvalidInput, match=r"\(episode test01\): scenes\[1\].shots\[0\].action"):
        ed.propose(check_config_file(cfg), {"action": "action", "episode": EP, "shot": "s3", "text": "  "})


# --- Snakemake's output -------------------------------------------------------------------------

RUN = """Job stats:
job      count
-----  -------
still        1
total        3

Select jobs to execute...
[Sun Nov 29 22:24:16 2026]
localrule still:
    input: src/tower_anime/stills/storyboard.py
    output: stills/test01/s1.png, reports/test01/stills/s1.takes.json
    log: logs/test01/stills/s1.log
    jobid: 10
    resources: tmpdir=/tmp, gpu=1

[Sun Nov 29 22:24:16 2026]
rule clip:
    output: clips/test01/s2.mp4, reports/test01/clips/s2.takes.json
    log: logs/test01/clips/s2.log
    jobid: 7

[Sun Nov 29 22:24:18 2026]
Finished jobid: 10 (Rule: still)
1 of 3 steps (33%) done
[Sun Nov 29 22:24:19 2026]
Error in rule clip:
    message: None
    jobid: 7
    output: clips/test01/s2.mp4, reports/test01/clips/s2.takes.json
    log: logs/test01/clips/s2.log (check log file(s) for error details)
Exiting because a job execution failed. Look below for error messages
"""


def test_progress_reads_counts_running_jobs_and_failures_with_their_log(tmp_path):
    log = tmp_path / "logs" / "test01" / "clips" / "s2.log"
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(30)) + "ERROR: out of memory\n")
    progress = Progress(tmp_path)
    states = []
    for line in RUN.splitlines(keepends=True):
        progress.feed(line)
        states.append((progress.done, progress.total, sorted(progress.running)))
    progress.close()
    assert (0, 3, [7, 10]) in states and (1, 3, [7]) in states
    state = progress.as_json()
    assert state["running"] == [] and [j["rule"] for j in progress.finished] == ["still"]
    [failure] = state["failures"]
    assert failure["rule"] == "clip" and failure["log"] == "logs/test01/clips/s2.log"
    assert failure["tail"][-1] == "ERROR: out of memory" and len(failure["tail"]) == 20


def test_tower_notes_are_notes_and_tower_refusals_are_errors(tmp_path):
    note = "Tower: note: test01: shot s1 needs ~3.12 s for its dialogue; grown to 3.12 s"
    refusal = "Tower: config/episodes/test01.yaml: scenes[0].shots[0].seed: must be at most 4294967295"
    progress = Progress(tmp_path)
    for line in [note, "Tower: ComfyUI preflight OK for 2 job(s) on http://127.0.0.1:8188 (x)", note, refusal]:
        progress.feed(line + "\n")
    progress.close()
    state = progress.as_json()
    assert state["notes"] == [note, "Tower: ComfyUI preflight OK for 2 job(s) on http://127.0.0.1:8188 (x)"]
    assert state["errors"] == [refusal] and state["failures"] == []


def test_dry_run_jobs_come_from_the_estimate_parser():
    head = RUN.split("[Sun Nov 29 22:24:18 2026]")[0]
    text = head + "\nlocalrule all:\n    input: episodes/test01.mkv\n    jobid: 0\n"
    assert planned(text) == [
        {"jobid": 10, "rule": "still", "output": "stills/test01/s1.png"},
        {"jobid": 7, "rule": "clip", "output": "clips/test01/s2.mp4"},
    ]
    assert "build/test01/preview.webm" in episode_targets("test01")


# --- the server: token, host and origin -----------------------------------------------------------


def test_a_non_loopback_address_needs_a_token():
    from tower_anime.review.server import require_token

    require_token("127.0.0.1", None)
    require_token("::1", None)
    with pytest.raises(TowerError, match="TOWER_REVIEW_TOKEN"):
        require_token("0.0.0.0", None)
    require_token("0.0.0.0", "s3cret-token")


def test_token_cookie_host_and_origin(project):
    from aiohttp.test_utils import TestClient, TestServer

    from tower_anime.review.server import Review, make_app

    async def scenario():
        review = Review(project, "config/config.yaml", [])
        app = make_app(review, token="s3cret-token", host="0.0.0.0")
        async with TestClient(TestServer(app)) as client:
            assert (await client.get(f"/ep/{EP}")).status == 401
            assert (await client.get(f"/ep/{EP}", headers={"Authorization": "Bearer wrong"})).status == 401
            r = await client.get(f"/ep/{EP}", headers={"Authorization": "Bearer s3cret-token"})
            assert r.status == 200 and "Test Episode" in await r.text()
            r = await client.get(f"/ep/{EP}?token=s3cret-token", allow_redirects=False)
            assert r.status == 302 and r.headers["Location"] == f"/ep/{EP}"
            assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Strict" in r.headers["Set-Cookie"]
            client.session.cookie_jar.update_cookies({"tower_review": "s3cret-token"})
            assert (await client.get(f"/ep/{EP}")).status == 200
            r = await client.post("/api/edit/preview", data="action=new_take")  # a plain form post
            assert r.status == 415
            r = await client.post(
                "/api/edit/preview",
                json={"action": "new_take", "episode": EP, "shot": "s1"},
                headers={"Origin": "http://elsewhere.example"},
            )
            assert r.status == 403
            r = await client.post("/api/edit/preview", json={"action": "new_take", "episode": EP, "shot": "s1"})
            assert r.status == 200 and (await r.json())["summary"] == "s1: new take, seed 11 -> 12"
            assert (await client.get("/files/config/config.yaml")).status == 404  # only build outputs
            assert (await client.get("/files/stills/../config/config.yaml")).status == 404
        loopback = make_app(review, token=None, host="127.0.0.1")
        async with TestClient(TestServer(loopback, host="127.0.0.1")) as client:
            assert (await client.get(f"/ep/{EP}")).status == 200
            r = await client.get(f"/ep/{EP}", headers={"Host": "rebound.example:8700"})
            assert r.status == 403  # a DNS name pointed at 127.0.0.1 by another site

    asyncio.run(scenario())


def test_the_workflow_never_imports_the_web_stack():
    """rules/, scripts/ and every module outside review/ import neither aiohttp nor the review room."""
    offenders = []
    files = list((ROOT / "scripts").glob("*.py")) + [
        p
        for p in (ROOT / "src" / "tower_anime").rglob("*.py")
        if "review" not in p.relative_to(ROOT / "src").parts and p.name != "cli.py"
    ]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "aiohttp" or ".review" in f".{n}" or n == "review" for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    for smk in list((ROOT / "rules").glob("*.smk")) + [ROOT / "Snakefile"]:
        if "aiohttp" in smk.read_text() or "tower_anime.review" in smk.read_text():
            offenders.append(str(smk.relative_to(ROOT)))
    assert offenders == []


# a request of each action that the room accepts, with every field the action reads
GOOD = {
    "new_take": {"episode": EP, "shot": "s1"},
    "pin_take": {"episode": EP, "shot": "s1", "seed": 12},
    "action": {"episode": EP, "shot": "s1", "text": "Akira waits."},
    "line": {"episode": EP, "shot": "s1", "line": "s1_l1", "text": "Go now!"},
    "waive": {
        "episode": EP,
        "kind": "still",
        "item": f"{EP}/s1",
        "check": "sharpness",
        "reason": "a soft frame is the look of this shot",
    },
    "review": {"episode": EP, "shot": "s1", "status": "approved", "note": "fine", "now": "2026-01-01T00:00:00Z"},
}
WRONG = {str: [123, 1.5, True, ["a"], {"a": 1}], int: ["12", 12.5, True, [12], {"seed": 12}]}


def test_a_wrong_json_type_in_any_field_of_any_action_is_a_400_naming_the_field(project):
    from aiohttp.test_utils import TestClient, TestServer

    from tower_anime.review.server import Review, make_app

    assert set(GOOD) == set(ACTIONS) and all(set(GOOD[a]) == set(FIELDS[a]) for a in ACTIONS)
    write_takes("s1", [11, 12])

    async def refused(client, url, body, field):
        r = await client.post(url, json=body)
        text = await r.text()
        assert r.status == 400, (body, r.status, text)
        assert f"'{field}'" in (await r.json())["message"], (body, text)

    async def scenario():
        review = Review(project, "config/config.yaml", [])
        async with TestClient(TestServer(make_app(review), host="127.0.0.1")) as client:
            for action, good in GOOD.items():
                req = {"action": action, **good}
                r = await client.post("/api/edit/preview", json=req)
                assert r.status == 200, (req, await r.text())
                for field, kind in FIELDS[action].items():
                    for wrong in WRONG[kind]:
                        await refused(client, "/api/edit/preview", {**req, field: wrong}, field)
                    await refused(client, "/api/edit/save", {**req, field: WRONG[kind][0], "version": "0"}, field)
                for wrong in WRONG[str]:
                    await refused(client, "/api/edit/preview", {**req, "action": wrong}, "action")
                    await refused(client, "/api/edit/save", {**req, "version": wrong}, "version")
            for url in ("/api/build/plan", "/api/build/start"):
                for wrong in WRONG[str]:
                    await refused(client, url, {"episode": wrong}, "episode")
            assert not review.builder.running
        assert not Path("config/review").exists()  # nothing was saved

    asyncio.run(scenario())


def test_the_page_shows_story_text_as_text_not_markup(project):
    # its templates are *.html.j2: escaping must not hang on the file name's last suffix
    from aiohttp.test_utils import TestClient, TestServer

    from tower_anime.review.server import Review, make_app

    path = episode_file()
    path.write_text(
        path.read_text().replace('title: "Test Episode"', 'title: "Nexus <img src=x onerror=alert(1)> & Co"')
    )
    assert "onerror" in path.read_text()

    async def scenario():
        review = Review(project, "config/config.yaml", [])
        async with TestClient(TestServer(make_app(review, token=None, host="127.0.0.1"))) as client:
            page = await (await client.get(f"/ep/{EP}")).text()
            assert "<img src=x onerror" not in page
            assert "Nexus &lt;img src=x onerror=alert(1)&gt; &amp; Co" in page
            assert "data-versions='{" in page  # the files' versions, for the page's script

    asyncio.run(scenario())
