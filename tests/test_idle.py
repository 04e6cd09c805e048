"""IMAP IDLE on a real Dovecot: the watcher hears mail another client APPENDs, re-issues its
IDLE, comes back after the server restarts, says once that a server has no IDLE; and the real
scheduler, whose crontab poll is a year away, processes a message within 10 s of its arrival."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from config.settings import ImapSettings
from mailer.inbound.idle import IdleWatcher
from pipeline.store.models import Message as StoredMessage
from tests.conftest import free_port
from tests.docgen.messages import make_email
from tests.dovecot import PASSWORD, USER, Dovecot, commands_sent
from tests.test_imap import _client, _ready, _receipt_mail
from tests.test_scheduler import _configure, _scalar, _until

pytestmark = pytest.mark.integration  # a real Dovecot in every test

ARRIVAL_SECONDS = 10  # the promise: processed within 10 s of its arrival


def _settings(server: Dovecot, **changes: object) -> ImapSettings:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": server.port,
        "security": "plain",
        "allow_plain": True,
        "username": USER,
        "password": PASSWORD,
        "timeout_seconds": 5,
        **changes,
    }
    return ImapSettings.model_validate(values)


def _append(server: Dovecot, raw: bytes) -> None:
    """Another IMAP client delivers a message (arrival: the server's clock, now)."""
    with _client(server) as client:
        client.append("INBOX", raw)


def _question(subject: str = "Domanda") -> bytes:
    return make_email(sender="mario.rossi@example.it", subject=subject, body="Una domanda.")


class _Calls:
    """What the watcher calls when it hears of mail: counted, and waited for."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_past(self, count: int, seconds: float) -> float:
        """Seconds until the count passes `count`; fails after `seconds`."""
        start = time.monotonic()
        with self._changed:
            if not self._changed.wait_for(lambda: self.count > count, seconds):
                raise AssertionError(f"no call past {count} within {seconds} s")
        return time.monotonic() - start


def test_the_watcher_hears_appended_mail_reissues_its_idle_and_ignores_mail_leaving(
    dovecot,
) -> None:
    calls = _Calls()
    with commands_sent() as sent:
        watcher = IdleWatcher(_settings(dovecot), calls, reissue_seconds=0.3).start()
        try:
            calls.wait_past(0, 10)  # connected: one call for what arrived before
            time.sleep(1.2)  # about four IDLEs of 0.3 s
            assert calls.count == 1, "nothing arrived, nothing is announced"
            _append(dovecot, _question())
            assert calls.wait_past(1, 5) < 2
            with _client(dovecot) as client:  # filed as a poll files it: mail leaving
                client.create_folder("pecflow")
                client.select_folder("INBOX")
                client.move(client.search("ALL"), "pecflow")
            time.sleep(1)
            assert calls.count == 2, "mail leaving is no news"
        finally:
            assert watcher.stop(5)
    assert sent.count("IDLE") >= 3, sent


def test_the_watcher_hears_mail_over_tls() -> None:
    """The service's usual way in: implicit TLS, the certificate verified against a CA file."""
    server = Dovecot(tls=True).start()
    try:
        calls = _Calls()
        settings = _settings(
            server, port=server.tls_port, security="tls", ca_file=server.certificate
        )
        watcher = IdleWatcher(settings, calls).start()
        try:
            calls.wait_past(0, 10)
            time.sleep(1.2)  # a second wait over TLS, with nothing to say
            _append(server, _question())
            assert calls.wait_past(1, 5) < 2
        finally:
            assert watcher.stop(5)
    finally:
        server.stop()
    assert calls.count == 2


def test_the_watcher_connects_again_after_the_server_restarts(dovecot, caplog) -> None:
    caplog.set_level(logging.INFO, logger="mailer.inbound.idle")
    calls = _Calls()
    watcher = IdleWatcher(_settings(dovecot), calls, draw=lambda: 0.0).start()
    try:
        calls.wait_past(0, 10)
        dovecot.kill()
        time.sleep(1)  # refused meanwhile: the watcher backs off
        dovecot.restart()
        calls.wait_past(1, 10)  # connected again, and asks for a poll for what it missed
        _append(dovecot, _question())
        calls.wait_past(2, 5)
    finally:
        assert watcher.stop(5)
    lines = [r.getMessage() for r in caplog.records]
    assert sum("IMAP IDLE: watching INBOX" in line for line in lines) == 2, lines
    assert any("watching again in" in line for line in lines), lines


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "watching again in" in r.getMessage()]


def _until_said(caplog: pytest.LogCaptureFixture, count: int, seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while len(_refusals(caplog)) < count:
        assert time.monotonic() < deadline, f"not {count} refusals within {seconds} s"
        time.sleep(0.02)
    return _refusals(caplog)


def test_a_server_that_is_down_is_tried_again_with_a_doubling_backoff(caplog) -> None:
    closed = ImapSettings.model_validate(
        {"host": "127.0.0.1", "port": free_port(), "security": "plain", "allow_plain": True}
    )  # nothing listens there
    calls = _Calls()
    watcher = IdleWatcher(closed, calls, draw=lambda: 0.0).start()
    try:
        said = _until_said(caplog, 3, 10)
    finally:
        assert watcher.stop(5)
    assert [line.rsplit(" in ", 1)[1] for line in said[:3]] == ["0.5 s", "1.0 s", "2.0 s"]
    assert all("Connection refused" in line for line in said), said
    assert calls.count == 0


def test_a_refused_login_is_one_line_without_the_password(dovecot, caplog) -> None:
    """Dovecot makes a second wrong login wait 4.5 s: one refusal is enough here."""
    secret = "not-the-password"
    calls = _Calls()
    watcher = IdleWatcher(_settings(dovecot, password=secret), calls, draw=lambda: 0.0)
    watcher.start()
    try:
        said = _until_said(caplog, 1, 10)
    finally:
        assert watcher.stop(5)  # in its 0.5 s backoff: at once
    assert said == [
        f"IMAP 127.0.0.1:{dovecot.port}: login: b'[AUTHENTICATIONFAILED] Authentication "
        "failed.'; watching again in 0.5 s"
    ]
    assert calls.count == 0
    assert secret not in caplog.text and PASSWORD not in caplog.text


class _NoIdleDovecot(Dovecot):
    """A Dovecot that does not offer IDLE (as some servers do not)."""

    def _write_config(self) -> None:
        super()._write_config()
        with self.config.open("a", encoding="utf-8") as config:
            config.write("protocol imap {\n  imap_capability = IMAP4rev1 UIDPLUS MOVE\n}\n")


def test_a_server_without_idle_is_said_once_and_left_to_the_crontab(caplog) -> None:
    server = _NoIdleDovecot().start()
    try:
        calls = _Calls()
        watcher = IdleWatcher(_settings(server), calls).start()
        assert watcher.stop(10), "the watcher ends by itself"
    finally:
        server.stop()
    assert calls.count == 0
    said = [r.getMessage() for r in caplog.records if r.name == "mailer.inbound.idle"]
    assert said == [
        f"IMAP 127.0.0.1:{server.port} offers no IDLE: new mail waits for the crontab poll"
    ]


def _start(ws, log: Path) -> subprocess.Popen[bytes]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    with log.open("wb") as err:
        return subprocess.Popen(
            [
                str(Path(sys.executable).with_name("pecflow")),
                "--config",
                str(ws.config),
                "scheduler",
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**clean, **ws.env},
        )


def _messages(ws, *where) -> int:
    return _scalar(ws, select(func.count()).select_from(StoredMessage).where(*where))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_with_idle_the_scheduler_processes_new_mail_within_10_seconds(imap_ws) -> None:
    """The crontab poll is a year away: only the IDLE watcher can have asked for the polls."""
    ws, dovecot, _ = imap_ws
    _configure(ws)
    with ws.config.open("a", encoding="utf-8") as config:
        config.write("[imap]\nidle = true\n")
    _ready(ws)
    log = ws.root / "scheduler.log"
    process = _start(ws, log)
    try:
        _until(lambda: log.read_text().count("IMAP IDLE: watching") == 1, "watching", 30)
        _append(dovecot, _receipt_mail())
        arrived = time.monotonic()
        _until(lambda: _messages(ws, StoredMessage.outcome == "processed") == 1, "processed", 30)
        first = time.monotonic() - arrived

        dovecot.kill()
        dovecot.restart()
        _until(lambda: log.read_text().count("IMAP IDLE: watching") == 2, "watching again", 30)
        _append(dovecot, _question())
        arrived = time.monotonic()
        _until(lambda: _messages(ws) == 2, "the second message", 30)
        second = time.monotonic() - arrived
    finally:
        process.terminate()
        code = process.wait(60)
    err = log.read_text()
    assert code == 0, err
    assert first < ARRIVAL_SECONDS and second < ARRIVAL_SECONDS, (first, second, err)
    assert "scheduler: stopped" in err and PASSWORD not in err
