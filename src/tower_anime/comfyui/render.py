"""One still or clip job on a ComfyUI server: lease a server, (upload the still,) submit the
graph, follow it, fetch the result from history, check it, move it into place.

Caching truth: ComfyUI runs nothing for a graph it has just run, and its history then points
at the file it wrote before. Results are therefore always read from the history entry of
*our* prompt_id (a fresh uuid per submission), never picked from a folder by name or time.
"""
import contextlib
import os
import signal
import threading
import time
import uuid

from .. import verify_output
from ..fsutil import atomic_path
from .client import ComfyUIClient, history_error, output_files
from .errors import ComfyUIError, JobCancelled, JobTimeout, OutputGone, Transient, Unreachable
from .graph import render_template, save_node
from .outputs import check_still, check_video, pick, trim_video
from .preflight import check_job, describe
from .servers import lease
from .spec import filename_prefix, template_variables


class _Cancelled(BaseException):
    """Raised from the SIGINT/SIGTERM handler; a BaseException so no library swallows it."""


@contextlib.contextmanager
def _signals_cancel():
    def handler(signum, frame):
        raise _Cancelled(signal.Signals(signum).name)

    if threading.current_thread() is not threading.main_thread():
        yield   # signals reach the main thread only
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
        self.client_id = uuid.uuid4().hex   # one per job: a reconnected socket gets our events again
        self.submitted = {}   # server url -> prompt id: after a dropped connection, resume it
        self.checked = set()  # servers this job has checked (comfyui.preflight: per-job)
        self.active = None    # (client, prompt id) while a prompt of ours may be on a card

    def say(self, text):
        print(f"comfyui: {self.what}: {text}", file=self.log, flush=True)

    def _health(self, url):
        return ComfyUIClient(url, *self.timeouts, client_id=self.client_id).system_stats()

    def run(self, out_path, still_path=None):
        s = self.settings
        attempts = s["retries"] + 1
        try:
            with _signals_cancel():
                for attempt in range(1, attempts + 1):
                    try:
                        with lease(s["servers"], s["lock_dir"], self._health, self.log, self.what,
                                   s["timeouts"]["lease"]) as (url, stats):
                            self.say(f"using {url} ({describe(stats)})")
                            self._check(url)
                            return self._on_server(url, out_path, still_path)
                    except (Transient, Unreachable) as e:
                        if attempt == attempts:
                            raise ComfyUIError(f"{self.what}: gave up after {attempts} attempt(s): {e}") from None
                        delay = s["backoff"] * 2 ** (attempt - 1)
                        print(f"WARNING: comfyui: {self.what}: {e}; retry {attempt}/{s['retries']} in {delay:.1f} s",
                              file=self.log, flush=True)
                        time.sleep(delay)
        except _Cancelled as c:
            raise JobCancelled(f"{self.what}: stopped by {c}; {self._interrupt()}") from None

    def _check(self, url):
        """comfyui.preflight: per-job: what the onstart check does, against this job's server,
        before anything is uploaded or submitted (MissingOnServer is not retried)."""
        if self.settings["preflight"] != "per-job" or url in self.checked:
            return
        check_job(self.stage, self.spec, self.template, self.what, ComfyUIClient(url, *self.timeouts))
        self.checked.add(url)
        self.say(f"preflight OK on {url}")

    def _interrupt(self):
        if not self.active:
            return "no prompt was on the server"
        client, prompt_id = self.active
        try:
            client.interrupt(prompt_id)
        except ComfyUIError as e:
            return f"could not interrupt prompt {prompt_id} on {client.url} ({e}); cancel it in the ComfyUI queue"
        return f"interrupted prompt {prompt_id} on {client.url}, so the card is free"

    def _graph(self, image, prefix):
        graph = render_template(self.template, template_variables(self.stage, self.spec, prefix, image))
        return graph, save_node(graph, prefix, self.template)

    def _on_server(self, url, out_path, still_path):
        client = ComfyUIClient(url, *self.timeouts, client_id=self.client_id)
        ws = client.connect()   # before submitting: no event of our prompt may be missed
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
                    prompt_id = uuid.uuid4().hex
                    self.submitted[url] = prompt_id
                    self.active = (client, prompt_id)
                    _, number = client.submit(graph, prompt_id, self.template)
                    self.say(f"queued as prompt {prompt_id} (#{number})")
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
        complete = (verify_output.image if self.stage == "still"
                    else lambda p: verify_output.video(p, frames=self.spec["frames"]))
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


def render_still(spec, out_path, log, template, config):
    ComfyJob("still", spec, template, config["comfyui"], log).run(out_path)


def render_clip(spec, still_path, out_path, log, template, config):
    ComfyJob("clip", spec, template, config["comfyui"], log).run(out_path, still_path=still_path)

