"""The effective settings: TOML file, then environment overrides, checked before any work.

Scheme: every key `section.key` of the file can be overridden by the environment variable
`PECFLOW_SECTION__KEY` (e.g. `PECFLOW_DATABASE__URL`, `PECFLOW_SMTP__PASSWORD`). Secrets may
also come from a file (`smtp.password_file`, `imap.password_file`), so they need not sit in
the TOML at all.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.italy import italy

CONFIG_ENV = "PECFLOW_CONFIG"
DEFAULT_CONFIG_NAME = "pecflow.toml"


class ConfigError(Exception):
    """A setting that cannot work; the message is one line naming the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PathsSettings(_Section):
    data_dir: Path = Path("data")
    drop_folder: Path = Path("drop")


class DatabaseSettings(_Section):
    url: SecretStr = SecretStr("")

    @field_validator("url")
    @classmethod
    def _parseable(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw:
            from sqlalchemy.engine import make_url  # the store's parser, loaded when a URL is set

            try:
                url = make_url(raw)
            except Exception as exc:
                raise ValueError(
                    "not a database URL (e.g. postgresql+psycopg://u@host/db)"
                ) from exc
            if url.get_backend_name() not in {"sqlite", "postgresql"}:
                raise ValueError("only sqlite and postgresql are supported")
        return value


class ResellerSettings(_Section):
    name: str = "Visura S.p.A."
    ibans: list[str] = Field(default_factory=lambda: ["IT60X0542811101000000123456"])
    postal_account: str = "000012345678"


class MailSettings(_Section):
    from_address: str = "amministrazione@visura.it"
    reply_to: str = ""
    company_footer: str = "Visura S.p.A. - Lungotevere dei Mellini, 44 - 00193 Roma"
    ops_address: str = ""


class OAuth2Settings(_Section):
    """The mailbox's OAuth2 identity, shared by IMAP and SMTP (`auth = "oauth2"`): one app
    registration and one token serve both on Microsoft 365 and Gmail, and one consent
    (`pecflow mailbox login`) covers both. The client secret comes from a file or
    PECFLOW_OAUTH2__CLIENT_SECRET, never the TOML."""

    provider: Literal["microsoft", "google"] = "microsoft"
    # app: the application's own access, no person involved (Microsoft's client credentials;
    # a Google Workspace service account with domain-wide delegation, its JSON key as
    # client_secret_file); user: a person consents once (`pecflow mailbox login`), a refresh
    # token is kept.
    flow: Literal["app", "user"] = "app"
    tenant: str = ""  # Microsoft: the directory (tenant) id or domain
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    client_secret_file: Path | None = None
    # Microsoft, instead of a secret: a PKCS#12 (.pfx) file holding the app's private key and
    # its certificate (uploaded to the app registration), without a passphrase, mode 0600.
    client_certificate_file: Path | None = None
    scopes: list[str] = Field(default_factory=list)  # empty: the provider's for IMAP and SMTP
    # Microsoft: the authority URL (default https://login.microsoftonline.com/<tenant>);
    # Google: the token endpoint. For a private identity service, or the tests'.
    authority: str = ""
    ca_file: Path | None = None  # a private CA vouching for the authority's certificate
    # The refresh token (Google) or the token cache (Microsoft, user flow); in data_dir.
    token_file: Path = Path("oauth2-token.json")
    refresh_margin_seconds: float = Field(default=300.0, ge=0)  # renew this long before expiry
    timeout_seconds: float = Field(default=30.0, gt=0)

    def secret(self) -> str:
        """The client secret from the file when one is named, else from the environment."""
        return _read_secret(self.client_secret_file, "oauth2.client_secret_file") or (
            self.client_secret.get_secret_value()
        )


def _read_secret(path: Path | None, key: str) -> str:
    if path is None:
        return ""
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{key}: cannot read ({exc.strerror})") from exc


class _Login(_Section):
    """A server login whose password comes from the environment or a file, never the TOML;
    or an OAuth2 login with the [oauth2] identity."""

    _section: ClassVar[str]
    username: str = ""
    password: SecretStr = SecretStr("")
    password_file: Path | None = None
    auth: Literal["password", "oauth2"] = "password"
    timeout_seconds: float = Field(default=30.0, gt=0)
    _oauth2: OAuth2Settings | None = PrivateAttr(default=None)  # given by Settings

    @property
    def oauth2(self) -> OAuth2Settings:
        """The [oauth2] identity this login uses when `auth = "oauth2"`."""
        assert self._oauth2 is not None, "made by Settings"
        return self._oauth2

    def secret_password(self) -> str:
        """The password from the file when one is named, else from the value."""
        if self.password_file is not None:
            return _read_secret(self.password_file, f"{self._section}.password_file")
        return self.password.get_secret_value()


class SmtpSettings(_Login):
    _section = "smtp"
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    ca_file: Path | None = None
    max_attempts: int = Field(default=5, ge=1)


class ImapSettings(_Login):
    """The amministrazione mailbox. An empty host means: no IMAP source, drop folder only."""

    _section = "imap"
    host: str = ""
    port: int = Field(default=993, ge=1, le=65535)
    allow_plain: bool = False
    security: Literal["tls", "starttls", "plain"] = "tls"
    ca_file: Path | None = None
    folder: str = "INBOX"
    after: Literal["move", "flag"] = "move"
    processed_folder: str = "pecflow/processed"
    review_folder: str = "pecflow/review"
    quarantine_folder: str = "pecflow/quarantine"
    # Mail that needs nobody (auto-replies, bounces, newsletters, spam, suppliers' invoices):
    # set aside where a person can still find it.
    ignored_folder: str = "pecflow/ignored"
    keyword: str = "PecflowDone"
    fetch_chunk: int = Field(default=25, ge=1, le=1000)
    # `pecflow scheduler` keeps an IDLE connection on the folder and polls as soon as the
    # server announces new mail (the crontab poll stays as the safety net).
    idle: bool = False

    @field_validator("keyword")
    @classmethod
    def _keyword_is_an_atom(cls, value: str) -> str:
        """Searches and flags send it bare (an IMAP atom, RFC 3501): printable ASCII without
        spaces or the signs that mean something else in a command."""
        if not (value and value.isascii() and value.isprintable()) or set(value) & set(
            ' (){%*"\\]'
        ):
            raise ValueError(f"{value!r} is not an IMAP keyword: ASCII letters, digits, - _ .")
        return value

    @field_validator("security")
    @classmethod
    def _plain_only_on_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host", "")
        if value == "plain" and host:
            if not info.data.get("allow_plain"):
                raise ValueError("plain needs imap.allow_plain = true (loopback only)")
            if not _is_loopback(host):
                raise ValueError(f"plain is refused for {host}: loopback only")
        return value


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class LimitsSettings(_Section):
    max_attachment_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    max_message_bytes: int = Field(default=60 * 1024 * 1024, ge=1)
    max_pages: int = Field(default=50, ge=1)
    parse_timeout_seconds: float = Field(default=30.0, gt=0)
    parse_memory_mb: int = Field(default=768, ge=64)
    parse_workers: int = Field(default=0, ge=0, le=64)  # 0: one per core
    # A message whose reading or deciding fails on this many runs in a row is quarantined.
    failed_runs_before_quarantine: int = Field(default=3, ge=1)


class CalendarSettings(_Section):
    timezone: str = "Europe/Rome"
    opens: time = time(9)
    closes: time = time(18)
    # The office's province (a `holidays.Italy` subdivision): its patron's day is a closure.
    subdivision: str = "RM"
    closures: list[date] = Field(default_factory=list)  # extra closed days
    payment_minutes: int = Field(default=30, ge=1)
    documents_hours: int = Field(default=72, ge=1)  # working hours from documents to fulfilment
    documents_warning_hours: int = Field(default=24, ge=1)
    payment_warning_minutes: int = Field(default=10, ge=0)  # "at risk" this close to due_by

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str) -> str:
        if value and value not in italy().subdivisions:
            raise ValueError(f"{value!r} is not an Italian province code (e.g. RM, MI), nor empty")
        return value

    @field_validator("closes")
    @classmethod
    def _after_opening(cls, value: time, info: ValidationInfo) -> time:
        if "opens" in info.data and not info.data["opens"] < value:
            raise ValueError("the office must close after it opens")
        return value


def _cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"not a cron expression {value!r}: {exc}") from exc
    return value


class SchedulerSettings(_Section):
    """When `pecflow scheduler` runs each job: crontab expressions in calendar.timezone."""

    # Every 2 minutes in office hours, every 15 outside them.
    poll: list[str] = Field(
        default_factory=lambda: [
            "*/2 9-17 * * mon-fri",
            "*/15 0-8,18-23 * * mon-fri",
            "*/15 * * * sat,sun",
        ]
    )
    confirm: str = "* * * * *"  # confirm the payments whose not_before has come
    send: str = "* * * * *"  # the outbox; each e-mail waits out its own retry backoff
    watchdog: str = "*/5 * * * *"  # SLA: one alert to mail.ops_address per late item
    report: str = "30 0 * * *"  # the nightly report, of the day before
    purge: str = "0 3 * * *"  # retention
    # How often a running scheduler checks it still holds its database lock.
    lock_check_seconds: float = Field(default=30.0, gt=0)

    @field_validator("poll")
    @classmethod
    def _crons(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one cron expression")
        return [_cron(v) for v in value]

    @field_validator("confirm", "send", "watchdog", "report", "purge")
    @classmethod
    def _one_cron(cls, value: str) -> str:
        return _cron(value)


class RetentionSettings(_Section):
    # Raw messages and attachments of finished messages older than this leave the archive
    # (what was read from them stays in the database). 0 keeps them for ever.
    archive_days: int = Field(default=3650, ge=0)
    reports_days: int = Field(default=400, ge=0)  # nightly report files; 0: for ever


USER_ID_FIELDS = {"order_id": 3454898, "code": "LM3454898", "local": "mario.rossi"}


class FulfilmentSettings(_Section):
    """How a ready order is activated, and how its credentials reach the customer."""

    # manual: ops create the box at the provider, then `pecflow orders activate`;
    # local: pecflow makes the user-id and a one-time password itself (tests, self-hosting).
    provisioner: Literal["manual", "local"] = "manual"
    # The local provisioner's user-id: {order_id}, {code}, {local} (the mailbox before the @).
    user_id_pattern: str = "pec{order_id:07d}"
    password_length: int = Field(default=16, ge=12, le=64)
    # separate: the password travels in a second e-mail; same: in the activation e-mail.
    password_delivery: Literal["separate", "same"] = "separate"  # noqa: S105 (a mode)
    term_years: int = Field(default=2, ge=1)  # a new mailbox and a renewal are paid this long
    guide_url: str = "https://www.visura.it/pec/guida-configurazione"
    # The key that seals e-mails holding a password until they are sent; made on first use.
    seal_key_file: Path = Path("outbox.key")

    @field_validator("user_id_pattern")
    @classmethod
    def _formattable(cls, value: str) -> str:
        try:
            made = value.format(**USER_ID_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{value!r} is not a pattern of {{order_id}}, {{code}}, {{local}}: {exc}"
            ) from exc
        if not made or made == value.replace("{{", "{").replace("}}", "}"):
            raise ValueError(f"{value!r} names none of {{order_id}}, {{code}}, {{local}}")
        return value


class SignaturesSettings(_Section):
    """Digital signatures on contracts (.p7m, signed PDFs): what they are checked against."""

    # A PEM bundle of the certification authorities whose signatures count (e.g. the EU trusted
    # lists' Italian qualified CAs, exported). None: signatures are checked for integrity only
    # and their signer recorded as not verified.
    trust_roots: Path | None = None


class AlertsSettings(_Section):
    """When ops get one e-mail (mail.ops_address) for an incident, not one per poll."""

    imap_unreachable_polls: int = Field(default=3, ge=1)  # consecutive failed polls
    batch_failures: int = Field(default=5, ge=1)  # failed items that make a batch bad


class WebSettings(_Section):
    """The ops console (`pecflow web`), served behind a reverse proxy that terminates TLS."""

    bind: str = "127.0.0.1:8080"  # host:port; keep it on loopback behind the proxy
    # The session cookie travels over HTTPS only. false only to try the console without TLS.
    secure_cookies: bool = True
    session_hours: float = Field(default=8, gt=0, le=168)  # a session idle this long ends
    # The key that signs session cookies; made on first use (readable by the service only).
    secret_key_file: Path = Path("web.key")
    login_attempts: int = Field(default=5, ge=1)  # failed log ins per name or address
    login_window_minutes: int = Field(default=15, ge=1)  # ... in this long, then a wait
    # The proxies whose X-Forwarded-For/-Proto are believed (uvicorn's forwarded_allow_ips).
    trusted_proxies: str = "127.0.0.1"

    @field_validator("bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port")
        return value


class Settings(BaseSettings):
    """Every setting pecflow reads; see config/pecflow.example.toml for the commented file."""

    model_config = SettingsConfigDict(
        env_prefix="PECFLOW_", env_nested_delimiter="__", extra="forbid"
    )

    paths: PathsSettings = Field(default_factory=PathsSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    reseller: ResellerSettings = Field(default_factory=ResellerSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    imap: ImapSettings = Field(default_factory=ImapSettings)
    limits: LimitsSettings = Field(default_factory=LimitsSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    fulfilment: FulfilmentSettings = Field(default_factory=FulfilmentSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    signatures: SignaturesSettings = Field(default_factory=SignaturesSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    oauth2: OAuth2Settings = Field(default_factory=OAuth2Settings)

    @model_validator(mode="after")
    def _oauth2_logins(self) -> Settings:
        """Each login that says `auth = "oauth2"` uses the one identity."""
        self.imap._oauth2 = self.smtp._oauth2 = self.oauth2
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init data.
        return (env_settings, init_settings)

    @property
    def database_url(self) -> str:
        url = self.database.url.get_secret_value()
        return url or f"sqlite:///{self.paths.data_dir / 'pecflow.db'}"

    @property
    def archive_dir(self) -> Path:
        return self.paths.data_dir / "archive"

    @property
    def reports_dir(self) -> Path:
        return self.paths.data_dir / "reports"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.calendar.timezone)


def _config_path(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    default = Path(DEFAULT_CONFIG_NAME)
    return default if default.exists() else None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(part) for part in err["loc"]) or "(file)"
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown setting"
    return f"{key}: {message}"


def load_settings(path: Path | None = None) -> Settings:
    """Read, merge and validate; relative paths are taken from the config file's folder."""
    config_path = _config_path(path)
    data: dict[str, Any] = {}
    base = Path.cwd()
    if config_path is not None:
        try:
            data = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file {config_path} does not exist") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_path} is not valid TOML: {exc}") from exc
        base = config_path.resolve().parent
    oauth2 = data.get("oauth2")
    if isinstance(oauth2, dict) and oauth2.get("client_secret"):
        raise ConfigError(
            f"oauth2.client_secret: not in {config_path}: name a file readable by the service "
            "only (oauth2.client_secret_file) or set PECFLOW_OAUTH2__CLIENT_SECRET"
        )
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_first_error(exc)) from None
    paths = settings.paths
    paths.data_dir = (base / paths.data_dir).resolve()
    paths.drop_folder = (base / paths.drop_folder).resolve()
    settings.fulfilment.seal_key_file = paths.data_dir / settings.fulfilment.seal_key_file
    settings.web.secret_key_file = paths.data_dir / settings.web.secret_key_file
    _oauth2_whole(settings)
    oauth2 = settings.oauth2
    oauth2.token_file = paths.data_dir / oauth2.token_file
    for login in (settings.smtp, settings.imap):
        login.password_file = _beside(base, login.password_file)
        login.ca_file = _beside(base, login.ca_file)
    oauth2.client_secret_file = _beside(base, oauth2.client_secret_file)
    oauth2.client_certificate_file = _beside(base, oauth2.client_certificate_file)
    oauth2.ca_file = _beside(base, oauth2.ca_file)
    roots = settings.signatures.trust_roots = _beside(base, settings.signatures.trust_roots)
    if roots is not None and not roots.is_file():
        raise ConfigError(f"signatures.trust_roots: no such file {roots}")
    return settings


def _beside(base: Path, path: Path | None) -> Path | None:
    """A file named in the config file, found relative to it."""
    return None if path is None else (base / path).resolve()


def _oauth2_whole(settings: Settings) -> None:
    """A login set to OAuth2 names its mailbox, and the identity names its application."""
    for section, login in (("imap", settings.imap), ("smtp", settings.smtp)):
        if login.auth != "oauth2":
            continue
        missing = [
            f"oauth2.{key}"
            for key in _oauth2_needs(settings.oauth2)
            if not getattr(settings.oauth2, key)
        ]
        if not login.username:
            missing.insert(0, f"{section}.username")
        if missing:
            raise ConfigError(f'{section}.auth: "oauth2" needs ' + ", ".join(missing))


def _oauth2_needs(oauth2: OAuth2Settings) -> list[str]:
    if oauth2.provider == "microsoft":
        return ["client_id", "tenant"]
    # A service account's key file names the account; a consent needs the OAuth client.
    return ["client_secret_file"] if oauth2.flow == "app" else ["client_id"]


def masked_settings(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked, for `pecflow config show`."""
    from sqlalchemy.engine import make_url

    data = settings.model_dump(mode="json")
    data["database"]["url"] = make_url(settings.database_url).render_as_string(hide_password=True)
    for section in ("smtp", "imap"):
        secret = getattr(settings, section).password.get_secret_value()
        data[section]["password"] = "********" if secret else ""
    secret = settings.oauth2.client_secret.get_secret_value()
    data["oauth2"]["client_secret"] = "********" if secret else ""
    return data
