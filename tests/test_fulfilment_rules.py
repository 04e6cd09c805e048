"""The pure rules of fulfilment: expiry after a renewal, what papers are missing, one-time
passwords and their hashes, sealing, and which unreadable messages get an answer."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.provisioning import Credentials, hash_password, one_time_password, verify_password
from pipeline.rules.mailbox_term import paid_until, years_after
from pipeline.rules.order_documents import CONTRACT, IDENTITY, Paper, missing_papers
from pipeline.rules.replies import may_answer, problems
from pipeline.seal import SealError, seal, unseal

days = st.dates(date(2020, 1, 1), date(2040, 12, 31))


@given(days, st.none() | days, st.integers(1, 5))
def test_a_renewal_never_loses_nor_gives_twice_a_paid_day(today, current, years) -> None:
    until = paid_until(today, current, years)
    start = current if current and current >= today else today
    assert until == years_after(start, years)
    assert until > today and (current is None or until > current)
    assert abs((until - start) - timedelta(days=365 * years)) <= timedelta(days=2)


def test_29_february_becomes_28_february_in_a_common_year() -> None:
    assert years_after(date(2028, 2, 29), 2) == date(2030, 2, 28)
    assert paid_until(date(2026, 11, 23), date(2026, 12, 31), 2) == date(2028, 12, 31)
    assert paid_until(date(2026, 11, 23), date(2025, 1, 1), 2) == date(2028, 11, 23)


@pytest.mark.parametrize(
    ("papers", "missing"),
    [
        ([], [CONTRACT, IDENTITY]),
        ([Paper(CONTRACT)], [IDENTITY]),
        ([Paper(IDENTITY)], [CONTRACT]),
        ([Paper(CONTRACT), Paper(IDENTITY, expired_on=date(2025, 1, 1))], [IDENTITY]),
        ([Paper(CONTRACT), Paper(IDENTITY, date(2025, 1, 1)), Paper(IDENTITY)], []),
    ],
)
def test_missing_papers_names_what_activation_still_needs(papers, missing) -> None:
    assert missing_papers(papers) == missing


@given(st.integers(12, 64))
def test_one_time_passwords_mix_classes_and_only_their_hash_verifies(length) -> None:
    password = one_time_password(length)
    assert len(password) == length
    assert any(c.isupper() for c in password) and any(c.islower() for c in password)
    assert any(c.isdigit() for c in password) and not set(password) & set("0O1lI")


def test_a_password_hash_verifies_it_and_nothing_else() -> None:
    stored = hash_password("Segreta-123")
    assert stored.startswith("scrypt$") and "Segreta" not in stored
    assert verify_password("Segreta-123", stored)
    assert not verify_password("Segreta-124", stored)
    assert "Segreta" not in repr(Credentials("u1", "Segreta-123"))


def test_sealed_text_opens_only_with_its_key(tmp_path: Path) -> None:
    key = tmp_path / "keys" / "outbox.key"
    token = seal("Password: Segreta-123", key)
    assert "Segreta" not in token
    assert key.stat().st_mode & 0o077 == 0  # readable by the service only
    assert unseal(token, key) == "Password: Segreta-123"
    with pytest.raises(SealError, match="key file changed"):
        unseal(token, tmp_path / "another.key")


def test_only_fixable_problems_are_answered_each_once() -> None:
    reasons = [
        "OCR could not read it reliably (confidence 12%)",
        "encrypted PDF: it cannot be read without its password",
        "OCR could not read it reliably (confidence 30%)",
        "executable content (application/x-dosexec)",
        "image larger than 89478485 pixels (a decompression bomb?)",
    ]
    assert problems(reasons) == [
        "l'immagine allegata non è leggibile (sfocata, scura o troppo piccola)",
        "il PDF allegato è protetto da password e non possiamo aprirlo",
    ]
    assert problems(["parser crashed (exit code -9)"]) == []


@pytest.mark.parametrize(
    ("sender", "automatic", "answered"),
    [
        ("mario.rossi@example.it", False, True),
        ("mario.rossi@example.it", True, False),  # an auto-reply: robots never talk for ever
        ("MAILER-DAEMON@mx.example.it", False, False),
        ("noreply@bank.example", False, False),
        ("Amministrazione@visura.it", False, False),  # ourselves
        (None, False, False),  # a file dropped by hand
    ],
)
def test_who_gets_an_answer(sender, automatic, answered) -> None:
    assert may_answer(sender, automatic, {"amministrazione@visura.it"}) is answered


@pytest.mark.parametrize(
    ("headers", "automatic"),
    [
        ({}, False),
        ({"Auto-Submitted": "no"}, False),
        ({"Auto-Submitted": "auto-replied"}, True),
        ({"Precedence": "bulk"}, True),
        ({"List-Id": "<soci.example.it>"}, True),
    ],
)
def test_messages_written_by_programs_are_recognised(headers, automatic) -> None:
    from parsers.mime import parse_message
    from tests.docgen.messages import make_email

    raw = make_email(sender="a@example.it", subject="x", body="y", headers=headers)
    assert parse_message(raw).automatic is automatic
