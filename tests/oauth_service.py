"""A local OAuth2 identity service for the tests, and an SMTP server that accepts only its tokens.

It plays Microsoft's identity platform (OpenID discovery, client credentials, device code,
refresh tokens that rotate) and Google's token endpoint over HTTPS with a throw-away
certificate (msal talks to https authorities only), and answers token introspection (RFC 7662)
over plain HTTP for Dovecot's oauth2 passdb and the SMTP server. Tokens live `lifetime`
seconds; every token it issued can be revoked.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import Mailbox

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
CLIENT_SECRET = "test-client-secret"


@dataclass
class Issued:
    user: str
    expires_at: float
    revoked: bool = False


@dataclass
class TokenService:
    """Start with `start()`, stop with `stop()`; `user` is the mailbox every grant is for;
    `root` holds its keys and certificates (made on the first start there)."""

    root: Path
    user: str
    lifetime: float = 3600.0
    rotate: bool = True  # each refresh answers a new refresh token, the old one dies
    access: dict[str, Issued] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)  # live refresh token -> user
    grants: list[str] = field(default_factory=list)  # grant types answered, in order
    assertions: list[dict[str, Any]] = field(default_factory=list)  # client assertions taken
    pending_polls: int = 1  # device-code polls answered "authorization_pending" first
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> TokenService:
        self.ca_file = self.root / "token-service.pem"
        key = self.root / "token-service.key"
        _made(
            self.ca_file,
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(self.ca_file),
        )  # fmt: skip
        self._app_certificate()
        handler = _handler(self)
        secure = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.ca_file, key)
        secure.socket = context.wrap_socket(secure.socket, server_side=True)
        plain = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._servers = [secure, plain]
        for server in self._servers:
            server.daemon_threads = True
            serve = partial(server.serve_forever, poll_interval=0.05)  # a quick stop
            threading.Thread(target=serve, daemon=True).start()
        return self

    def _app_certificate(self) -> None:
        """The app registration's certificate: `app_pfx` is what pecflow is given."""
        key, certificate = self.root / "app.key", self.root / "app.pem"
        self.app_pfx = self.root / "app.pfx"
        _made(
            certificate,
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=pecflow-app", "-keyout", str(key), "-out", str(certificate),
        )  # fmt: skip
        _made(
            self.app_pfx,
            "openssl", "pkcs12", "-export", "-inkey", str(key), "-in", str(certificate),
            "-out", str(self.app_pfx), "-passout", "pass:",
        )  # fmt: skip
        self.app_public_key = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def introspection_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}/introspect"

    @property
    def authority(self) -> str:
        """Microsoft's authority URL, here."""
        return f"{self.https}/{TENANT}"

    @property
    def google_token_url(self) -> str:
        return f"{self.https}/google/token"

    # --- what the tests do ----------------------------------------------------------------------

    def issue(self, lifetime: float | None = None) -> str:
        """An access token for the user (negative lifetime: one already expired)."""
        token = f"at-{secrets.token_urlsafe(16)}"
        with self._lock:
            life = self.lifetime if lifetime is None else lifetime
            self.access[token] = Issued(self.user, time.time() + life)
        return token

    def give_refresh_token(self) -> str:
        """A refresh token as a consent elsewhere would have given it."""
        token = f"rt-{secrets.token_urlsafe(16)}"
        with self._lock:
            self.refresh[token] = self.user
        return token

    def revoke(self, token: str) -> None:
        with self._lock:
            self.access[token].revoked = True

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            found = self.access.get(token)
            if found is None or found.revoked or found.expires_at <= time.time():
                return {"active": False}
            return {"active": True, "username": found.user, "exp": int(found.expires_at)}

    # --- the endpoints --------------------------------------------------------------------------

    def answer(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        base = f"{self.https}/{TENANT}"
        if method == "GET" and path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return 200, {
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            }
        if method != "POST":
            return 404, {"error": "not_found"}
        if path == "/introspect":
            return 200, self.introspect(form.get("token", ""))
        if path == f"/{TENANT}/oauth2/v2.0/devicecode":
            return 200, {
                "device_code": f"dc-{secrets.token_urlsafe(8)}",
                "user_code": "PECF-LOW1",
                "verification_uri": "https://microsoft.com/devicelogin",
                "expires_in": 30,
                "interval": 1,
                "message": "To sign in, use a web browser to open the page "
                "https://microsoft.com/devicelogin and enter the code PECF-LOW1 to authenticate.",
            }
        if path in (f"/{TENANT}/oauth2/v2.0/token", "/google/token"):
            return self._token(form, google=path.startswith("/google"))
        return 404, {"error": "not_found"}

    def _token(self, form: dict[str, str], google: bool) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        with self._lock:
            self.grants.append(grant)
        if form.get("client_id") != CLIENT_ID and "assertion" not in form:
            return 400, {"error": "invalid_client", "error_description": "AADSTS700016: unknown"}
        if grant == "client_credentials":
            if not self._client_proved(form):
                return 401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad"}
            return 200, self._tokens(refresh=False, google=google)
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            with self._lock:
                self.pending_polls -= 1
                if self.pending_polls >= 0:
                    return 400, {"error": "authorization_pending"}
            return 200, self._tokens(refresh=True, google=google, identity=True)
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and google:
            return self._service_account(form.get("assertion", ""))
        if grant == "refresh_token":
            with self._lock:
                user = self.refresh.get(form.get("refresh_token", ""))
                if user is None:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "AADSTS70000: the refresh token is not valid",
                    }
                if self.rotate:
                    del self.refresh[form["refresh_token"]]
            answer = self._tokens(refresh=self.rotate, google=google)
            return 200, answer
        return 400, {"error": "unsupported_grant_type"}

    def service_account_key(self) -> Path:
        """A Google service account's JSON key, as the Cloud console gives it."""
        key = self.root / "service-account.key"
        _made(key, "openssl", "genpkey", "-algorithm", "RSA", "-out", str(key))
        private = key.read_text()
        self.service_public_key = serialization.load_pem_private_key(
            private.encode(), None
        ).public_key()
        path = self.root / "service-account.json"
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "pecflow-test",
                    "private_key_id": "key-1",
                    "private_key": private,
                    "client_email": "pecflow@pecflow-test.iam.gserviceaccount.com",
                    "client_id": "1234567890",
                    "token_uri": "https://oauth2.googleapis.com/token",
                }
            ),
            encoding="utf-8",
        )
        return path

    def _service_account(self, assertion: str) -> tuple[int, dict[str, Any]]:
        """Domain-wide delegation: a JWT signed with the account's key, `sub` the mailbox."""
        try:
            claims = jwt.decode(
                assertion,
                self.service_public_key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience="https://oauth2.googleapis.com/token",  # google-auth's, whatever URL
            )
        except jwt.InvalidTokenError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        with self._lock:
            self.assertions.append(claims)
        if claims.get("sub") != self.user:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized",
            }
        return 200, self._tokens(refresh=False, google=True)

    def _client_proved(self, form: dict[str, str]) -> bool:
        """The client secret, or a client assertion signed with the app certificate's key."""
        if "client_assertion" not in form:
            return form.get("client_secret") == CLIENT_SECRET
        try:
            claims = jwt.decode(
                form["client_assertion"],
                self.app_public_key,  # type: ignore[arg-type]
                algorithms=["PS256"],
                audience=f"{self.authority}/oauth2/v2.0/token",
            )
        except jwt.InvalidTokenError:
            return False
        with self._lock:
            self.assertions.append(claims)
        return bool(claims.get("iss") == CLIENT_ID)

    def _tokens(self, refresh: bool, google: bool, identity: bool = False) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": self.issue(),
            "expires_in": int(self.lifetime),
            "scope": "https://mail.google.com/" if google else "IMAP.AccessAsUser.All",
        }
        if refresh:
            answer["refresh_token"] = self.give_refresh_token()
        if identity:
            now = int(time.time())
            claims = {
                "iss": f"{self.authority}/v2.0",
                "aud": CLIENT_ID,
                "sub": "subject-1",
                "oid": "object-1",
                "tid": "tenant-1",
                "preferred_username": self.user,
                "iat": now,
                "exp": now + 3600,
            }
            answer["id_token"] = f"{_b64(b'{}')}.{_b64(json.dumps(claims).encode())}.sig"
            answer["client_info"] = _b64(
                json.dumps({"uid": "object-1", "utid": "tenant-1"}).encode()
            )
        return answer


def _made(path: Path, *command: str) -> None:
    """Run the key-making command unless its product exists: keys made once in `root` serve
    every service started there (RSA keys cost a second each)."""
    if not path.exists():
        subprocess.run(command, check=True, capture_output=True, timeout=60)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _handler(service: TokenService) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            form = dict(urllib.parse.parse_qsl(body))
            path = urllib.parse.urlsplit(self.path).path
            status, answer = service.answer(method, path, form)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

        def log_message(self, *args: Any) -> None:
            pass  # quiet: the test says what went wrong

    return Handler


class OAuth2Mailbox(Mailbox):
    """The test SMTP server's handler with SASL XOAUTH2 checked by introspection; start the
    server with `smtp_parameters()` so that no other mechanism is offered and MAIL needs it."""

    def __init__(self, introspection_url: str) -> None:
        super().__init__()
        self.introspection_url = introspection_url
        self.logins: list[str] = []  # the users that logged in, in order

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        answer = args[1] if len(args) > 1 else await server.challenge_auth("")
        fields = dict(
            part.split("=", 1)
            for part in base64.b64decode(answer).decode().split("\x01")
            if "=" in part
        )
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        body = urllib.parse.urlencode({"token": token}).encode()
        with urllib.request.urlopen(self.introspection_url, body, timeout=5) as reply:  # noqa: S310
            found = json.loads(reply.read())
        if found.get("active") and found.get("username") == user:
            self.logins.append(user)
            return AuthResult(success=True)
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)


def smtp_parameters() -> dict[str, Any]:
    return {
        "auth_required": True,
        "auth_require_tls": False,  # loopback, as the other SMTP tests
        "auth_exclude_mechanism": ["LOGIN", "PLAIN"],
    }
