"""OAuth2 access tokens for the mailbox's IMAP and SMTP logins, from the providers' libraries
(msal for Microsoft, google-auth for Google): no token HTTP is written here.

One `TokenSource` per identity lives as long as the process: it hands out the access token it
holds while that has more than `oauth2.refresh_margin_seconds` to live and asks the provider
for a new one otherwise, so a scheduler running for weeks logs in with a valid token at every
poll. A refresh token that rotates (Microsoft's token cache, Google's refresh token) is written
to `oauth2.token_file` at once, atomically, readable by the service only. Tokens are never
logged: errors carry the provider's error code and first line of description, not the request.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

from config.settings import OAuth2Settings
from pipeline.private_files import private_draft

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 (a URL)
DEFAULT_SCOPES = {
    ("microsoft", "app"): ["https://outlook.office365.com/.default"],
    ("microsoft", "user"): [
        "https://outlook.office365.com/IMAP.AccessAsUser.All",
        "https://outlook.office365.com/SMTP.Send",
    ],
    ("google", "app"): ["https://mail.google.com/"],
    ("google", "user"): ["https://mail.google.com/"],
}
LOGIN_NEEDED = "run `pecflow mailbox login` once to give pecflow the mailbox's consent"


class OAuth2Error(Exception):
    """No access token could be had; the message is the reason in one line, without secrets."""


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch


def still_good(token: AccessToken | None, now: float, margin: float) -> bool:
    """Whether a held token may still be handed out: more than `margin` seconds to live."""
    return token is not None and token.expires_at - margin > now


class TokenSource:
    """Access tokens for one identity, each asked of the provider only when the held one is
    about to expire. Thread-safe: the scheduler's jobs may log in at the same time."""

    def __init__(self, settings: OAuth2Settings, fetch: Callable[[], AccessToken]) -> None:
        self.settings = settings
        self._fetch = fetch
        self._held: AccessToken | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            if not still_good(self._held, time.time(), self.settings.refresh_margin_seconds):
                self._held = self._fetch()
            assert self._held is not None
            return self._held.value


_sources: dict[tuple[str, str], TokenSource] = {}
_sources_lock = threading.Lock()


def token_source(settings: OAuth2Settings, username: str) -> TokenSource:
    """The process's one source for this identity and mailbox (kept across polls)."""
    key = (settings.model_dump_json(), username)
    with _sources_lock:
        if key not in _sources:
            _sources[key] = TokenSource(settings, _fetcher(settings, username))
        return _sources[key]


def scopes(settings: OAuth2Settings) -> list[str]:
    return settings.scopes or DEFAULT_SCOPES[(settings.provider, settings.flow)]


def _fetcher(settings: OAuth2Settings, username: str) -> Callable[[], AccessToken]:
    if settings.provider == "google":
        if settings.flow == "app":
            return partial(_google_service_account_token, settings, username)
        return partial(_google_token, settings)
    if settings.flow == "app":
        return partial(_microsoft_app_token, settings)
    return partial(_microsoft_user_token, settings, username)


def _http(settings: OAuth2Settings) -> Any:
    """The HTTP session both libraries use: every request with the timeout and verified
    against `oauth2.ca_file` when set (given per request: requests lets REQUESTS_CA_BUNDLE
    override a session's own `verify`)."""
    import requests

    session = requests.Session()
    session.request = partial(  # type: ignore[method-assign]
        session.request,
        timeout=settings.timeout_seconds,
        verify=str(settings.ca_file) if settings.ca_file else True,
    )
    return session


# --- Microsoft (msal) -------------------------------------------------------------------------


def _msal_options(settings: OAuth2Settings) -> dict[str, Any]:
    overridden = bool(settings.authority)
    return {
        "authority": settings.authority or f"{MICROSOFT_AUTHORITY}/{settings.tenant}",
        # A private authority (the tests') is not one Microsoft's instance discovery knows.
        "instance_discovery": not overridden,
        "validate_authority": not overridden,
        "http_client": _http(settings),
    }


def _msal_call(settings: OAuth2Settings, make: Callable[[], Any]) -> Any:
    """An msal application or call, its network and discovery troubles as OAuth2Error."""
    import requests

    try:
        return make()
    except requests.RequestException as exc:
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: cannot reach {_authority(settings)}: {type(exc).__name__}"
        ) from None
    except ValueError as exc:  # msal's: an authority that does not answer as one
        raise OAuth2Error(f"OAuth2 {_where(settings)}: {_first_line(str(exc))}") from None
    except OSError as exc:  # the client certificate's file
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: cannot read {exc.filename} ({exc.strerror})"
        ) from None


def _microsoft_app_token(settings: OAuth2Settings) -> AccessToken:
    """The client-credentials flow: the application's own access, no person and no refresh
    token (IMAP.AccessAsApp, SMTP.SendAsApp)."""
    import msal

    app = _msal_call(
        settings,
        lambda: msal.ConfidentialClientApplication(
            settings.client_id, client_credential=_credential(settings), **_msal_options(settings)
        ),
    )
    result = _msal_call(settings, lambda: app.acquire_token_for_client(scopes(settings)))
    return _access(settings, result)


def _credential(settings: OAuth2Settings) -> str | dict[str, Any]:
    """The certificate when one is named (msal signs a client assertion with its key and
    sends the certificate's SHA-256 thumbprint and chain), else the secret."""
    if settings.client_certificate_file is not None:
        return {
            "private_key_pfx_path": str(settings.client_certificate_file),
            "public_certificate": True,
        }
    return settings.secret()


def _microsoft_user_token(settings: OAuth2Settings, username: str) -> AccessToken:
    """The delegated flow: the refresh token kept by `pecflow mailbox login` (in msal's token
    cache) gives a new access token; a rotated refresh token is stored at once."""
    app, cache = _public_app(settings)
    accounts = app.get_accounts(username=username)
    if not accounts:
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: no consent stored for {username} in "
            f"{settings.token_file}: {LOGIN_NEEDED}"
        )
    result = _msal_call(
        settings,
        lambda: app.acquire_token_silent_with_error(
            scopes(settings), account=accounts[0], force_refresh=True
        ),
    )
    _keep_cache(settings, cache)
    if result is None:
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: no refresh token for {username}: {LOGIN_NEEDED}"
        )
    return _access(settings, result)


def _public_app(settings: OAuth2Settings) -> tuple[Any, Any]:
    import msal

    cache = msal.SerializableTokenCache()
    stored = read_token_file(settings.token_file)
    if stored is not None:
        cache.deserialize(stored)
    app = _msal_call(
        settings,
        lambda: msal.PublicClientApplication(
            settings.client_id, token_cache=cache, **_msal_options(settings)
        ),
    )
    return app, cache


def _keep_cache(settings: OAuth2Settings, cache: Any) -> None:
    if cache.has_state_changed:
        write_token_file(settings.token_file, cache.serialize())


def _access(settings: OAuth2Settings, result: dict[str, Any]) -> AccessToken:
    if "access_token" not in result:
        error = result.get("error", "no access token")
        described = _first_line(str(result.get("error_description", "")))
        hint = f" ({LOGIN_NEEDED})" if settings.flow == "user" and error == "invalid_grant" else ""
        raise OAuth2Error(f"OAuth2 {_where(settings)}: {error}: {described}{hint}")
    return AccessToken(result["access_token"], time.time() + float(result.get("expires_in", 0)))


def microsoft_device_login(
    settings: OAuth2Settings, username: str, show: Callable[[str], None]
) -> str:
    """The one-time consent: a person opens the URL shown, types the code and signs in as the
    mailbox; msal polls the token endpoint until then (bounded by the code's life) and the
    refresh token is stored. Returns the account that consented."""
    app, cache = _public_app(settings)
    flow = _msal_call(settings, lambda: app.initiate_device_flow(scopes=scopes(settings)))
    if "user_code" not in flow:
        _access(settings, flow)  # raises with the provider's reason
    show(flow.get("message") or f"open {flow['verification_uri']} and enter {flow['user_code']}")
    result = _msal_call(settings, lambda: app.acquire_token_by_device_flow(flow))
    _access(settings, result)
    who = str(result.get("id_token_claims", {}).get("preferred_username", ""))
    if who.lower() != username.lower():  # another account's tokens are not kept
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: consent given as {who or 'an unknown account'}, "
            f"not {username}: sign in as the mailbox and run `pecflow mailbox login` again"
        )
    _keep_cache(settings, cache)
    return who


def mailbox_login(
    settings: OAuth2Settings,
    username: str,
    show: Callable[[str], None],
    refresh_token: str | None = None,
) -> str:
    """`pecflow mailbox login`: the one-time consent the identity needs, if any; returns what
    was done, in one line."""
    if settings.flow == "app":
        _fetcher(settings, username)()
        return (
            "app-only credentials need no consent: the identity service gave pecflow a token "
            f"for {username}"
        )
    if settings.provider == "google":
        if not refresh_token:
            raise OAuth2Error(
                "Google: give the refresh token of the mailbox's consent on standard input "
                "(pecflow mailbox login --refresh-token-stdin)"
            )
        google_refresh(settings, refresh_token)
        return f"refresh token checked and stored in {settings.token_file}"
    who = microsoft_device_login(settings, username, show)
    return f"consent of {who} stored in {settings.token_file}"


# --- Google (google-auth) -----------------------------------------------------------------------


def _google_token(settings: OAuth2Settings) -> AccessToken:
    """Google's refresh token (given once to `pecflow mailbox login`) buys access tokens; a
    new refresh token in the answer replaces the stored one at once."""
    stored = read_token_file(settings.token_file)
    if stored is None:
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: no refresh token in {settings.token_file}: {LOGIN_NEEDED}"
        )
    refresh_token = _json_field(settings, stored, "refresh_token")
    return google_refresh(settings, refresh_token)


def _google_service_account_token(settings: OAuth2Settings, username: str) -> AccessToken:
    """A Workspace service account with domain-wide delegation acting as the mailbox: its
    key (the JSON file) signs the request, no refresh token and no consent."""
    from google.oauth2 import service_account

    path = settings.client_secret_file
    if path is None:
        raise OAuth2Error("OAuth2 google: no service account key (oauth2.client_secret_file)")
    try:
        credentials = service_account.Credentials.from_service_account_file(
            str(path), scopes=scopes(settings), subject=username
        )
    except (OSError, ValueError, KeyError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a service account key"
        raise OAuth2Error(f"OAuth2 google: {path}: {reason}") from None
    if settings.authority:
        credentials = credentials.with_token_uri(settings.authority)
    return _google_token_from(settings, credentials)


def google_refresh(settings: OAuth2Settings, refresh_token: str) -> AccessToken:
    """An access token for the refresh token; the refresh token the provider then holds valid
    (the same, or a rotated one) is in the token file when this returns."""
    from google.oauth2.credentials import Credentials

    credentials = Credentials(
        token=None,
        refresh_token=refresh_token,
        token_uri=settings.authority or GOOGLE_TOKEN_URL,
        client_id=settings.client_id,
        client_secret=settings.secret(),
        scopes=scopes(settings),
    )
    token = _google_token_from(settings, credentials)
    stored = read_token_file(settings.token_file)
    if (
        stored is None
        or _json_field(settings, stored, "refresh_token") != credentials.refresh_token
    ):
        write_token_file(
            settings.token_file, json.dumps({"refresh_token": credentials.refresh_token})
        )
    return token


def _google_token_from(settings: OAuth2Settings, credentials: Any) -> AccessToken:
    """Refreshed google-auth credentials' access token, their troubles as OAuth2Error."""
    import google.auth.exceptions
    from google.auth.transport.requests import Request

    try:
        credentials.refresh(Request(_http(settings)))
    except google.auth.exceptions.RefreshError as exc:
        error = exc.args[0] if exc.args else "refresh refused"
        consent = settings.flow == "user" and "invalid_grant" in str(error)
        hint = f" ({LOGIN_NEEDED})" if consent else ""
        raise OAuth2Error(f"OAuth2 {_where(settings)}: {_first_line(str(error))}{hint}") from None
    except google.auth.exceptions.TransportError as exc:
        cause = type(exc.__cause__ or exc).__name__
        raise OAuth2Error(
            f"OAuth2 {_where(settings)}: cannot reach {_authority(settings)}: {cause}"
        ) from None
    expiry = (
        credentials.expiry.replace(tzinfo=UTC).timestamp() if credentials.expiry else time.time()
    )
    return AccessToken(str(credentials.token), expiry)


def _json_field(settings: OAuth2Settings, stored: str, key: str) -> str:
    try:
        value = json.loads(stored)[key]
    except (ValueError, KeyError, TypeError):
        raise OAuth2Error(f"OAuth2: {settings.token_file} is damaged: {LOGIN_NEEDED}") from None
    return str(value)


# --- the token file -----------------------------------------------------------------------------


def read_token_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OAuth2Error(f"OAuth2: cannot read {path} ({exc.strerror})") from None


def write_token_file(path: Path, text: str) -> None:
    """Atomically (a reader sees the old file or the new, never half of one), mode 0600 from
    its first byte, synced before it replaces the old: a rotated refresh token is the only
    valid one, and losing it would mean a new consent."""
    draft = private_draft(path, text.encode("utf-8"))
    try:
        os.replace(draft, path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


def sasl_responder(mechanism: str, username: str, token: str) -> Callable[..., str]:
    """The client's side of SASL XOAUTH2 or OAUTHBEARER (RFC 7628), for imapclient's
    `sasl_login` and smtplib's `auth`: the token to the first (empty) challenge, and to the
    server's error challenge (its JSON) the answer that ends the exchange (OAUTHBEARER's
    %x01, XOAUTH2's empty line), so that a refused token is a prompt NO: imapclient's own
    `oauth2_login` sends the token again and waits for the timeout."""

    def answer(challenge: bytes | None = None) -> str:
        if challenge:
            return "\x01" if mechanism == "OAUTHBEARER" else ""
        if mechanism == "OAUTHBEARER":
            name = username.replace("=", "=3D").replace(",", "=2C")
            return f"n,a={name},\x01auth=Bearer {token}\x01\x01"
        return f"user={username}\x01auth=Bearer {token}\x01\x01"

    return answer


def _authority(settings: OAuth2Settings) -> str:
    from urllib.parse import urlsplit

    default = GOOGLE_TOKEN_URL if settings.provider == "google" else MICROSOFT_AUTHORITY
    return urlsplit(settings.authority or default).netloc


def _where(settings: OAuth2Settings) -> str:
    return f"{settings.provider} {settings.client_id}".strip()


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]
