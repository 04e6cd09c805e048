"""Hostile input gets an answer, never a crash: the sandbox, MIME, file names, sniffing."""

from __future__ import annotations

import time
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.classify import DocumentKind, classify_text
from parsers.mime import bare_file, parse_message, safe_filename
from parsers.sandbox import Limits, Rejected, run_limited
from parsers.sniff import sniff

LIMITS = Limits(timeout_seconds=2, memory_bytes=256 * 1024 * 1024)


def _sleep_forever() -> None:
    time.sleep(60)


def _eat_memory() -> bytes:
    return b"x" * (1024 * 1024 * 1024)


def _crash() -> None:
    import os

    os._exit(9)


def test_a_parser_that_hangs_is_stopped_at_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(Rejected, match="longer than 2 s"):
        run_limited(_sleep_forever, (), LIMITS)
    assert time.monotonic() - started < 10


def test_a_parser_that_eats_memory_is_stopped_at_the_memory_limit() -> None:
    with pytest.raises(Rejected, match="memory"):
        run_limited(_eat_memory, (), LIMITS)


def test_a_parser_that_dies_is_reported() -> None:
    with pytest.raises(Rejected, match="crashed"):
        run_limited(_crash, (), LIMITS)


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("/abs/path/ricevuta.pdf", "ricevuta.pdf"),
        ("C:\\Users\\x\\contabile.pdf", "contabile.pdf"),
        ("bad\x00name\r\n.pdf", "badname.pdf"),
        ("=?utf-8?q?ricevuta=5Fbonifico=2Epdf?=", "ricevuta_bonifico.pdf"),
        (".hidden", "hidden"),
        ("", None),
    ],
)
def test_file_names_from_a_message_lose_their_paths(name: str, shown: str | None) -> None:
    assert safe_filename(name) == shown


def test_a_pdf_is_known_by_its_bytes_not_its_name() -> None:
    assert sniff(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff(b"\x7fELF\x02\x01", "application/pdf") == "application/x-executable"
    assert sniff(b"") == "application/x-empty"


def test_a_forwarded_message_is_opened_and_its_attachment_found() -> None:
    inner = EmailMessage()
    inner["Subject"] = "Pagamento LM3454898"
    inner.set_content("contabile allegata")
    inner.add_attachment(
        b"%PDF-1.4 fake", maintype="application", subtype="octet-stream", filename="ricevuta.pdf"
    )
    outer = EmailMessage()
    outer["Subject"] = "Fwd: Pagamento"
    outer.set_content("vedi sotto")
    outer.add_attachment(inner)
    parsed = parse_message(outer.as_bytes())
    assert [a.media_type for a in parsed.attachments] == ["application/pdf"]
    assert "contabile allegata" in parsed.body_text


def test_a_message_in_an_unknown_charset_still_reads() -> None:
    raw = (
        b"Subject: =?x-unknown?q?Pagamento?=\r\nContent-Type: text/plain; charset=x-bogus\r\n"
        b"\r\nOrdine LM3454898 \xe8 pagato\r\n"
    )
    parsed = parse_message(raw)
    assert "LM3454898" in parsed.body_text


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_parse_to_an_answer(data: bytes) -> None:
    parsed = parse_message(data)
    assert isinstance(parsed.subject, str)
    assert bare_file(data).attachments[0].data == data


def test_words_decide_the_kind() -> None:
    assert classify_text("Contabile bonifico\nBeneficiario: Visura\nImporto 24,40") is (
        DocumentKind.PAYMENT_RECEIPT
    )
    assert classify_text("CONTRATTO di fornitura\nFirma del richiedente") is DocumentKind.CONTRACT
    assert classify_text("REPUBBLICA ITALIANA\nCARTA D'IDENTITÀ") is (
        DocumentKind.IDENTITY_DOCUMENT
    )
    assert classify_text("Buongiorno, vi scrivo per") is DocumentKind.OTHER


def test_rfc2231_names_and_tnef_are_understood() -> None:
    raw = (
        b"Subject: contabile\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
        b"Content-Type: text/plain\r\n\r\nciao\r\n--b\r\n"
        b"Content-Type: application/octet-stream;\r\n"
        b" name*=UTF-8''ricevuta%20n%C2%B01.pdf\r\n"
        b"Content-Disposition: attachment; filename*=UTF-8''ricevuta%20n%C2%B01.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b\r\n"
        b"Content-Type: application/ms-tnef; name=winmail.dat\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\neJ8+IgAA\r\n--b--\r\n"
    )
    parsed = parse_message(raw)
    names = [(a.filename, a.media_type) for a in parsed.attachments]
    assert names == [
        ("ricevuta n°1.pdf", "application/pdf"),
        ("winmail.dat", "application/ms-tnef"),
    ]


def test_forwarded_messages_are_opened_to_a_bounded_depth() -> None:
    message = EmailMessage()
    message["Subject"] = "origine"
    message.set_content("LM3454898 al livello più interno")
    for level in range(6):
        outer = EmailMessage()
        outer["Subject"] = f"Fwd {level}"
        outer.set_content(f"livello {level}")
        outer.add_attachment(message)
        message = outer
    parsed = parse_message(message.as_bytes())
    assert "LM3454898" not in parsed.body_text
    assert [a.declared_type for a in parsed.attachments] == ["message/rfc822"]
