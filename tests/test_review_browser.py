"""The review room in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is downloaded) on `tower-anime review` serving a fork of the built test
episode. It plays a clip, asks for a new take of one shot, sees the diff, saves, sees that the
dry run renders only that shot, rebuilds, and sees the shot's still and clip change.

Set TOWER_REVIEW_SCREENSHOTS=<folder> to keep the page's screenshots there (docs/ holds the
README's)."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import fork_project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
]

pytestmark = [pytest.mark.browser, pytest.mark.workflow]


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        pytest.skip("Chromium is not installed (bash setup.sh installs Debian's chromium package)")
    return sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(built, tmp_path):
    """`tower-anime review` on a fork of the built test episode; yields (base URL, project folder)."""
    work = fork_project(built, tmp_path)
    port = free_port()
    log = open(tmp_path / "review.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tower_anime.cli", "--config", "tests/data/config.yaml", "review", "--port", str(port)],
        cwd=work,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/api/build/state", timeout=2)
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError((tmp_path / "review.log").read_text()) from None
                time.sleep(0.2)
        yield url, work
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_new_take_from_the_page_rebuilds_only_that_shot(server, tmp_path):
    from playwright.sync_api import expect

    sync_playwright = _playwright()
    url, work = server
    shots = Path(os.environ.get("TOWER_REVIEW_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            page = browser.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/ep/test01")
            expect(page.locator("#shot-s1 img.still")).to_be_visible()

            # a clip plays in the page (H.264 MP4: Debian's Chromium has the codecs)
            clip = page.locator("#shot-s1 video.clip")
            clip.evaluate("v => v.play()")
            page.wait_for_function(
                "() => document.querySelector('#shot-s1 video.clip').currentTime > 0.2", timeout=20000
            )
            assert clip.evaluate("v => v.readyState") >= 2

            still_before = page.locator("#shot-s1 img.still").get_attribute("src")
            clip_before = clip.get_attribute("src")
            s2_before = page.locator("#shot-s2 img.still").get_attribute("src")

            # a new take: the diff first, then the save
            page.locator("#shot-s1 button[data-action=new_take]").click()
            expect(page.locator("#edit-diff")).to_contain_text("+        seed: 12")
            expect(page.locator("#edit-diff")).to_contain_text("-        seed: 11")
            page.screenshot(path=str(shots / "review-diff.png"))
            page.locator("#edit-save").click()
            expect(page.locator("#toast")).to_contain_text("saved: s1: new take, seed 11 -> 12")
            assert "seed: 12" in (work / "tests" / "data" / "episodes" / "test01.yaml").read_text()
            assert "# The small test episode" in (work / "tests" / "data" / "episodes" / "test01.yaml").read_text()

            # the dry run: only s1 is rendered again (and the episode after it)
            page.locator("#rebuild").click()
            expect(page.locator("#build-run")).to_be_visible(timeout=60000)
            jobs = page.locator("#plan-jobs li").all_inner_texts()
            renders = sorted(j for j in jobs if j.split(":")[0] in ("still", "clip", "voice", "music", "mix"))
            assert renders == ["clip: clips/test01/s1.mp4", "still: stills/test01/s1.png"], jobs

            # the build, followed on the page until it is done
            page.locator("#build-run").click()
            expect(page.locator("#build-status")).to_have_text("done", timeout=240000)
            expect(page.locator("#build-count")).to_have_text(f"{len(jobs)} of {len(jobs)} jobs")
            expect(page.locator("#shot-s1")).to_have_class(re.compile(r"\bchanged\b"))
            assert page.locator("#shot-s1 img.still").get_attribute("src") != still_before
            assert page.locator("#shot-s1 video.clip").get_attribute("src") != clip_before
            assert page.locator("#shot-s2 img.still").get_attribute("src") == s2_before
            expect(page.locator("#shot-s1 .seed")).to_have_text("12")

            # the episode's browser preview, made by the rebuild, plays with its chapters and subtitles
            video = page.locator("#episode-video")
            expect(video).to_be_visible()
            assert video.evaluate("v => Array.from(v.textTracks).map(t => t.kind)") == ["subtitles", "chapters"]
            page.locator("button.chapter").nth(1).click()
            page.wait_for_function("() => document.querySelector('#episode-video').currentTime > 4.1", timeout=20000)
            page.evaluate("document.querySelector('#episode-video').pause()")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / "review-room.png"))
            assert errors == []
        finally:
            browser.close()
