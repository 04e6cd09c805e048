"""Scans and phone photos of a document: rendered, turned, speckled, or wrapped in a PDF."""

from __future__ import annotations

import io
import random

import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def scan(
    pdf: bytes, *, dpi: int = 200, rotate: int = 0, noise: float = 0.0, seed: int = 1
) -> Image.Image:
    """The first page as a grey scan: turned by `rotate` degrees, with salt-and-pepper noise."""
    page = pdfium.PdfDocument(pdf)[0].render(scale=dpi / 72).to_pil().convert("L")
    if noise:
        chance = random.Random(seed)
        pixels = page.load()
        width, height = page.size
        for _ in range(int(width * height * noise)):
            pixels[chance.randrange(width), chance.randrange(height)] = chance.choice((0, 255))
        page = page.filter(ImageFilter.MedianFilter(1))
    return page.rotate(rotate, expand=True, fillcolor=255) if rotate else page


def scan_png(pdf: bytes, **options: object) -> bytes:
    return _png(scan(pdf, **options))  # type: ignore[arg-type]


def image_only_pdf(image: Image.Image) -> bytes:
    """A PDF holding only the picture of a page, as office scanners produce: no text layer."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
    page.showPage()
    page.save()
    return buffer.getvalue()


def decompression_bomb_png() -> bytes:
    """A tiny file that unpacks to 400 million pixels."""
    return _png(Image.new("1", (20_000, 20_000), 1))


def blank_photo_png() -> bytes:
    return _png(Image.new("L", (1200, 1600), 235))
