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

from config.settings import OAuth2Settings, Settings, load_settings, masked_settings
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


@pytest.fixture(scope="session")
def service_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("token-service")


@pytest.fixture
def service(service_keys: Path) -> Iterator[TokenService]:
    started = TokenService(service_keys, USER).start()
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
def test_a_certificate_proves_the_app_instead_of_a_secret(
    service: TokenService, tmp_path: Path
) -> None:
    identity = _identity(
        service, tmp_path, client_secret_file=None, client_certificate_file=service.app_pfx
    )
    assert service.introspect(token_source(identity, USER).token())["active"]
    assert [claims["iss"] for claims in service.assertions] == [CLIENT_ID]

    oauth2._sources.clear()
    identity.client_certificate_file = tmp_path / "missing.pfx"
    with pytest.raises(OAuth2Error) as caught:
        token_source(identity, USER).token()
    assert str(caught.value).endswith(
        f"cannot read {tmp_path / 'missing.pfx'} (No such file or directory)"
    )


@pytest.mark.integration
def test_a_google_service_account_acts_as_the_mailbox_without_consent(
    service: TokenService, tmp_path: Path
) -> None:
    identity = _identity(
        service,
        tmp_path,
        provider="google",
        client_id="",
        client_secret_file=service.service_account_key(),
        authority=service.google_token_url,
    )
    done = oauth2.mailbox_login(identity, USER, print)
    assert done.startswith("app-only credentials need no consent")
    assert service.introspect(token_source(identity, USER).token())["active"]
    assert [claims["sub"] for claims in service.assertions] == [USER, USER]
    assert not identity.token_file.exists()  # nothing to keep

    oauth2._sources.clear()
    with pytest.raises(OAuth2Error) as caught:
        token_source(identity, "someone.else@example.it").token()
    assert str(caught.value).startswith("OAuth2 google: unauthorized_client")


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

    # Every access token lives 1 s, the margin: the token the run's IMAP login took is spent
    # by the time it sends the e-mail, so the SMTP login refreshes in the middle of the run.
    service.lifetime = 1
    _ready(ws)
    _append(oauth_dovecot, service, _receipt_mail())
    consent_refreshes = service.grants.count("refresh_token")
    first = ws.cli("run", "--once", "--now", NOW, "--json")
    assert first.exit_code == 0, first.stdout
    assert [m["outcome"] for m in json.loads(first.stdout)["messages"]] == ["processed"]
    assert token_file.read_text() != consented  # the refresh token rotated: stored at once
    refreshes = service.grants.count("refresh_token")
    assert refreshes - consent_refreshes >= 2  # IMAP's login, then SMTP's after the expiry
    assert smtp.logins == [USER]

    time.sleep(1.1)  # the token held has expired; the same process goes on
    _append(oauth_dovecot, service, _receipt_mail(code="LM3385660", layout="bpm"))
    second = ws.cli("-v", "run", "--once", "--now", NOW, "--json")  # debug logs too
    assert second.exit_code == 0, second.stdout
    assert [m["outcome"] for m in json.loads(second.stdout)["messages"]] == ["processed"]
    assert service.grants.count("refresh_token") > refreshes  # asked again, after expiry
    live = json.loads(token_file.read_text())["RefreshToken"]
    assert [entry["secret"] for entry in live.values()] == list(service.refresh)

    assert _folders(oauth_dovecot, service) == {"INBOX": 0, "pecflow/processed": 2}
    assert len(smtp.messages) == 2 and smtp.logins == [USER, USER]
    said = first.stdout + first.stderr + second.stdout + second.stderr + login.stdout
    assert "DEBUG" in said
    for secret in [CLIENT_SECRET, *service.access, *service.refresh]:
        assert secret not in said


def test_settings_refuse_a_client_secret_in_the_toml(tmp_path: Path) -> None:
    config = tmp_path / "pecflow.toml"
    config.write_text('[oauth2]\nclient_id = "x"\nclient_secret = "s3cret"\n', encoding="utf-8")
    from config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert str(caught.value).startswith("oauth2.client_secret: not in ")
    assert "s3cret" not in str(caught.value)


def test_a_token_is_handed_out_only_while_it_has_more_than_the_margin_to_live() -> None:
    token = oauth2.AccessToken("t", expires_at=1000.0)
    assert oauth2.still_good(token, now=600.0, margin=300)
    assert not oauth2.still_good(token, now=700.0, margin=300)
    assert not oauth2.still_good(None, now=0.0, margin=0)


def _settings(tmp_path: Path, toml: str):
    config = tmp_path / "pecflow.toml"
    config.write_text(toml, encoding="utf-8")
    return load_settings(config)


def test_oauth2_logins_need_the_whole_identity_and_read_the_secret_from_file_or_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config import ConfigError

    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, '[imap]\nhost = "mail.example.it"\nauth = "oauth2"\n')
    assert str(caught.value) == (
        'imap.auth: "oauth2" needs imap.username, oauth2.client_id, oauth2.tenant'
    )
    (tmp_path / "secret").write_text("from-file\n", encoding="utf-8")
    identity = '[oauth2]\ntenant = "t"\nclient_id = "c"\n'
    login = '[smtp]\nusername = "a@b.it"\nauth = "oauth2"\n'
    settings = _settings(tmp_path, login + identity + 'client_secret_file = "secret"\n')
    assert settings.smtp.oauth2.secret() == "from-file"
    assert settings.oauth2.token_file == settings.paths.data_dir / "oauth2-token.json"
    monkeypatch.setenv("PECFLOW_OAUTH2__CLIENT_SECRET", "from-env")
    settings = _settings(tmp_path, login + identity)
    assert settings.imap.oauth2.secret() == "from-env"
    assert masked_settings(settings)["oauth2"]["client_secret"] == "********"
    with pytest.raises(ConfigError) as caught:
        _settings(tmp_path, login + '[oauth2]\nprovider = "google"\nflow = "app"\n')
    assert str(caught.value) == 'smtp.auth: "oauth2" needs oauth2.client_secret_file'


@pytest.mark.integration
def test_the_smtp_server_refuses_a_revoked_token_at_once_and_offers_no_password_login(
    service: TokenService, oauth_smtp: tuple[OAuth2Mailbox, int], tmp_path: Path
) -> None:
    import smtplib

    from mailer.outbound.smtp import connect

    config = tmp_path / "pecflow.toml"
    config.write_text(
        f'[smtp]\nport = {oauth_smtp[1]}\nusername = "{USER}"\nauth = "oauth2"\n'
        f'timeout_seconds = 5\n[oauth2]\ntenant = "t"\nclient_id = "{CLIENT_ID}"\n'
        f'authority = "{service.authority}"\nca_file = "{service.ca_file}"\n',
        encoding="utf-8",
    )
    (tmp_path / "secret").write_text(CLIENT_SECRET, encoding="utf-8")
    settings = load_settings(config)
    settings.oauth2.client_secret_file = tmp_path / "secret"
    connect(settings).quit()  # a token from the service: logged in
    service.revoke(token_source(settings.oauth2, USER).token())
    started = time.monotonic()
    with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
        connect(settings)
    assert caught.value.smtp_code == 535 and time.monotonic() - started < 2
    with smtplib.SMTP("127.0.0.1", oauth_smtp[1], timeout=5) as client:
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["XOAUTH2"]
    assert oauth_smtp[0].logins == [USER]


def _app_only_imap(service: TokenService, dovecot: Dovecot, folder: Path) -> Settings:
    """Settings that read `dovecot` by the app's own token (client credentials)."""
    (folder / "secret").write_text(CLIENT_SECRET, encoding="utf-8")
    config = folder / "pecflow.toml"
    config.write_text(
        f'[imap]\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'allow_plain = true\nusername = "{USER}"\nauth = "oauth2"\ntimeout_seconds = 5\n'
        f'[oauth2]\ntenant = "t"\nclient_id = "{CLIENT_ID}"\nclient_secret_file = "secret"\n'
        f'authority = "{service.authority}"\nca_file = "{service.ca_file}"\n',
        encoding="utf-8",
    )
    return load_settings(config)


@pytest.mark.integration
def test_imap_says_what_failed_a_refused_token_or_an_unreachable_authority(
    service: TokenService, oauth_dovecot: Dovecot, tmp_path: Path
) -> None:
    from mailer.inbound.imap import ImapError, ImapMailbox

    settings = _app_only_imap(service, oauth_dovecot, tmp_path)
    with ImapMailbox(settings.imap) as box:
        assert box.select().exists == 0
    service.revoke(token_source(settings.oauth2, USER).token())
    with pytest.raises(ImapError) as refused:
        ImapMailbox(settings.imap).__enter__()
    assert f"the server refused {USER}'s OAuth2 token" in str(refused.value)

    oauth2._sources.clear()
    settings.oauth2.authority = f"https://127.0.0.1:{free_port()}/t"
    with pytest.raises(ImapError) as unreachable:
        ImapMailbox(settings.imap).__enter__()
    assert str(unreachable.value) == (
        f"IMAP 127.0.0.1:{oauth_dovecot.port}: login: OAuth2 microsoft {CLIENT_ID}: "
        f"cannot reach {settings.oauth2.authority.split('/')[2]}: ConnectionError"
    )


@pytest.mark.integration
def test_the_idle_watcher_logs_in_with_a_token_and_hears_new_mail(
    service: TokenService, oauth_dovecot: Dovecot, tmp_path: Path
) -> None:
    from mailer.inbound.idle import IdleWatcher
    from tests.test_idle import _Calls, _question

    calls = _Calls()
    watcher = IdleWatcher(
        _app_only_imap(service, oauth_dovecot, tmp_path).imap, calls, reissue_seconds=0.3
    ).start()
    try:
        calls.wait_past(0, 10)  # connected, by a token
        _append(oauth_dovecot, service, _question())
        assert calls.wait_past(1, 5) < 2
    finally:
        assert watcher.stop(5)
    assert service.grants == ["client_credentials"]
