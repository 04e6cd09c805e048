"""Who may do what: the session (a signed cookie naming the user and the stamp of their
password), CSRF tokens on every form, roles, the log-in throttle and the security headers."""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from threading import Lock

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.services.users import UserView

SESSION_COOKIE = "pecflow_session"
HEADERS = {
    # Only our own files: no inline script or style, no plugin, no framing, forms post home.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Every answer carries HEADERS; pages and documents (personal data) are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def start_session(request: Request, user: UserView) -> None:
    """A new session for this user: a fresh cookie and a fresh CSRF token."""
    request.session.clear()
    request.session.update(
        {
            "uid": user.id,
            "stamp": user.stamp,
            "csrf": secrets.token_urlsafe(32),
        }
    )


def session_ids(request: Request) -> tuple[int, str] | None:
    uid, stamp = request.session.get("uid"), request.session.get("stamp")
    if not isinstance(uid, int) or not isinstance(stamp, str):
        return None
    return uid, stamp


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, sent: object) -> bool:
    token = request.session.get("csrf")
    return isinstance(token, str) and isinstance(sent, str) and secrets.compare_digest(token, sent)


@dataclass
class Throttle:
    """Failed log ins counted per name and per address over a sliding window, in this process
    (run one console process, as the systemd unit does)."""

    attempts: int
    window_seconds: float

    def __post_init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        seen = self._failures[key]
        while seen and seen[0] <= now - self.window_seconds:
            seen.popleft()
        return seen

    def wait_seconds(self, keys: list[str]) -> int:
        """0 when a log in may be tried; else how long until it may."""
        now = time.monotonic()
        with self._lock:
            waits = [
                seen[0] + self.window_seconds - now
                for seen in (self._recent(key, now) for key in keys)
                if len(seen) >= self.attempts
            ]
        return int(max(waits, default=0)) + (1 if waits else 0)

    def failed(self, keys: list[str]) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
