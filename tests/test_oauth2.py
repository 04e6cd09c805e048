"""OAuth2 logins on real servers: a local identity service (tests/oauth_service.py) in front of
a Dovecot that takes only OAuth2 and an SMTP server that takes only XOAUTH2."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from config.settings import OAuth2Settings, load_settings
from mailer import oauth2
from mailer.oauth2 import OAuth2Error, sasl_responder, token_source
from tests.conftest import Workspace, free_port
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.oauth_service import (
    CLIENT_ID,
    CLIENT_SECRET,
    OAuth2Mailbox,
    TokenService,
    smtp_parameters,
)
from tests.test_imap import ARRIVED, _ready, _receipt_mail

NOW = "2026-11-20T12:00:00+01:00"
# The test SMTP server takes AUTH without TLS: loopback, as every SMTP test here.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture
def service(tmp_path: Path) -> Iterator[TokenService]:
    started = TokenService(tmp_path, USER).start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def _fresh_sources() -> Iterator[None]:
    """Each test starts as a new process would: no token held."""
    oauth2._sources.clear()
    yield
    oauth2._sources.clear()


@pytest.fixture
def oauth_dovecot(service: TokenService) -> Iterator[Dovecot]:
    server = Dovecot(oauth2=service.introspection_url).start()
    try:
        yield server
    finally:
        server.stop()


def _imap(dovecot: Dovecot) -> IMAPClient:
    return IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=5)


def _oauth_imap(dovecot: Dovecot, service: TokenService) -> IMAPClient:
    client = _imap(dovecot)
    client.sasl_login("XOAUTH2", sasl_responder("XOAUTH2", USER, service.issue()))
    return client


def _append(dovecot: Dovecot, service: TokenService, raw: bytes) -> None:
    with _oauth_imap(dovecot, service) as client:
        client.append("INBOX", raw, msg_time=ARRIVED)


def _folders(dovecot: Dovecot, service: TokenService) -> dict[str, int]:
    with _oauth_imap(dovecot, service) as client:
        return {
            name.replace(delimiter.decode(), "/"): client.folder_status(name, ["MESSAGES"])[
                b"MESSAGES"
            ]
            for flags, delimiter, name in client.list_folders()
            if b"\\Noselect" not in flags
        }


def _identity(service: TokenService, tmp_path: Path, **changes: Any) -> OAuth2Settings:
    secret = tmp_path / "client-secret"
    secret.write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    values: dict[str, Any] = {
        "tenant": "contoso.onmicrosoft.com",
        "client_id": CLIENT_ID,
        "client_secret_file": secret,
        "authority": service.authority,
        "ca_file": service.ca_file,
        "token_file": tmp_path / "data" / "oauth2-token.json",
        "refresh_margin_seconds": 1,
        "timeout_seconds": 5,
        **changes,
    }
    return OAuth2Settings(**values)


@pytest.mark.integration
def test_dovecot_takes_a_valid_token_and_refuses_expired_revoked_and_passwords(
    service: TokenService, oauth_dovecot: Dovecot
) -> None:
    valid = service.issue()
    for mechanism in ("OAUTHBEARER", "XOAUTH2"):
        with _imap(oauth_dovecot) as client:
            assert f"AUTH={mechanism}".encode() in client.capabilities()
            client.sasl_login(mechanism, sasl_responder(mechanism, USER, valid))
            assert client.select_folder("INBOX")[b"EXISTS"] == 0
    revoked = service.issue()
    service.revoke(revoked)
    for mechanism in ("OAUTHBEARER", "XOAUTH2"):
        for refused in (service.issue(lifetime=-1), revoked, "never-issued"):
            started = time.monotonic()
            with _imap(oauth_dovecot) as client, pytest.raises(LoginError):
                client.sasl_login(mechanism, sasl_responder(mechanism, USER, refused))
            assert time.monotonic() - started < 2  # a prompt NO, not the timeout
    with _imap(oauth_dovecot) as client, pytest.raises(LoginError):
        client.login(USER, PASSWORD)


@pytest.mark.integration
def test_an_app_token_is_held_until_near_its_expiry_then_asked_again(
    service: TokenService, tmp_path: Path
) -> None:
    service.lifetime = 2
    source = token_source(_identity(service, tmp_path), USER)
    first = source.token()
    assert source.token() == first  # held: no second request
    assert service.grants == ["client_credentials"]
    time.sleep(1.1)  # within the 1 s margin of its expiry
    second = source.token()
    assert second != first
    assert service.grants == ["client_credentials", "client_credentials"]
    assert service.introspect(second)["active"]


@pytest.mark.integration
def test_a_wrong_client_secret_is_one_line_naming_the_providers_error(
    service: TokenService, tmp_path: Path
) -> None:
    identity = _identity(service, tmp_path)
    identity.client_secret_file.write_text("wrong", encoding="utf-8")  # type: ignore[union-attr]
    with pytest.raises(OAuth2Error) as caught:
        token_source(identity, USER).token()
    assert "invalid_client" in str(caught.value)
    assert "wrong" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.integration
def test_google_refresh_tokens_that_rotate_are_stored_at_once(
    service: TokenService, tmp_path: Path
) -> None:
    identity = _identity(
        service, tmp_path, provider="google", flow="user", authority=service.google_token_url
    )
    given = service.give_refresh_token()
    done = oauth2.mailbox_login(identity, USER, print, refresh_token=given)
    assert "stored" in done
    stored = json.loads(identity.token_file.read_text())["refresh_token"]
    assert stored != given and stored in service.refresh  # rotated, the new one kept
    assert given not in service.refresh
    assert stat.S_IMODE(identity.token_file.stat().st_mode) == 0o600
    token = token_source(identity, USER).token()  # a later process: from the file
    assert service.introspect(token)["active"]
    assert json.loads(identity.token_file.read_text())["refresh_token"] in service.refresh

    service.refresh.clear()  # the consent withdrawn
    oauth2._sources.clear()
    with pytest.raises(OAuth2Error) as caught:
        token_source(identity, USER).token()
    assert "invalid_grant" in str(caught.value) and "pecflow mailbox login" in str(caught.value)


# --- the whole office on OAuth2 ----------------------------------------------------------------


@pytest.fixture
def oauth_smtp(service: TokenService) -> Iterator[tuple[OAuth2Mailbox, int]]:
    mailbox = OAuth2Mailbox(service.introspection_url)
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **smtp_parameters())
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def oauth_ws(
    tmp_path: Path,
    db_url: str,
    service: TokenService,
    oauth_dovecot: Dovecot,
    oauth_smtp: tuple[OAuth2Mailbox, int],
) -> Workspace:
    """A workspace whose mailbox and SMTP server take only the service's tokens, with the
    delegated (device-code) identity: no password anywhere."""
    (tmp_path / "client-secret").write_text(CLIENT_SECRET, encoding="utf-8")
    config = tmp_path / "pecflow.toml"
    config.write_text(
        f"""[paths]
data_dir = "data"
drop_folder = "drop"
[imap]
host = "127.0.0.1"
port = {oauth_dovecot.port}
security = "plain"
allow_plain = true
username = "{USER}"
auth = "oauth2"
timeout_seconds = 5
[smtp]
host = "127.0.0.1"
port = {oauth_smtp[1]}
username = "{USER}"
auth = "oauth2"
timeout_seconds = 5
[oauth2]
provider = "microsoft"
flow = "user"
tenant = "contoso.onmicrosoft.com"
client_id = "{CLIENT_ID}"
authority = "{service.authority}"
ca_file = "{service.ca_file}"
refresh_margin_seconds = 1
timeout_seconds = 5
""",
        encoding="utf-8",
    )
    (tmp_path / "drop").mkdir()
    return Workspace(tmp_path, config, tmp_path / "drop", {"PECFLOW_DATABASE__URL": db_url})


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # logins, not the store
def test_an_oauth2_only_mailbox_is_read_and_answered_across_a_token_expiry(
    oauth_ws: Workspace,
    service: TokenService,
    oauth_dovecot: Dovecot,
    oauth_smtp: tuple[OAuth2Mailbox, int],
) -> None:
    ws, (smtp, _) = oauth_ws, oauth_smtp
    token_file = ws.root / "data" / "oauth2-token.json"

    before = ws.cli("run", "--once", "--now", NOW, "--json")
    assert before.exit_code == 1
    assert "pecflow mailbox login" in before.stdout + before.stderr  # no consent yet

    login = ws.cli("mailbox", "login")
    assert login.exit_code == 0, login.stdout
    assert "PECF-LOW1" in login.stdout and "https://microsoft.com/devicelogin" in login.stdout
    assert f"consent of {USER} stored" in login.stdout
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    consented = token_file.read_text()

    service.lifetime = 3  # every access token lives 3 s: the run below outlives two
    _ready(ws)
    _append(oauth_dovecot, service, _receipt_mail())
    first = ws.cli("run", "--once", "--now", NOW, "--json")
    assert first.exit_code == 0, first.stdout
    assert [m["outcome"] for m in json.loads(first.stdout)["messages"]] == ["processed"]
    assert token_file.read_text() != consented  # the refresh token rotated: stored at once
    refreshes = service.grants.count("refresh_token")
    assert refreshes >= 1

    time.sleep(3.1)  # the token held has expired; the same process goes on
    _append(oauth_dovecot, service, _receipt_mail(code="LM3385660", layout="bpm"))
    second = ws.cli("run", "--once", "--now", NOW, "--json")
    assert second.exit_code == 0, second.stdout
    assert [m["outcome"] for m in json.loads(second.stdout)["messages"]] == ["processed"]
    assert service.grants.count("refresh_token") > refreshes  # asked again, after expiry
    live = json.loads(token_file.read_text())["RefreshToken"]
    assert [entry["secret"] for entry in live.values()] == list(service.refresh)

    assert _folders(oauth_dovecot, service) == {"INBOX": 0, "pecflow/processed": 2}
    assert len(smtp.messages) == 2 and smtp.logins == [USER, USER]
    assert CLIENT_SECRET not in (first.stdout + first.stderr + second.stdout + second.stderr)


def test_settings_refuse_a_client_secret_in_the_toml(tmp_path: Path) -> None:
    config = tmp_path / "pecflow.toml"
    config.write_text('[oauth2]\nclient_id = "x"\nclient_secret = "s3cret"\n', encoding="utf-8")
    from config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith("oauth2.client_secret: not in ")
    assert "s3cret" not in str(caught.value)
