"""Scans and photos read with a real Tesseract: straightening, orientation, confidence, hostile
images."""

from __future__ import annotations

import io
import json
import os
import subprocess
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageChops, ImageStat
from sqlalchemy import select

from parsers.facts import extract_payment_facts
from parsers.ocr import LANGUAGES, MAX_PIXELS, image_pages, ocr_image, ocr_pdf
from parsers.sandbox import Rejected
from parsers.tesseract import read_tsv
from parsers.upright import first_turn, ink, line_angle
from pipeline.store.db import make_engine
from pipeline.store.models import Document
from tests.docgen.messages import make_email
from tests.docgen.paperwork import contract_pdf, identity_pdf
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import (
    blank_photo_png,
    decompression_bomb_png,
    giant_page_pdf,
    image_only_pdf,
    photo,
    scan,
    scan_png,
    tiff_pages,
)
from tests.test_pipeline import _ready, _run

RECEIPT = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
TESSERACT_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


@pytest.mark.integration  # Tesseract
@pytest.mark.parametrize("rotate", [0, 90, 180])
def test_a_turned_scan_is_read_upright(rotate: int) -> None:
    ocr = ocr_image(scan_png(RECEIPT, rotate=rotate, noise=0.002), 50, 60)
    facts = extract_payment_facts(ocr.text)
    assert (facts.codes, facts.amount) == (["LM3454898"], Decimal("24.40"))
    assert ocr.confidence > 0.8


@pytest.mark.integration  # Tesseract: its library and its command
def test_the_library_reads_a_page_word_for_word_as_the_command_does(tmp_path) -> None:
    """Page after page in one process (nothing carries over), the resolution said or not."""
    scanned = scan(RECEIPT, noise=0.002)
    rendered = scan(contract_pdf("LM3454898", "Mario Rossi", "m@x.it"), dpi=300)
    rendered.info["dpi"] = (300, 300)
    for n, page in enumerate([scanned, rendered, scanned]):
        path = tmp_path / f"{n}.png"
        page.save(path, dpi=page.info.get("dpi", (0, 0)))
        command = ["tesseract", str(path), "stdout", "-l", LANGUAGES, "--psm", "11", "tsv"]
        done = subprocess.run(command, capture_output=True, check=True, env=TESSERACT_ENV)
        _heading, words = done.stdout.decode().split("\n", 1)
        dpi = page.info.get("dpi", (None, None))[1]
        assert read_tsv(page, LANGUAGES, dpi, 60) == words


@pytest.mark.integration  # Tesseract
def test_a_reading_past_its_time_limit_is_refused() -> None:
    with pytest.raises(Rejected, match=r"OCR took longer than 0\.01 s"):
        read_tsv(scan(RECEIPT), LANGUAGES, None, 0.01)


PAGE = scan(RECEIPT, dpi=100)


def _off_by(found: float, turned: float) -> float:
    """How far (degrees) a found turn is from undoing `turned`, modulo a half turn."""
    return abs((found + turned + 90) % 180 - 90)


@pytest.mark.slow  # 25 turned pages: ~1.5 s
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(min_value=-89, max_value=89))
def test_the_angle_of_the_lines_is_found_whatever_the_turn(turned: float) -> None:
    """Skew and quarter turns alike: the turn found makes the lines horizontal again."""
    page = PAGE.rotate(turned, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    assert _off_by(line_angle(ink(page)), turned) <= 0.5


@pytest.mark.parametrize("document", ["receipt", "contract"])
@pytest.mark.parametrize("turned", [90, -90, 87])
def test_a_page_on_its_side_is_first_tried_with_its_ascenders_up(document, turned) -> None:
    pdf = RECEIPT if document == "receipt" else contract_pdf("LM3454898", "Mario Rossi", "m@x.it")
    angle = first_turn(scan(pdf, dpi=150, rotate=turned))
    assert abs((angle + turned + 180) % 360 - 180) <= 0.5


@pytest.mark.integration  # Tesseract
@pytest.mark.parametrize(("skew", "seed"), [(-7, 1), (-2.5, 2), (3, 3), (8, 4)])
def test_a_phone_photo_is_straightened_and_read(skew: float, seed: int) -> None:
    """On a desk, turned, in perspective, lit from one side, JPEG: code and amount still read."""
    ocr = ocr_image(photo(RECEIPT, skew=skew, seed=seed), 50, 60)
    facts = extract_payment_facts(ocr.text)
    assert (facts.codes, facts.amount) == (["LM3454898"], Decimal("24.40"))
    assert ocr.confidence > 0.8


@pytest.mark.integration  # Tesseract
def test_every_page_of_a_scanned_tiff_is_read() -> None:
    pages = [
        scan(contract_pdf("LM3454898", "Mario Rossi", "m@x.it")),
        scan(identity_pdf("Rossi", "Mario")),
    ]
    ocr = ocr_image(tiff_pages(pages), 50, 60)
    assert ocr.pages == 2
    assert "CONTRATTO" in ocr.text and "ROSSI" in ocr.text


@pytest.mark.parametrize("orientation", [1, 6, 3])  # as taken, turned right, on its head
def test_a_photo_is_decoded_grey_and_turned_as_its_exif_says(orientation: int) -> None:
    """A JPEG is decoded straight to grey (its luma), as its colours turned grey would be."""
    upright = scan(RECEIPT, dpi=50).convert("RGB")
    stored = {1: upright, 6: upright.rotate(90, expand=True), 3: upright.rotate(180)}
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    buffer = io.BytesIO()
    stored[orientation].save(buffer, "JPEG", quality=95, exif=exif)
    (page,) = image_pages(buffer.getvalue(), 50)
    assert (page.mode, page.size) == ("L", upright.size)
    difference = ImageChops.difference(page, upright.convert("L"))
    assert ImageStat.Stat(difference).mean[0] < 3


def test_a_tiff_of_too_many_pages_is_refused_unread() -> None:
    blank = Image.new("L", (50, 50), 255)
    with pytest.raises(Rejected, match="too many pages"):
        ocr_image(tiff_pages([blank] * 4), 3, 60)


@pytest.mark.slow  # ~1.3 s
def test_a_decompression_bomb_is_refused_unread() -> None:
    with pytest.raises(Rejected, match="decompression bomb"):
        ocr_image(decompression_bomb_png(), 50, 60)


def test_an_image_just_over_the_pixel_limit_is_refused_too() -> None:
    """Pillow only warns between the limit and twice the limit; pecflow refuses."""
    side = int(MAX_PIXELS**0.5) + 100
    with pytest.raises(Rejected, match="decompression bomb"):
        ocr_image(_blank_png(side), 50, 60)


def test_a_pdf_page_too_large_to_render_is_refused_unrendered() -> None:
    with pytest.raises(Rejected, match="decompression bomb"):
        ocr_pdf(giant_page_pdf(), 50, 60)


def _blank_png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (side, side), 1).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_photographed_receipt_and_a_scanned_pdf_confirm_their_orders(ws_mail) -> None:
    ws, mailbox = ws_mail
    _ready(ws)
    photo = scan_png(RECEIPT, rotate=90, noise=0.001)
    (ws.drop / "foto.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject="pagamento",
            body="foto della contabile",
            attachments=[("IMG_2041.png", "image/png", photo)],
        )
    )
    other = make_receipt_pdf(
        default_spec(["LM3454898"], Decimal("24.40"), cro="11122233344"), "poste_bonifico"
    )
    (ws.drop / "scansione.pdf").write_bytes(image_only_pdf(scan(other, rotate=180)))
    (ws.drop / "vuota.png").write_bytes(blank_photo_png())
    _, report = _run(ws)
    outcomes = {m["ref"]: (m["outcome"], m["reason"]) for m in report["messages"]}
    assert outcomes["foto.eml"] == ("processed", None)
    assert outcomes["scansione.pdf"][0] == "review"  # the same order, now already paid
    assert outcomes["scansione.pdf"][1].startswith("already_paid")
    assert outcomes["vuota.png"][0] == "review"
    assert outcomes["vuota.png"][1].startswith("unreadable")
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    with engine.connect() as conn:
        methods = conn.execute(select(Document.text_method, Document.text_confidence)).all()
    engine.dispose()
    assert {m for m, _ in methods} == {"ocr"}
    assert len(mailbox.messages) == 1
    listing = json.loads(ws.cli("review", "list", "--json").stdout)
    assert sorted(i["reason"] for i in listing) == ["already_paid", "unreadable"]
