"""Ops alerts: one e-mail per incident (IMAP unreachable poll after poll, batches with many
failed items), not one per poll; a new incident after recovery gets its own."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parsers.mime import decode_text
from pipeline.incidents import should_alert
from tests.conftest import free_port
from tests.test_pipeline import _ready, _receipt

OPS = "ops@visura.it"


def _alerts(mailbox) -> list[str]:
    return [" ".join(decode_text(m["Subject"]).split()) for m in mailbox.messages if m["To"] == OPS]


def _poll(ws, minute: int) -> int:
    return ws.cli("run", "--once", "--now", f"2026-11-20T10:{minute:02d}:00+01:00").exit_code


@given(st.integers(1, 50), st.integers(1, 10), st.booleans())
def test_an_incident_alerts_once_when_it_reaches_its_threshold(count, limit, alerted) -> None:
    assert should_alert(count, limit, alerted) == (not alerted and count >= limit)


def test_imap_unreachable_for_n_polls_is_one_email_per_incident(imap_ws) -> None:
    ws, dovecot, mailbox = imap_ws
    ws.env.update(PECFLOW_MAIL__OPS_ADDRESS=OPS, PECFLOW_ALERTS__IMAP_UNREACHABLE_POLLS="3")
    _ready(ws)
    ws.env["PECFLOW_IMAP__PORT"] = str(free_port())  # nothing listens there
    exits = [_poll(ws, minute) for minute in range(0, 10, 2)]  # five polls
    assert exits == [1] * 5
    assert _alerts(mailbox) == ["pecflow: la casella IMAP non risponde (dal 20/11/2026 alle 10:00)"]
    alert = next(m for m in mailbox.messages if m["To"] == OPS)
    text = next(p for p in alert.walk() if p.get_content_type() == "text/plain")
    assert "(3 esecuzioni di seguito)" in text.get_payload(decode=True).decode()
    ws.env["PECFLOW_IMAP__PORT"] = str(dovecot.port)  # back: the incident closes
    assert _poll(ws, 10) == 0
    ws.env["PECFLOW_IMAP__PORT"] = str(free_port())
    for minute in (12, 14, 16):
        _poll(ws, minute)
    assert len(_alerts(mailbox)) == 2  # a new incident, after the recovery
    assert _alerts(mailbox)[1].endswith("(dal 20/11/2026 alle 10:12)")


def test_batches_with_many_failures_are_one_email_per_incident(ws_mail, monkeypatch) -> None:
    ws, mailbox = ws_mail
    ws.env.update(PECFLOW_MAIL__OPS_ADDRESS=OPS, PECFLOW_ALERTS__BATCH_FAILURES="2")

    import pipeline.process

    original = pipeline.process.process_message

    def broken(session, message, *args, **kwargs):
        # A bug on the first try only: the next run, which tries failed messages again,
        # decides them, so each poll's failures are its new messages'.
        if message.failed_runs == 0:
            raise RuntimeError("simulated bug")
        return original(session, message, *args, **kwargs)

    _ready(ws)
    monkeypatch.setattr("pipeline.process.process_message", broken)
    for minute in (0, 2, 4):
        for n in range(2):
            (ws.drop / f"r{minute}-{n}.pdf").write_bytes(_receipt(amount=f"{minute}{n}.00"))
        assert _poll(ws, minute) == 1
    assert _alerts(mailbox) == [
        "pecflow: molti elementi falliti nei lotti (dal 20/11/2026 alle 10:00)"
    ]
    (ws.drop / "one.pdf").write_bytes(_receipt(amount="99.00"))
    assert _poll(ws, 6) == 1  # one failure only: below the threshold, the incident is over
    for minute in (8, 10):
        for n in range(2):
            (ws.drop / f"s{minute}-{n}.pdf").write_bytes(_receipt(amount=f"{minute}{n}.50"))
        _poll(ws, minute)
    assert _alerts(mailbox)[1].endswith("(dal 20/11/2026 alle 10:08)")
