"""The console's application: its state (the store, the settings, the sandbox that renders
documents), how a request becomes a call of a page with its user, and the routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from config import Settings
from parsers.sandbox import Sandbox
from pipeline.rules.statuses import Role
from pipeline.seal import private_key
from pipeline.services.errors import NotFound, Refused
from pipeline.services.users import UserView, session_user
from pipeline.sources import MailEdges
from pipeline.store.db import Store
from web import guard
from web.italian import word

RENDER_MEMORY = 512 * 1024 * 1024  # per worker that renders a document page
UPLOAD_BYTES = 64 * 1024 * 1024  # an orders export sent from the console


@dataclass
class Console:
    store: Store
    settings: Settings
    edges: MailEdges
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    sandbox: Sandbox | None = None  # started with the application
    templates: Jinja2Templates = field(init=False)
    throttle: guard.Throttle = field(init=False)

    def __post_init__(self) -> None:
        env = Environment(loader=PackageLoader("web"), autoescape=select_autoescape(default=True))
        env.filters["it"] = word
        env.filters["local"] = self.local_time
        self.templates = Jinja2Templates(env=env)
        web = self.settings.web
        self.throttle = guard.Throttle(web.login_attempts, web.login_window_minutes * 60)

    def local_time(self, value: Any) -> str:
        """An ISO time or datetime as the office reads it: 26/11/2026 10:30."""
        if not value:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return str(moment.astimezone(self.settings.zone).strftime("%d/%m/%Y %H:%M"))


@dataclass
class Call:
    """One request to a page: who asks, and the form they sent."""

    request: Request
    console: Console
    user: UserView
    form: dict[str, str]
    upload: tuple[str, bytes] | None = None  # a form's one file: its name (made safe), bytes

    @property
    def now(self) -> datetime:
        return self.console.clock()

    @property
    def actor(self) -> str:
        return f"web:{self.user.name}"

    def page(self, template: str, status: int = 200, **context: Any) -> Response:
        flashes = self.request.session.pop("flash", [])
        return self.console.templates.TemplateResponse(
            self.request,
            template,
            {
                "user": self.user,
                "csrf": guard.csrf_token(self.request),
                "flashes": flashes,
                "now": self.now,
                **context,
            },
            status_code=status,
        )

    def done(self, url: str, message: str) -> Response:
        """After an action: back to a page that says what happened (post, redirect, get)."""
        self.request.session.setdefault("flash", []).append(message)
        return RedirectResponse(url, status_code=303)


Page = Callable[[Call], Response]


def page(role: Role = Role.VIEWER) -> Callable[[Page], Callable[[Request], Awaitable[Response]]]:
    """A page for logged-in users: a form must carry the session's CSRF token, and acting
    needs the role. What a use case refuses is shown on a page that says nothing changed."""

    def wrap(handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            ids = guard.session_ids(request)
            user = await run_in_threadpool(session_user, console.store, *ids) if ids else None
            if user is None:
                request.session.clear()
                if request.method != "GET":
                    return _refused(request, console, 401, "Sessione scaduta: accedi di nuovo.")
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
            form: dict[str, str] = {}
            upload: tuple[str, bytes] | None = None
            files: list[UploadFile] = []
            if request.method == "POST":
                raw = await request.form(max_files=1)
                form = {k: v for k, v in raw.items() if isinstance(v, str)}
                files = [v for v in raw.values() if isinstance(v, UploadFile)]
                if not guard.csrf_ok(request, form.get("csrf")):
                    return _refused(
                        request,
                        console,
                        403,
                        "Modulo scaduto o non valido: ricarica la pagina e riprova.",
                        user,
                    )
            if role == Role.OPERATOR and not user.may_act:
                return _refused(
                    request,
                    console,
                    403,
                    "Il tuo profilo (consultazione) può vedere ma non agire.",
                    user,
                )
            if files and role == Role.OPERATOR:
                if (files[0].size or 0) > UPLOAD_BYTES:
                    return _refused(
                        request,
                        console,
                        413,
                        f"File troppo grande (oltre {UPLOAD_BYTES // 2**20} MB).",
                        user,
                    )
                upload = (_safe_name(files[0].filename), await files[0].read())
            call = Call(request, console, user, form, upload)
            try:
                return await run_in_threadpool(handler, call)
            except NotFound as exc:
                return _refused(request, console, 404, str(exc), user)
            except Refused as exc:
                return _refused(request, console, 409, f"Nessuna modifica: {exc}", user)

        return endpoint

    return wrap


def _safe_name(name: str | None) -> str:
    """A sent file's name as a batch may show it: its last part, printable, short."""
    last = (name or "").replace("\\", "/").rpartition("/")[2]
    shown = "".join(c for c in last if c.isprintable()).strip()[:100]
    return shown or "upload"


def _refused(
    request: Request, console: Console, status: int, why: str, user: UserView | None = None
) -> Response:
    return console.templates.TemplateResponse(
        request,
        "refused.html",
        {
            "user": user,
            "why": why,
            "csrf": guard.csrf_token(request) if user else "",
            "flashes": [],
        },
        status_code=status,
    )


def create_app(console: Console) -> Starlette:
    """The console as an ASGI application (uvicorn serves it; tests call it directly)."""
    from web import pages

    web = console.settings.web
    key = private_key(web.secret_key_file).decode()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = console.settings.limits
        with Sandbox(1, max(RENDER_MEMORY, limits.parse_memory_mb * 1024 * 1024)) as sandbox:
            console.sandbox = sandbox
            yield
        console.sandbox = None

    app = Starlette(
        routes=[*pages.ROUTES, Mount("/static", StaticFiles(packages=[("web", "static")]))],
        middleware=[
            Middleware(guard.SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=key,
                session_cookie=guard.SESSION_COOKIE,
                max_age=int(web.session_hours * 3600),
                same_site="strict",
                https_only=web.secure_cookies,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.console = console
    return app
