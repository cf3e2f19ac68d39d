"""One still or clip job on a ComfyUI server: lease a server, (upload the still,) submit the
graph, follow it, fetch the result from history, check it, move it into place.

Caching truth: ComfyUI runs nothing for a graph it has just run, and its history then points
at the file it wrote before. Results are therefore always read from the history entry of
*our* prompt_id (a fresh uuid per submission), never picked from a folder by name or time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from .. import verify_output
from ..fsutil import atomic_path
from .client import ComfyUIClient, history_error, output_files, server_version
from .errors import ComfyUIError, JobCancelled, JobTimeout, OutputGone, Transient, Unreachable, start_hint
from .graph import render_template, save_node
from .outputs import check_still, check_video, pick, trim_video
from .preflight import check_job, describe
from .servers import last_model, lease, note_model
from .spec import filename_prefix, template_variables

# The longest wait between two tries while a server is down: a ComfyUI restart took 8-10 s
# on CPU (longer with custom nodes to import), so a job notices it is back within 10 s.
MAX_DOWN_WAIT = 10.0


class _Cancelled(BaseException):
    """Raised from the SIGINT/SIGTERM handler; a BaseException so no library swallows it."""


@contextlib.contextmanager
def _signals_cancel():
    def handler(signum, frame):
        raise _Cancelled(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


class ComfyJob:
    """The state of one job across its attempts (retries may land on another server)."""

    def __init__(self, stage, spec, template, settings, log):
        self.stage, self.spec, self.template, self.settings, self.log = stage, spec, str(template), settings, log
        still = spec if stage == "still" else spec["still"]
        self.what = f"{stage} {still['episode']}/{still['shot']}"
        self.width, self.height = still["width"], still["height"]
        t = settings["timeouts"]
        self.timeouts = (t["connect"], t["request"])
        self.client_id = uuid.uuid4().hex  # one per job: a reconnected socket gets our events again
        self.submitted = {}  # server url -> prompt id: after a dropped connection, resume it
        self.checked = set()  # servers this job has checked (comfyui.preflight: per-job)
        self.active = None  # (client, prompt id) while a prompt of ours may be on a card
        self.version = None  # the leased server's ComfyUI version, from /system_stats
        self.url = None  # the server this job last tried
        c = spec["comfyui"]
        # what the card must hold for this job: a change is when comfyui.free_between_models frees it
        self.model = " + ".join(filter(None, (c.get("checkpoint"), c.get("text_encoder"))))

    def say(self, text: str) -> None:
        print(f"comfyui: {self.what}: {text}", file=self.log, flush=True)

    def _health(self, url):
        return ComfyUIClient(url, *self.timeouts, client_id=self.client_id).system_stats()

    def run(self, out_path: Path | str, still_path: Path | str | None = None) -> None:
        s = self.settings
        failures = 0  # faults other than a server being down: at most comfyui.retries
        down_since, down_tries = None, 0
        try:
            with _signals_cancel():
                while True:
                    try:
                        with lease(
                            s["servers"], s["lock_dir"], self._health, self.log, self.what, s["timeouts"]["lease"]
                        ) as (url, stats):
                            self.url, self.version = url, server_version(stats)
                            self.say(f"using {url} ({describe(stats)})")
                            self._check(url)
                            return self._on_server(url, out_path, still_path)
                    except (Transient, Unreachable) as e:
                        if isinstance(e, Unreachable) or e.down:
                            # a server restarting: wait for it, up to comfyui.restart_budget_s
                            now = time.monotonic()
                            down_since = down_since or now
                            waited, budget = now - down_since, s["restart_budget_s"]
                            if waited >= budget:
                                raise self._gave_up(e, waited) from None
                            delay = min(s["backoff"] * 2**down_tries, MAX_DOWN_WAIT, budget - waited)
                            down_tries += 1
                            print(
                                f"WARNING: comfyui: {self.what}: {e}; waiting for the server to come back: "
                                f"retry in {delay:.1f} s ({waited:.0f} s of comfyui.restart_budget_s = {budget:g} s "
                                "used)",
                                file=self.log,
                                flush=True,
                            )
                        else:
                            failures += 1
                            if failures > s["retries"]:
                                raise ComfyUIError(f"{self.what}: gave up after {failures} attempt(s): {e}") from None
                            delay = s["backoff"] * 2 ** (failures - 1)
                            print(
                                f"WARNING: comfyui: {self.what}: {e}; retry {failures}/{s['retries']} in {delay:.1f} s",
                                file=self.log,
                                flush=True,
                            )
                        time.sleep(delay)
        except _Cancelled as c:
            raise JobCancelled(f"{self.what}: stopped by {c}; {self._interrupt()}") from None

    def _gave_up(self, e, waited):
        """One line: the server (its URL, port included) that did not come back, and how to start it."""
        url = e.url if isinstance(e, Unreachable) else self.url
        text = f"{self.what}: gave up after {waited:.0f} s (comfyui.restart_budget_s) waiting for ComfyUI at {url}: {e}"
        if not isinstance(e, Unreachable):
            text += f"; {start_hint(url)}"
        return ComfyUIError(text)

    def _check(self, url):
        """comfyui.preflight: per-job: what the onstart check does, against this job's server,
        before anything is uploaded or submitted (MissingOnServer is not retried)."""
        if self.settings["preflight"] != "per-job" or url in self.checked:
            return
        check_job(self.stage, self.spec, self.template, self.what, ComfyUIClient(url, *self.timeouts))
        self.checked.add(url)
        self.say(f"preflight OK on {url}")

    def _interrupt(self):
        """Stop our prompt on the server; say what was asked at once and what came of it."""
        if not self.active:
            return "no prompt was on the server"
        client, prompt_id = self.active
        try:
            sent = client.interrupt(prompt_id)
        except ComfyUIError as e:
            return f"could not interrupt prompt {prompt_id} on {client.url} ({e}); cancel it in the ComfyUI queue"
        if not sent:
            version = ".".join(map(str, self.version)) if self.version else "of unknown version"
            return (
                f"removed prompt {prompt_id} from the queue of {client.url}; not interrupted: ComfyUI {version} "
                "stops whatever runs on /interrupt, another client's prompt included (0.3.56 and later stop "
                "one prompt), so a prompt of ours that already runs goes on to its end; cancel it in ComfyUI"
            )
        wait = self.settings["timeouts"]["interrupt"]
        self.say(
            f"interrupt requested for prompt {prompt_id} on {client.url}; it takes effect at the next "
            f"sampler step or node boundary (waiting up to {wait:g} s)"
        )
        try:
            stopped = client.wait_stopped(prompt_id, wait)
        except ComfyUIError as e:
            return f"interrupt of prompt {prompt_id} requested on {client.url}; could not see it stop ({e})"
        if stopped:
            return f"interrupted prompt {prompt_id} on {client.url}: it has stopped, so the card is free"
        return (
            f"interrupt of prompt {prompt_id} requested on {client.url}, but it still ran {wait:g} s later "
            "(a node between sampler steps, such as a text encoder, finishes first); it stops at the next "
            "step or node boundary"
        )

    def _free_if_model_changes(self, client, url):
        """comfyui.free_between_models: POST /free when this server's last Tower job loaded
        another model (one model on a 12 GB card at a time: LTX with T5-XXL nearly fills it)."""
        if not self.settings["free_between_models"]:
            return
        before = last_model(self.settings["lock_dir"], url)
        if before is not None and before != self.model:
            try:
                client.free()
                self.say(f"freed the card on {url} (POST /free): the model changes from {before} to {self.model}")
            except ComfyUIError as e:
                print(
                    f"WARNING: comfyui: {self.what}: could not free the card on {url} ({e}); going on",
                    file=self.log,
                    flush=True,
                )
        note_model(self.settings["lock_dir"], url, self.model)

    def _graph(self, image, prefix):
        graph = render_template(self.template, template_variables(self.stage, self.spec, prefix, image))
        return graph, save_node(graph, prefix, self.template)

    def _on_server(self, url, out_path, still_path):
        client = ComfyUIClient(url, *self.timeouts, client_id=self.client_id, version=self.version)
        ws = client.connect()  # before submitting: no event of our prompt may be missed
        try:
            image = None
            if still_path is not None:
                still = self.spec["still"]
                image = client.upload_image(still_path, name=f"tower_{still['episode']}_{still['shot']}.png")
                self.say(f"uploaded the still as {image!r}")
            prefix = filename_prefix(self.stage, self.spec)
            graph, node = self._graph(image, prefix)
            deadline = time.monotonic() + self.settings["timeouts"]["job"]
            prompt_id, entry = self._resume(client, url)
            for second_try in (False, True):
                if prompt_id is None:
                    self._free_if_model_changes(client, url)
                    chosen = uuid.uuid4().hex
                    self.submitted[url] = chosen  # to look it up again if the answer is lost
                    self.active = (client, chosen)
                    # the id in the server's answer is the one it runs under (before 0.3.44 the
                    # server ignores the one we send)
                    prompt_id, number = client.submit(graph, chosen, self.template)
                    self.submitted[url] = prompt_id
                    self.active = (client, prompt_id)
                    self.say(
                        f"queued as prompt {prompt_id} (#{number})"
                        + ("" if prompt_id == chosen else "; the server chose the id (ComfyUI before 0.3.44)")
                    )
                    client.waiting = None  # a new prompt: its queue position is logged afresh
                    client.log_position(client.queue(), prompt_id, self.log, self.what)
                if entry is None:
                    self.active = (client, prompt_id)
                    entry = self._follow(client, ws, prompt_id, graph, deadline)
                self.active = None
                error = history_error(entry, url, self.what)
                if error:
                    raise error
                try:
                    return self._fetch(client, entry, node, out_path)
                except OutputGone as e:
                    if second_try:
                        raise
                    # the server reused a cached result whose file was deleted: a new prefix
                    # makes only the save node run again (everything upstream stays cached)
                    self.say(f"{e}; asking for the file again under a new name")
                    graph, node = self._graph(image, f"{prefix}_{uuid.uuid4().hex[:8]}")
                    prompt_id, entry = None, None
        finally:
            ws.close()

    def _resume(self, client, url):
        """(prompt id, finished entry or None) of a prompt an earlier attempt left on this server."""
        prompt_id = self.submitted.get(url)
        if prompt_id is None:
            return None, None
        try:
            entry = client.check_prompt(prompt_id)
        except Transient:
            self.say(f"prompt {prompt_id} is gone from {url}; submitting again")
            return None, None
        self.say(f"resuming prompt {prompt_id} on {url}")
        return prompt_id, entry

    def _follow(self, client, ws, prompt_id, graph, deadline):
        try:
            return client.follow(ws, prompt_id, graph, deadline, self.log, self.what)
        except JobTimeout:
            self.say(self._interrupt())
            raise

    def _fetch(self, client, entry, node, out_path):
        item = pick(output_files(entry, node), self.stage, self.what)
        self.say(f"fetching {item.get('subfolder', '')}/{item['filename']}")
        complete = (
            verify_output.image
            if self.stage == "still"
            else lambda p: verify_output.video(p, frames=self.spec["frames"])
        )
        with atomic_path(out_path, check=complete) as tmp:
            if self.stage == "still":
                client.download(item, tmp)
                check_still(tmp, self.width, self.height, self.what)
            else:
                self._fetch_clip(client, item, tmp)
        self.say(f"done: {out_path}")

    def _fetch_clip(self, client, item, tmp):
        c = self.spec["comfyui"]
        raw = tmp.with_name(tmp.name.replace(".tmp", ".raw.tmp"))
        try:
            client.download(item, raw)
            check_video(raw, c["length"], self.width, self.height, self.spec["fps"], self.what)
            if c["length"] == self.spec["frames"]:
                os.replace(raw, tmp)
            else:
                self.say(f"trimming {c['length']} frames to the shot's {self.spec['frames']}")
                trim_video(raw, tmp, self.spec["frames"], self.spec["fps"], self.log)
                check_video(tmp, self.spec["frames"], self.width, self.height, self.spec["fps"], self.what)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(raw)


def render_still(
    spec: dict[str, Any], out_path: Path | str, log: TextIO, template: Path | str, config: dict[str, Any]
) -> None:
    ComfyJob("still", spec, template, config["comfyui"], log).run(out_path)


def render_clip(
    spec: dict[str, Any],
    still_path: Path | str,
    out_path: Path | str,
    log: TextIO,
    template: Path | str,
    config: dict[str, Any],
) -> None:
    ComfyJob("clip", spec, template, config["comfyui"], log).run(out_path, still_path=still_path)
