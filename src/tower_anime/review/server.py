"""The review room's web server (aiohttp): the page, the project's files, the edit and build
endpoints, and the build's progress as Server-Sent Events.

Access: bound to a loopback address the page needs no token (unless one is given); bound to
any other address it refuses to start without one. A token is sent as `Authorization: Bearer`,
or once as `?token=` in the address, which sets a same-site, HTTP-only cookie. On loopback the
Host header must name the loopback address (a page on another site that points a DNS name at
127.0.0.1 is refused), and every change is a JSON POST from the page's own origin (a form on
another site can send neither)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import mimetypes
from pathlib import Path

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from ..check import Checked, check_config_file
from ..errors import InvalidInput, TowerError
from .board import SERVED, episode_board, file_versions
from .build import BuildBusy, Builder, episode_targets
from .edits import Conflict, EditError, Editor, read_text

COOKIE = "tower_review"
mimetypes.add_type("text/vtt", ".vtt")
mimetypes.add_type("video/webm", ".webm")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_token(host: str, token: str | None) -> None:
    """Refuse to serve a non-loopback address without a token."""
    if not is_loopback(host) and not token:
        raise TowerError(
            f"the review room serves {host}, which other machines can reach, so it needs a token: "
            "set TOWER_REVIEW_TOKEN (or pass --token) to a long random string, e.g. "
            "`export TOWER_REVIEW_TOKEN=$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(24))')`, "
            "and open the page with ?token=<it> once"
        )


class Review:
    """The project the page shows: its config, story, files, edits and builds."""

    def __init__(self, root: str | Path, config_path: str | Path, snakemake_args: list[str], cores: int = 2):
        self.root = Path(root).resolve()
        self.config_path = Path(config_path)
        checked = check_config_file(self.config_path)
        self.editor = Editor(self.config_path, checked.config["review"]["notes_dir"])
        self.builder = Builder(self.root, snakemake_args, cores)
        # the templates are *.html.j2: select_autoescape() by default escapes only names ending
        # in .html/.xml, so a title or an action holding "<" went into the page as markup
        self.env = Environment(
            loader=PackageLoader("tower_anime.review", "templates"),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        )
        self.env.filters["tojson_attr"] = lambda v: json.dumps(v)

    def checked(self) -> Checked:
        return check_config_file(self.config_path)

    def versions(self, checked: Checked, ep: str) -> dict:
        """The version of each file an edit of this episode may change (what the page's forms carry)."""
        name, path = self.editor.episode_target(checked, ep)
        out = {
            "config": self.editor.remember(read_text(self.config_path)),
            "notes": self.editor.remember(read_text(self.editor.notes_path(ep))),
        }
        text = self.editor.database_text(checked, ep) if path is None else read_text(path)
        out["episode"] = self.editor.remember(text)
        return out

    def board(self, ep: str) -> tuple[dict, dict]:
        checked = self.checked()
        if ep not in checked.plans:
            raise web.HTTPNotFound(text=f"no episode {ep!r}; the story has {sorted(checked.plans)}")
        board = episode_board(checked, ep, self.editor.read_notes(ep))
        return board, self.versions(checked, ep)


# --- middleware ---------------------------------------------------------------------------------


def _auth(token: str | None, host: str):
    loopback = is_loopback(host)

    @web.middleware
    async def middleware(request: web.Request, handler):
        if loopback:
            name = (request.host or "").rsplit(":", 1)[0].strip("[]")
            if not is_loopback(name):
                raise web.HTTPForbidden(
                    text=f"Host {request.host!r} is not this machine's loopback address; open "
                    "the page at http://127.0.0.1:<port>/"
                )
        if token:
            given = request.query.get("token")
            if given is not None and hmac.compare_digest(given.encode(), token.encode()) and request.method == "GET":
                # the token in the address once: keep it in a cookie and drop it from the address bar
                response = web.HTTPFound(
                    request.rel_url.with_query({k: v for k, v in request.query.items() if k != "token"})
                )
                response.set_cookie(COOKIE, token, httponly=True, samesite="Strict")
                raise response
            header = request.headers.get("Authorization", "")
            offered = header[7:] if header.startswith("Bearer ") else request.cookies.get(COOKIE, "")
            if not hmac.compare_digest(offered.encode(), token.encode()):
                raise web.HTTPUnauthorized(
                    text="this review room needs its token: open the page with ?token=<token> "
                    "(the value of TOWER_REVIEW_TOKEN where it was started)"
                )
        if request.method == "POST":
            if request.content_type != "application/json":
                raise web.HTTPUnsupportedMediaType(text="send JSON (the page's own requests do)")
            origin = request.headers.get("Origin")
            if origin and origin.split("://", 1)[-1] != request.host:
                raise web.HTTPForbidden(text=f"a request from {origin} is not from this page")
        return await handler(request)

    return middleware


# --- handlers -------------------------------------------------------------------------------------


def _problems(e: InvalidInput) -> dict:
    return {"ok": False, "error": "invalid", "message": f"Tower: {e}", "problems": [str(p) for p in e.problems]}


async def _json(request: web.Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body is not JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return data


def _episode(req: dict, plans) -> str:
    """The request's episode: a string (else 400, naming the field) the story has (else 404)."""
    ep = req.get("episode", "")
    if not isinstance(ep, str):
        raise web.HTTPBadRequest(
            text=json.dumps(
                {"ok": False, "error": "refused", "message": f"'episode' must be a string (an episode id); got {ep!r}"}
            ),
            content_type="application/json",
        )
    if ep not in plans:
        raise web.HTTPNotFound(text=f"no episode {ep!r}")
    return ep


def make_app(review: Review, token: str | None = None, host: str = "127.0.0.1") -> web.Application:
    app = web.Application(middlewares=[_auth(token, host)], client_max_size=1 << 20)
    static = Path(__file__).parent / "static"

    async def index(request):
        checked = review.checked()
        episodes = checked.config["story"]["episodes"] or list(checked.plans)
        raise web.HTTPFound(f"/ep/{episodes[0]}")

    def render(name, ep):
        try:
            board, versions = review.board(ep)
        except InvalidInput as e:
            return web.Response(
                text=review.env.get_template("broken.html.j2").render(message=f"Tower: {e}"),
                content_type="text/html",
                status=200,
            )
        html = review.env.get_template(name).render(
            b=board, versions=versions, build=review.builder.as_json(), files=file_versions(board)
        )
        return web.Response(text=html, content_type="text/html")

    async def page(request):
        return render("page.html.j2", request.match_info["ep"])

    async def fragment(request):
        return render("board.html.j2", request.match_info["ep"])

    async def files(request):
        rel = Path(request.match_info["path"])
        if rel.is_absolute() or ".." in rel.parts or not rel.parts or rel.parts[0] not in SERVED:
            raise web.HTTPNotFound()
        path = (review.root / rel).resolve()
        if not path.is_relative_to(review.root) or not path.is_file():
            raise web.HTTPNotFound()
        # a URL carries the file's version: a new file gets a new URL, so an old one may be cached
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def edit(request, save: bool):
        req = await _json(request)
        loop = asyncio.get_running_loop()
        try:
            checked = await loop.run_in_executor(None, review.checked)
            if save:
                version = req.get("version")
                if not isinstance(version, str):
                    raise EditError(
                        "a save needs 'version', a string: the version of the file the diff was made from"
                        + (f"; got {version!r}" if version is not None else "")
                    )
                proposal = await loop.run_in_executor(None, review.editor.save, checked, req, version)
            else:
                proposal = await loop.run_in_executor(None, review.editor.propose, checked, req)
        except Conflict as e:
            return web.json_response(
                {"ok": False, "error": "conflict", "message": str(e), "target": e.target, "diff": e.diff}, status=409
            )
        except InvalidInput as e:
            return web.json_response(_problems(e), status=422)
        except TowerError as e:
            return web.json_response({"ok": False, "error": "refused", "message": str(e)}, status=400)
        result = {"ok": True, "saved": save, **proposal.as_json()}
        if save and review.builder.running:
            result["note"] = (
                "saved while a build runs: that build goes on with the story as it was when it "
                "started; rebuild when it ends to see this edit"
            )
        return web.json_response(result)

    async def preview(request):
        return await edit(request, save=False)

    async def save(request):
        return await edit(request, save=True)

    async def plan(request):
        req = await _json(request)
        ep = _episode(req, review.checked().plans)
        try:
            jobs = await review.builder.dry_run(episode_targets(ep))
        except TowerError as e:
            return web.json_response({"ok": False, "message": str(e)}, status=400)
        return web.json_response({"ok": True, "targets": episode_targets(ep), "jobs": jobs})

    async def start(request):
        req = await _json(request)
        ep = _episode(req, review.checked().plans)
        try:
            await review.builder.start(episode_targets(ep))
        except BuildBusy as e:
            return web.json_response({"ok": False, "message": str(e)}, status=409)
        return web.json_response({"ok": True, **review.builder.as_json()}, status=202)

    async def stop(request):
        return web.json_response({"ok": review.builder.stop()})

    async def state(request):
        return web.json_response(review.builder.as_json())

    streams = set()

    async def events(request):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        seen = -1
        streams.add(asyncio.current_task())
        try:
            while request.transport is not None and not request.transport.is_closing():
                await review.builder.changed(seen)
                if review.builder.version == seen:
                    await response.write(b": keep-alive\n\n")
                    continue
                seen = review.builder.version
                data = json.dumps(review.builder.as_json())
                await response.write(f"event: build\ndata: {data}\n\n".encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            streams.discard(asyncio.current_task())
        return response

    async def on_shutdown(app):
        # open progress streams would hold the shutdown; a build still running is stopped (Ctrl-C)
        for task in list(streams):
            task.cancel()
        if review.builder.stop():
            await review.builder.wait()

    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/", index)
    app.router.add_get("/ep/{ep}", page)
    app.router.add_get("/ep/{ep}/board", fragment)
    app.router.add_get("/files/{path:.+}", files)
    app.router.add_static("/static", static)
    app.router.add_post("/api/edit/preview", preview)
    app.router.add_post("/api/edit/save", save)
    app.router.add_post("/api/build/plan", plan)
    app.router.add_post("/api/build/start", start)
    app.router.add_post("/api/build/stop", stop)
    app.router.add_get("/api/build/state", state)
    app.router.add_get("/api/build/events", events)
    return app


def serve(
    root: str | Path,
    config_path: str | Path,
    snakemake_args: list[str],
    host: str = "127.0.0.1",
    port: int = 8700,
    token: str | None = None,
    cores: int = 2,
) -> None:
    """Run the review room until interrupted."""
    require_token(host, token)
    review = Review(root, config_path, snakemake_args, cores)
    app = make_app(review, token, host)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"tower-anime review: http://{shown}:{port}/" + ("?token=<your token>" if token else "") + "  (Ctrl-C to stop)",
        flush=True,
    )
    web.run_app(app, host=host, port=port, print=None, handle_signals=True, shutdown_timeout=5)
