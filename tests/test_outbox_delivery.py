"""The outbox against real SMTP servers (aiosmtpd on loopback) that refuse for a while, refuse
for good, see pecflow crash, or want TLS and a login: each customer e-mail reaches the server
exactly once, and until then ops can see why it has not and when it is tried again.

Everything is driven through the command line (`run --once --now`, `outbox list/show/retry`),
on SQLite and PostgreSQL. Time moves through `--now`: nothing waits out a backoff (only the
lost-reply test lets pecflow's 1 s SMTP timeout expire).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import Killed, Workspace, free_port
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.test_orders_import import EXAMPLE

T0 = dt.datetime.fromisoformat("2026-11-20T10:30:00+01:00")  # a Friday, in office hours
CODE, CUSTOMER = "LM3454898", "mario.rossi@example.it"  # an order of the sample export
MAIL_KEY = (CODE, CUSTOMER, "payment_received")  # its e-mail: order, to, kind
MAX_PASSES = 10  # no loop of these tests runs `run --once` more often than this
SMTP_USER, SMTP_PASSWORD = "pecflow-out", "s3cret-for-the-test"


# --- a loopback SMTP server that records what it sees and answers as told ---------------------


@dataclass
class Delivery:
    message: Message
    rcpt_tos: list[str]
    login: str | None  # the authenticated user of the connection, if any
    tls: str | None  # the TLS version of the connection, if any


@dataclass
class Recorder:
    """An aiosmtpd handler that accepts everything, except that its first answers about
    e-mails to CUSTOMER come from `rcpt_refusals` (to RCPT TO) and `data_refusals` (to DATA),
    one used per command, in order. Other e-mails the run may send are accepted and recorded,
    and count nowhere but in `connections` and `deliveries`."""

    rcpt_refusals: list[str] = field(default_factory=list)
    data_refusals: list[str] = field(default_factory=list)
    connections: int = 0  # SMTP sessions opened by clients (counted by ServerUnderTest)
    attempts: int = 0  # RCPT TO:<CUSTOMER> received: each try to send the customer's e-mail
    deliveries: list[Delivery] = field(default_factory=list)
    logins: list[tuple[str, str, bool]] = field(default_factory=list)  # mechanism, user, ok

    @property
    def to_customer(self) -> list[Delivery]:
        return [d for d in self.deliveries if CUSTOMER in d.rcpt_tos]

    @property
    def others(self) -> int:
        return len(self.deliveries) - len(self.to_customer)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == CUSTOMER:
            self.attempts += 1
            if self.rcpt_refusals:
                return self.rcpt_refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if CUSTOMER in envelope.rcpt_tos and self.data_refusals:
            return self.data_refusals.pop(0)
        tls = server.transport.get_extra_info("ssl_object")
        auth = session.auth_data if session.authenticated else None
        self.deliveries.append(
            Delivery(
                message_from_bytes(envelope.content),
                list(envelope.rcpt_tos),
                auth.login.decode() if isinstance(auth, LoginPassword) else None,
                tls.version() if tls is not None else None,
            )
        )
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        """aiosmtpd's `authenticator`: only SMTP_USER with SMTP_PASSWORD gets in."""
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        user = auth_data.login.decode() if isinstance(auth_data, LoginPassword) else "?"
        self.logins.append((mechanism, user, ok))
        return AuthResult(success=ok, handled=False, auth_data=auth_data)


class ServerUnderTest(Controller):
    """aiosmtpd's threaded Controller, counting the SMTP sessions that clients open."""

    def __init__(self, recorder: Recorder, **kwargs: Any) -> None:
        super().__init__(recorder, **kwargs)
        self.recorder = recorder

    def factory(self) -> Any:
        self.recorder.connections += 1
        return super().factory()


@contextmanager
def serving(recorder: Recorder, port: int | None = None, **kwargs: Any) -> Iterator[int]:
    """The recorder behind a real SMTP server on `port` (a free loopback one if not given),
    for the block."""
    port = port or free_port()
    controller = ServerUnderTest(recorder, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    recorder.connections = 0  # the controller's own probe at start is no client
    try:
        yield port
    finally:
        controller.stop()


@contextmanager
def left_alone(recorder: Recorder) -> Iterator[None]:
    """The block does not try the customer's e-mail, and contacts the server only if it
    has another e-mail to deliver there."""
    attempts, connections, others = recorder.attempts, recorder.connections, recorder.others
    yield
    assert recorder.attempts == attempts, "the customer's e-mail was tried"
    if recorder.others == others:
        assert recorder.connections == connections, "the server was contacted for nothing"


# --- pecflow, through its command line --------------------------------------------------------


def _workspace(tmp_path: Path, db_url: str, port: int, smtp: str = "") -> Workspace:
    """A pecflow installation sending to 127.0.0.1:`port`; `smtp` adds lines to [smtp]."""
    config = tmp_path / "pecflow.toml"
    config.write_text(
        '[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 5\n{smtp}',
        encoding="utf-8",
    )
    (tmp_path / "drop").mkdir()
    return Workspace(tmp_path, config, tmp_path / "drop", {"PECFLOW_DATABASE__URL": db_url})


def _a_confirmed_order(ws: Workspace) -> None:
    """LM3454898 imported and its receipt dropped: the next run confirms it and e-mails the
    customer about it."""
    orders = ws.root / "orders.csv"
    orders.write_bytes(EXAMPLE.encode())
    result = ws.cli("orders", "import", str(orders))
    assert result.exit_code == 0, result.output
    receipt = make_receipt_pdf(default_spec([CODE], Decimal("24.40")), "intesa")
    (ws.drop / "contabile.pdf").write_bytes(receipt)


def _pass(ws: Workspace, now: dt.datetime) -> tuple[int, dict[str, Any]]:
    """One `run --once` at `now`: its exit code and its JSON report."""
    result = ws.cli("run", "--once", "--now", now.isoformat(), "--json")
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _the_email(ws: Workspace) -> dict[str, Any]:
    """`outbox show` of the customer's e-mail about the payment of CODE."""
    listed = ws.cli("outbox", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = [r for r in json.loads(listed.stdout) if (r["order"], r["to"], r["kind"]) == MAIL_KEY]
    assert len(rows) == 1, f"one e-mail {MAIL_KEY} expected in the outbox: {listed.stdout}"
    result = ws.cli("outbox", "show", str(rows[0]["id"]), "--json")
    assert result.exit_code == 0, result.output
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def _outbox(ws: Workspace) -> dict[str, dict[str, Any]]:
    """`outbox list` by recipient (the run's e-mails go to one address each)."""
    listed = ws.cli("outbox", "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    by_to = {row["to"]: row for row in rows}
    assert len(by_to) == len(rows), rows
    return by_to


def _order_state(ws: Workspace) -> str:
    result = ws.cli("orders", "show", CODE, "--json")
    assert result.exit_code == 0, result.output
    state: str = json.loads(result.stdout)["state"]
    return state


def _email_items(report: dict[str, Any]) -> list[tuple[str, str | None]]:
    """What the run's report says of e-mails about CODE: (outcome, detail) each."""
    return [
        (i["outcome"], i["detail"])
        for i in report["items"]
        if i["type"] == "email" and i["order"] == CODE
    ]


def _assert_delivered_once(recorder: Recorder) -> Delivery:
    assert len(recorder.to_customer) == 1, [d.message["Subject"] for d in recorder.to_customer]
    (delivery,) = recorder.to_customer
    assert delivery.rcpt_tos == [CUSTOMER]
    assert delivery.message["To"] == CUSTOMER
    assert CODE in delivery.message["Subject"]
    return delivery


# --- 1. temporary refusals --------------------------------------------------------------------

REFUSALS = 3


def test_a_server_refusing_for_a_while_then_accepting_delivers_exactly_once(
    tmp_path: Path, db_url: str
) -> None:
    """An SMTP server refusing for a while (451 at DATA, three times), then accepting: the
    e-mail is delivered exactly once. Until then the row stays `pending` with the 451 in
    `last_error` and its next attempt in the future, after 1, 2, then 4 minutes; a run before
    that time leaves the server alone."""
    recorder = Recorder(data_refusals=["451 4.3.0 Try again later"] * REFUSALS)
    with serving(recorder) as port:
        ws = _workspace(tmp_path, db_url, port)
        _a_confirmed_order(ws)
        now, waits = T0, list[dt.timedelta]()
        for _ in range(MAX_PASSES):
            code, report = _pass(ws, now)
            shown = _the_email(ws)
            if shown["status"] == "sent":
                assert _email_items(report) == [("sent", None)]
                break
            assert recorder.to_customer == []
            assert shown["status"] == "pending", shown
            assert "451" in shown["last_error"] and "Try again later" in shown["last_error"]
            assert shown["attempts"] == recorder.attempts == len(waits) + 1
            assert code == 1, "a refused e-mail is a failed item of its batch"
            [(outcome, detail)] = _email_items(report)
            assert outcome == "failed" and "451" in str(detail)
            due = dt.datetime.fromisoformat(shown["next_attempt_at"])
            assert due > now, "the next attempt is in the future"
            waits.append(due - now)

            with left_alone(recorder):
                _pass(ws, due - dt.timedelta(seconds=1))
            early = _the_email(ws)
            assert (early["status"], early["attempts"]) == ("pending", shown["attempts"])
            now = due
        else:
            pytest.fail(f"not delivered in {MAX_PASSES} passes")

        assert waits == [dt.timedelta(minutes=m) for m in (1, 2, 4)]
        _assert_delivered_once(recorder)
        assert recorder.attempts == REFUSALS + 1
        assert (shown["attempts"], shown["last_error"]) == (REFUSALS + 1, None)
        assert dt.datetime.fromisoformat(shown["sent_at"]) == now

        with left_alone(recorder):
            _pass(ws, now + dt.timedelta(hours=1))
        assert len(recorder.to_customer) == 1, "a later run sends nothing more"


# --- 2. a permanent refusal -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "answer"),
    [("DATA", "550 5.7.1 Message refused by policy"), ("RCPT", "550 5.1.1 No such user")],
    ids=["at-data", "at-rcpt"],
)
def test_a_permanent_refusal_stops_with_a_clear_status_until_ops_retry(
    tmp_path: Path, db_url: str, stage: str, answer: str
) -> None:
    """A permanent refusal (550, of the message or of its recipient) stops at once: the row
    is `failed` with the 550 in `last_error`, and later runs never try it again (the server
    would accept it now: it would show). `outbox retry` makes it pending again, and the next
    run delivers it once."""
    recorder = Recorder(
        data_refusals=[answer] if stage == "DATA" else [],
        rcpt_refusals=[answer] if stage == "RCPT" else [],
    )
    with serving(recorder) as port:
        ws = _workspace(tmp_path, db_url, port)
        _a_confirmed_order(ws)
        code, report = _pass(ws, T0)
        assert code == 1
        shown = _the_email(ws)
        assert (shown["status"], shown["attempts"]) == ("failed", 1)
        assert "550" in shown["last_error"], shown["last_error"]
        assert answer.split(" ", 2)[2] in shown["last_error"]
        assert shown["next_attempt_at"] is None
        [(outcome, detail)] = _email_items(report)
        assert outcome == "failed" and "550" in str(detail)
        assert recorder.to_customer == [] and recorder.attempts == 1
        assert _order_state(ws) == "processing", "the refusal does not undo the confirmation"

        for later in (dt.timedelta(minutes=5), dt.timedelta(hours=2)):
            with left_alone(recorder):
                _pass(ws, T0 + later)
            assert _the_email(ws)["status"] == "failed", "not tried again by itself"
        assert recorder.to_customer == []

        retry = ws.cli("outbox", "retry", str(shown["id"]))
        assert retry.exit_code == 0, retry.output
        again = _the_email(ws)
        assert (again["status"], again["attempts"], again["next_attempt_at"]) == (
            "pending",
            0,
            None,
        )
        code, report = _pass(ws, T0 + dt.timedelta(hours=2, minutes=1))
        assert code == 0
        assert _email_items(report) == [("sent", None)]
        _assert_delivered_once(recorder)
        sent = _the_email(ws)
        assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 1, None)

        with left_alone(recorder):
            _pass(ws, T0 + dt.timedelta(hours=3))
        assert len(recorder.to_customer) == 1


# --- 3. a crash before the send ---------------------------------------------------------------


def test_a_crash_between_the_state_change_and_the_send_then_a_restart_mails_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between the state change and the send (the process dies as the run reaches
    the outbox), then a restart: the confirmation and its e-mail were committed together, so
    the order is `processing` with its e-mail `pending`, nothing reached the server; the next
    run sends exactly one e-mail and a third sends nothing."""
    recorder = Recorder()
    with serving(recorder) as port:
        ws = _workspace(tmp_path, db_url, port)
        _a_confirmed_order(ws)

        def killed(*args: Any, **kwargs: Any) -> Any:
            raise Killed("the process dies before the outbox is sent")

        monkeypatch.setattr("mailer.outbound.smtp.send_pending", killed)
        with pytest.raises(Killed):
            ws.cli("run", "--once", "--now", T0.isoformat(), "--json")
        logging.getLogger().handlers.clear()  # ws.cli did not get to: they wrote to its stream
        monkeypatch.undo()

        assert _order_state(ws) == "processing"
        shown = _the_email(ws)
        assert (shown["status"], shown["attempts"]) == ("pending", 0)
        assert recorder.connections == 0 and recorder.deliveries == []

        code, report = _pass(ws, T0 + dt.timedelta(minutes=1))
        assert code == 0
        assert report["messages"] == [], "the receipt was processed before the crash"
        assert _email_items(report) == [("sent", None)]
        _assert_delivered_once(recorder)
        sent = _the_email(ws)
        assert (sent["status"], sent["attempts"]) == ("sent", 1)

        with left_alone(recorder):
            code, report = _pass(ws, T0 + dt.timedelta(minutes=2))
        assert _email_items(report) == []
        assert len(recorder.to_customer) == 1, "a third run sends nothing more"


# --- an answer lost after the message was accepted --------------------------------------------


@dataclass
class SlowToAnswer(Recorder):
    """Takes the customer's first message, then answers its DATA only after the client has
    given up waiting (pecflow's timeout is 1 s here)."""

    delays: list[float] = field(default_factory=lambda: [1.5])

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        answer = await super().handle_DATA(server, session, envelope)
        if CUSTOMER in envelope.rcpt_tos and self.delays:
            await asyncio.sleep(self.delays.pop(0))
        return answer


def test_a_reply_lost_after_the_data_never_makes_a_second_email(
    tmp_path: Path, db_url: str
) -> None:
    """The server accepts the message but its 250 never reaches pecflow (timeout after the
    end of DATA). The message may well have been delivered, as here: a later run must not
    send it again by itself (like a crash during the send, it is for ops to decide)."""
    recorder = SlowToAnswer()
    with serving(recorder) as port:
        ws = _workspace(tmp_path, db_url, port)
        ws.env["PECFLOW_SMTP__TIMEOUT_SECONDS"] = "1"
        _a_confirmed_order(ws)
        code, report = _pass(ws, T0)
        assert len(recorder.to_customer) == 1, "the server took it"
        shown = _the_email(ws)
        assert (shown["status"], shown["attempts"]) == ("unsure", 1), shown
        message_id = recorder.to_customer[0].message["Message-ID"]
        assert f"look for Message-ID {message_id} in the SMTP server's log" in shown["last_error"]
        assert code == 1 and _email_items(report) == [("failed", shown["last_error"])]
        for later in (dt.timedelta(minutes=5), dt.timedelta(hours=1)):
            _pass(ws, T0 + later)
        assert len(recorder.to_customer) == 1, "the customer got the e-mail twice"
        assert _the_email(ws)["status"] == "unsure", "it waits for ops"


# --- 4. TLS and a login -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path  # the throw-away CA's certificate (PEM), the one pecflow may be told to trust
    server: ssl.SSLContext  # the server's context: a certificate for 127.0.0.1 from that CA


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throw-away CA and a server certificate for 127.0.0.1 that it signed."""
    folder = tmp_path_factory.mktemp("pki")
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("pecflow test CA"))
        .issuer_name(_name("pecflow test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(chain)
    return Pki(ca_file, server)


@pytest.mark.parametrize(
    "security",
    [
        "starttls",
        # aiosmtpd warns of AUTH without its own STARTTLS: here the whole port is TLS.
        pytest.param(
            "tls",
            marks=pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
        ),
    ],
)
def test_tls_certificates_are_verified_and_the_login_is_made_over_tls(
    tmp_path: Path, db_url: str, pki: Pki, security: str
) -> None:
    """STARTTLS and implicit TLS against a server that requires a login (and, for STARTTLS,
    the upgrade before anything else). Its certificate is verified: signed by a CA pecflow
    does not know, the attempt is a connection error, reported as a retry but charged to no
    e-mail (it stays pending, attempts 0, due at the next run, the reason in `last_error`),
    nothing delivered and no password sent. With `smtp.ca_file` naming that CA (relative to
    the config file) the e-mail is delivered once, over TLS, by the user given in
    PECFLOW_SMTP__USERNAME / PECFLOW_SMTP__PASSWORD."""
    recorder = Recorder()
    if security == "starttls":
        server: dict[str, Any] = {"tls_context": pki.server, "require_starttls": True}
    else:
        # aiosmtpd offers AUTH only after its own STARTTLS unless told the link is safe: on
        # an implicit TLS port it is, from the first byte.
        server = {"ssl_context": pki.server, "auth_require_tls": False}
    with serving(
        recorder, auth_required=True, authenticator=recorder.authenticate, **server
    ) as port:
        ws = _workspace(tmp_path, db_url, port, f'security = "{security}"\n')
        ws.env.update(PECFLOW_SMTP__USERNAME=SMTP_USER, PECFLOW_SMTP__PASSWORD=SMTP_PASSWORD)
        _a_confirmed_order(ws)

        code, report = _pass(ws, T0)
        assert code == 1
        shown = _the_email(ws)
        assert (shown["status"], shown["attempts"]) == ("pending", 0), shown
        assert "cannot reach the SMTP server" in shown["last_error"]
        assert "CERTIFICATE_VERIFY_FAILED" in shown["last_error"], shown["last_error"]
        assert shown["next_attempt_at"] is None, "a connection error puts off no e-mail"
        assert _email_items(report) == [("failed", shown["last_error"])]
        assert recorder.logins == [], "no password goes to an unverified server"
        assert recorder.deliveries == [] and recorder.attempts == 0

        (tmp_path / "trusted-ca.pem").write_bytes(pki.ca.read_bytes())
        ws.config.write_text(
            ws.config.read_text(encoding="utf-8") + 'ca_file = "trusted-ca.pem"\n',
            encoding="utf-8",
        )
        code, report = _pass(ws, T0 + dt.timedelta(minutes=1))
        assert code == 0, report
        assert _email_items(report) == [("sent", None)]
        delivery = _assert_delivered_once(recorder)
        assert delivery.login == SMTP_USER
        assert delivery.tls is not None and delivery.tls.startswith("TLSv1"), delivery.tls
        assert recorder.logins, "the server saw a login"
        assert {(user, ok) for _, user, ok in recorder.logins} == {(SMTP_USER, True)}
        sent = _the_email(ws)
        assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 1, None)

        with left_alone(recorder):
            _pass(ws, T0 + dt.timedelta(minutes=2))
        assert len(recorder.to_customer) == 1


# --- 5. the server away, or the connection lost -----------------------------------------------

DOWN_PASSES = 7  # more passes than smtp.max_attempts (5): an outage that long fails nothing


def test_a_server_down_longer_than_max_attempts_passes_fails_nothing(
    tmp_path: Path, db_url: str
) -> None:
    """The SMTP port is closed for DOWN_PASSES runs, 10 minutes apart: each run reports the
    e-mail not sent (exit 1) and why, but charges it no attempt, so it stays `pending` with
    attempts 0 and due at the next run. When the server is back, the next run delivers it
    once."""
    port = free_port()  # nothing listens there until the server comes back
    ws = _workspace(tmp_path, db_url, port)
    _a_confirmed_order(ws)
    now = T0
    for _ in range(DOWN_PASSES):
        code, report = _pass(ws, now)
        shown = _the_email(ws)
        assert (shown["status"], shown["attempts"]) == ("pending", 0), shown
        assert shown["next_attempt_at"] is None
        assert "cannot reach the SMTP server" in shown["last_error"]
        assert "ConnectionRefusedError" in shown["last_error"], shown["last_error"]
        assert code == 1 and _email_items(report) == [("failed", shown["last_error"])]
        now += dt.timedelta(minutes=10)
    assert {row["attempts"] for row in _outbox(ws).values()} == {0}, "no e-mail was charged"

    recorder = Recorder()
    with serving(recorder, port=port):
        code, report = _pass(ws, now)
        assert code == 0, report
        assert _email_items(report) == [("sent", None)]
        _assert_delivered_once(recorder)
        sent = _the_email(ws)
        assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 1, None)
        with left_alone(recorder):
            _pass(ws, now + dt.timedelta(minutes=10))
        assert len(recorder.to_customer) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_refused_login_is_a_configuration_error_charged_to_no_email(
    tmp_path: Path, db_url: str
) -> None:
    """A wrong SMTP password (535) is the configuration's fault, not the e-mail's: however
    many runs meet it, the e-mail stays `pending` with attempts 0 and the refusal in
    `last_error`; once the password is right, the next run delivers it once."""
    recorder = Recorder()
    with serving(
        recorder,
        auth_required=True,
        auth_require_tls=False,
        authenticator=recorder.authenticate,
    ) as port:
        ws = _workspace(tmp_path, db_url, port)
        ws.env.update(PECFLOW_SMTP__USERNAME=SMTP_USER, PECFLOW_SMTP__PASSWORD="wrong")
        _a_confirmed_order(ws)
        for minutes in range(DOWN_PASSES):
            code, report = _pass(ws, T0 + dt.timedelta(minutes=minutes))
            shown = _the_email(ws)
            assert (shown["status"], shown["attempts"]) == ("pending", 0), shown
            assert "refused the login" in shown["last_error"]
            assert "535" in shown["last_error"], shown["last_error"]
            assert code == 1 and _email_items(report) == [("failed", shown["last_error"])]
        assert recorder.deliveries == [] and recorder.attempts == 0
        assert {ok for _, _, ok in recorder.logins} == {False}

        ws.env["PECFLOW_SMTP__PASSWORD"] = SMTP_PASSWORD
        code, report = _pass(ws, T0 + dt.timedelta(hours=1))
        assert code == 0, report
        assert _assert_delivered_once(recorder).login == SMTP_USER
        sent = _the_email(ws)
        assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 1, None)


@dataclass
class HangsUp(Recorder):
    """Ends the SMTP session at the customer's first RCPT TO: drops the connection, or says
    421 (closing) as a server shutting down does."""

    how: str = "drop"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address == CUSTOMER and self.attempts == 0:
            self.attempts += 1
            if self.how == "drop":
                server.transport.close()
            return "421 4.3.2 Service shutting down"
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


@pytest.mark.parametrize("how", ["drop", "421"])
def test_a_connection_lost_mid_batch_ends_the_pass_and_charges_only_its_email(
    tmp_path: Path, db_url: str, how: str
) -> None:
    """The connection ends during the customer's e-mail, before its DATA (dropped, or a 421):
    that e-mail is a normal retry (attempt 1, back in a minute), the pass stops there and the
    run's other e-mail (the renewal's, queued after it) is not tried on the dead connection:
    still `pending`, attempts 0, no error, reported not sent. The next run delivers each once."""
    recorder = HangsUp(how=how)
    with serving(recorder) as port:
        ws = _workspace(tmp_path, db_url, port)
        _a_confirmed_order(ws)
        code, report = _pass(ws, T0)
        assert code == 1
        outbox = _outbox(ws)
        mine, other = outbox.pop(CUSTOMER), outbox.popitem()[1]
        assert mine["id"] < other["id"], "the customer's e-mail is the batch's first"
        assert (mine["status"], mine["attempts"]) == ("pending", 1), mine
        assert ("421" if how == "421" else "SMTPServerDisconnected") in mine["last_error"]
        assert (other["status"], other["attempts"], other["last_error"]) == ("pending", 0, None)
        emails = {i["order"]: i for i in report["items"] if i["type"] == "email"}
        assert emails.keys() == {mine["order"], other["order"]}
        assert emails[mine["order"]]["outcome"] == "failed"
        assert emails[other["order"]]["outcome"] == "failed", "the batch shows it unsent"
        assert "not tried" in emails[other["order"]]["detail"]
        assert recorder.deliveries == []

        code, report = _pass(ws, T0 + dt.timedelta(minutes=1))
        assert code == 0, report
        _assert_delivered_once(recorder)
        assert recorder.others == 1
        assert {(r["status"], r["attempts"]) for r in _outbox(ws).values()} == {
            ("sent", 2),
            ("sent", 1),
        }
