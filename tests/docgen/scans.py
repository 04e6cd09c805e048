"""Scans and phone photos of a document: rendered, turned, speckled, photographed, or wrapped in
a PDF."""

from __future__ import annotations

import io
import random

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageChops, ImageFilter
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


def _perspective(corners: list[tuple[float, float]], size: tuple[int, int]) -> list[float]:
    """PIL's eight coefficients mapping the output rectangle onto the four corners given."""
    width, height = size
    target = [(0, 0), (width, 0), (width, height), (0, height)]
    rows, values = [], []
    for (x, y), (u, v) in zip(target, corners, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values += [u, v]
    return [float(c) for c in np.linalg.solve(np.array(rows), np.array(values))]


def photo(pdf: bytes, *, skew: float = 3.0, seed: int = 1, quality: int = 70) -> bytes:
    """A phone photo of the printed page, as a JPEG: on a desk, turned by `skew` degrees, a
    little in perspective, lit unevenly from one side, slightly out of focus, with sensor noise."""
    chance = random.Random(seed)
    paper = pdfium.PdfDocument(pdf)[0].render(scale=200 / 72).to_pil().convert("RGB")
    paper = ImageChops.multiply(paper, Image.new("RGB", paper.size, (246, 243, 235)))
    mask = Image.new("L", paper.size, 255).rotate(skew, expand=True)
    paper = paper.rotate(skew, resample=Image.Resampling.BICUBIC, expand=True)
    margin_x, margin_y = paper.width // 12, paper.height // 12
    desk = Image.new("RGB", (paper.width + 2 * margin_x, paper.height + 2 * margin_y), (96, 78, 60))
    desk.paste(paper, (margin_x, margin_y), mask)
    width, height = desk.size
    lean = width * chance.uniform(0.01, 0.03)
    desk = desk.transform(
        desk.size,
        Image.Transform.PERSPECTIVE,
        _perspective([(-lean, 0), (width + lean, 0), (width, height), (0, height)], desk.size),
        Image.Resampling.BICUBIC,
        fillcolor=(96, 78, 60),
    )
    light = np.linspace(1.0, chance.uniform(0.62, 0.75), width)[None, :, None]
    pixels = np.asarray(desk, dtype=np.float32) * light
    pixels += np.random.default_rng(seed).standard_normal(pixels.shape, dtype=np.float32) * 5
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(0.8)
    )
    buffer = io.BytesIO()
    shot.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def image_only_pdf(image: Image.Image) -> bytes:
    """A PDF holding only the picture of a page, as office scanners produce: no text layer."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    page.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
    page.showPage()
    page.save()
    return buffer.getvalue()


def tiff_pages(images: list[Image.Image]) -> bytes:
    """A multi-page TIFF, as office scanners save a document of several sheets."""
    buffer = io.BytesIO()
    images[0].save(buffer, "TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw")
    return buffer.getvalue()


def giant_page_pdf(points: float = 14_000) -> bytes:
    """A one-page PDF with no text whose page is 5 x 5 metres: 3.5 billion pixels at 300 dpi.
    `points`: its side; beyond 14,400 the page is larger than PDF allows."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=(points, points), invariant=True)
    page.rect(100, 100, 200, 200, fill=1)
    page.showPage()
    page.save()
    return buffer.getvalue()


def decompression_bomb_png() -> bytes:
    """A tiny file that unpacks to 400 million pixels."""
    return _png(Image.new("1", (20_000, 20_000), 1))


def blank_photo_png() -> bytes:
    return _png(Image.new("L", (1200, 1600), 235))
