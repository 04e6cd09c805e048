"""Text from scans and photos with Tesseract: orientation first (OSD), then words with their
confidence. Runs inside the parser sandbox; Tesseract itself gets the same time limit."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageOps

from parsers.sandbox import Rejected

DPI = 300
MAX_PIXELS = 60_000_000  # a 300 dpi A3 page is ~17 Mpx; beyond this it is a bomb, not a scan
LANGUAGES = "ita+eng"
_ROTATE = re.compile(r"Rotate: (\d+)")
# One Tesseract thread per page: the sandbox already runs pages one at a time per core.
_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}


@dataclass(frozen=True)
class OcrText:
    text: str
    confidence: float  # mean word confidence, 0..1
    pages: int


def _tesseract(image: Image.Image, *args: str, timeout: float) -> str:
    if shutil.which("tesseract") is None:
        raise Rejected("needs OCR, and Tesseract is not installed")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    try:
        done = subprocess.run(
            ["tesseract", "stdin", "stdout", "--dpi", str(DPI), *args],
            input=buffer.getvalue(),
            capture_output=True,
            timeout=timeout,
            env=_ENV,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Rejected(f"OCR took longer than {timeout:g} s") from None
    return done.stdout.decode("utf-8", errors="replace")


def _upright(image: Image.Image, timeout: float) -> Image.Image:
    """Turn a page the way Tesseract's orientation detection says it was scanned."""
    found = _ROTATE.search(_tesseract(image, "--psm", "0", "-l", "osd", timeout=timeout))
    angle = int(found.group(1)) if found else 0
    return image.rotate(-angle, expand=True, fillcolor=255) if angle else image


def _words(tsv: str) -> tuple[list[str], list[float]]:
    lines: dict[tuple[str, ...], list[str]] = {}
    confidences: list[float] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
            continue
        lines.setdefault(tuple(cells[1:5]), []).append(cells[11])
        confidences.append(max(0.0, float(cells[10])))
    return [" ".join(words) for words in lines.values()], confidences


def ocr_images(images: list[Image.Image], timeout: float) -> OcrText:
    text: list[str] = []
    confidences: list[float] = []
    for image in images:
        page = _upright(ImageOps.grayscale(image), timeout)
        lines, confs = _words(_tesseract(page, "-l", LANGUAGES, "--psm", "3", "tsv",
                                         timeout=timeout))  # fmt: skip
        text += lines
        confidences += confs
    mean = sum(confidences) / len(confidences) / 100 if confidences else 0.0
    return OcrText("\n".join(text), round(mean, 3), len(images))


def ocr_image(data: bytes, timeout: float) -> OcrText:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = [ImageOps.exif_transpose(image).convert("RGB")]
    except Image.DecompressionBombError:
        raise Rejected(f"image larger than {MAX_PIXELS} pixels (a decompression bomb?)") from None
    except (OSError, ValueError) as exc:
        raise Rejected(f"unreadable image ({exc})") from None
    return ocr_images(frames, timeout)


def ocr_pdf(data: bytes, max_pages: int, timeout: float) -> OcrText:
    """Render each page at 300 dpi and read it; for PDFs that are only scanned images."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise Rejected(f"unreadable PDF ({exc})") from None
    if len(document) > max_pages:
        raise Rejected(f"too many pages ({len(document)}, the limit is {max_pages})")
    images = [page.render(scale=DPI / 72).to_pil() for page in document]
    return ocr_images(images, timeout)
