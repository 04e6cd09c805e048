"""Hostile input gets an answer, never a crash: the sandbox, MIME, file names, sniffing."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pebble.pool.process import WORKERS_NAME

from parsers.classify import Classification, DocumentKind, classify_text
from parsers.mime import bare_file, parse_message, safe_filename
from parsers.sandbox import Rejected, Sandbox
from parsers.sniff import sniff
from pipeline.services.run import read_ahead


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(workers=1, memory_bytes=256 * 1024 * 1024) as pool:
        yield pool


def _sleep_forever() -> None:
    time.sleep(60)


def _eat_memory() -> bytes:
    return b"x" * (1024 * 1024 * 1024)


def _crash() -> None:
    import os

    os._exit(9)


def _double(value: int) -> int:
    return 2 * value


def _refuse() -> None:
    raise Rejected("encrypted PDF")


@pytest.mark.slow  # waits out a 2 s limit
def test_a_parser_that_hangs_is_stopped_at_the_time_limit(sandbox) -> None:
    started = time.monotonic()
    with pytest.raises(Rejected, match="longer than 2 s"):
        sandbox.run(_sleep_forever, (), 2)
    assert time.monotonic() - started < 10
    assert sandbox.run(_double, (21,), 2) == 42  # the killed worker was replaced


def test_a_parser_that_eats_memory_is_stopped_at_the_memory_limit(sandbox) -> None:
    with pytest.raises(Rejected, match="memory"):
        sandbox.run(_eat_memory, (), 5)
    assert sandbox.run(_double, (1,), 2) == 2


def test_a_parser_that_dies_is_reported(sandbox) -> None:
    with pytest.raises(Rejected, match="crashed"):
        sandbox.run(_crash, (), 5)
    assert sandbox.run(_double, (2,), 2) == 4


def test_a_parser_s_own_refusal_keeps_its_reason(sandbox) -> None:
    with pytest.raises(Rejected, match=r"^encrypted PDF$"):
        sandbox.run(_refuse, (), 5)


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


@pytest.mark.parametrize(
    ("text", "kind", "subtype"),
    [
        ("Contabile bonifico\nBeneficiario: Visura\nImporto 24,40", "payment_receipt", "bonifico"),
        ("Bollettino postale\nVersamento su c/c n. 12345678\nImporto", "payment_receipt",
         "bollettino"),
        ("Ricevuta di pagamento con carta di credito VISA\nEsercente: Visura\nImporto 24,84",
         "payment_receipt", "carta"),
        ("CONTRATTO di fornitura\nFirma del richiedente", "contract", None),
        # A contract asking for an identity document is still a contract.
        ("CONTRATTO PEC\nIl richiedente allega la carta d'identità o il passaporto\nFirma",
         "contract", None),
        ("REPUBBLICA ITALIANA\nCARTA D'IDENTITÀ", "identity_document", "carta_identita"),
        ("PATENTE DI GUIDA\nREPUBBLICA ITALIANA\n4b. 14/05/2031", "identity_document",
         "patente"),
        ("PASSAPORTO / PASSPORT\nData di scadenza / Date of expiry", "identity_document",
         "passaporto"),
        ("Buongiorno, vi scrivo per", "other", None),
        ("microcrociera sul lago", "other", None),  # "cro" only at the start of a word
    ],
)  # fmt: skip
def test_words_decide_the_kind_and_the_variety(text: str, kind: str, subtype: str | None) -> None:
    assert classify_text(text) == Classification(DocumentKind(kind), subtype)


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


def _meet(value: int, place: str) -> int:
    """Returns only when another worker process is here at the same time (the readings of
    0 and 1 meet, then 2 and 3), or fails after 20 s."""
    Path(place, str(value)).touch()
    partner = Path(place, str(value ^ 1))
    for _ in range(2000):
        if partner.exists():
            return value
        time.sleep(0.01)
    raise TimeoutError(f"reading {value} met no other")


def test_a_batch_reads_its_files_in_parallel_worker_processes(tmp_path: Path) -> None:
    """Two readings that can only finish together: they must run at the same time, in two
    worker processes, and come back in order."""
    with Sandbox(workers=2, memory_bytes=256 * 1024 * 1024) as pool:
        readings = read_ahead(
            range(4), lambda i: pool.run(_meet, (i, str(tmp_path)), 30), workers=2
        )
        assert [(item, future.result()) for item, future in readings] == [(i, i) for i in range(4)]


def _allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def test_the_memory_limit_counts_from_what_a_worker_inherits() -> None:
    """A large running program (a batch holding messages) must not eat the parsers' share."""
    ballast = bytearray(700 * 1024 * 1024)  # address space, not touched
    with Sandbox(workers=1, memory_bytes=256 * 1024 * 1024) as pool:
        assert pool.run(_allocate, (128,), 10) == 128 * 1024 * 1024
        with pytest.raises(Rejected, match="memory"):
            pool.run(_allocate, (512,), 10)
    del ballast


@pytest.mark.slow  # waits 1 s for the pool
def test_workers_that_die_between_calls_are_replaced() -> None:
    with Sandbox(workers=2, memory_bytes=256 * 1024 * 1024) as pool:
        assert pool.run(_double, (1,), 5) == 2
        for child in multiprocessing.active_children():
            if child.name == WORKERS_NAME:
                os.kill(child.pid or 0, signal.SIGKILL)
        time.sleep(1)
        assert pool.run(_double, (3,), 5) == 6
