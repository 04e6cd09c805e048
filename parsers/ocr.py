"""Text from scans and photos with Tesseract, and the confidence of it. Runs inside the parser
sandbox; every Tesseract reading has the parse time limit.

Each page is first turned so that its lines are horizontal (parsers.upright: skew and quarter
turns). Tesseract's confidence then tells whether the page stood on its head: below
`FLIP_BELOW` the page is read once more turned round, and the better reading is kept. An
upright page costs one reading by Tesseract's library (parsers.tesseract), less than the bare
command, which loads its models for every page.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageOps, ImageSequence

from parsers.barcodes import read_barcodes
from parsers.classify import DocumentKind, classify_text
from parsers.sandbox import Rejected
from parsers.tesseract import read_tsv
from parsers.upright import first_turn

DPI = 300  # PDF pages are rendered at this resolution
MIN_DPI = 100  # below this, a file's own resolution is a camera's placeholder (72), not a scan's
MAX_PIXELS = 60_000_000  # a 300 dpi A3 page is ~17 Mpx; beyond this it is a bomb, not a scan
LANGUAGES = "ita+eng"
FLIP_BELOW = 0.7  # upright text reads at 0.85 and more, text on its head at about 0.4
SKEW_IGNORED = 0.3  # degrees; turning costs more than it helps below this
CONTRAST_CUTOFF = 1  # per cent of the darkest and the lightest pixels left out of the stretch
DIM_PAPER = 200  # the lightest grey (bar that per cent) of a photo taken in poor light
SMALL_TEXT = 15  # pixels: words read this small are read again enlarged...
TEXT_HEIGHT = 26  # ... to about this height
MAX_ENLARGEMENT = 2.5
# The enlarged reading replaces the first only when clearly better: a 200 dpi scan reads as
# well either way, and its digits in boxes read better as they were.
ENLARGED_BETTER_BY = 0.03
SURE_WORD = 60  # confidence (0-100) of the words whose height counts


@dataclass(frozen=True)
class OcrPage:
    text: str
    confidence: float  # mean word confidence, 0..1
    barcodes: tuple[str, ...] = ()
    layout: str = ""  # each word where it stands on its line, for a statement's columns


@dataclass(frozen=True)
class OcrText:
    page_texts: tuple[OcrPage, ...]
    confidence: float  # mean word confidence over all pages, 0..1

    @property
    def text(self) -> str:
        return "\n".join(page.text for page in self.page_texts)

    @property
    def pages(self) -> int:
        return len(self.page_texts)

    @property
    def barcodes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for page in self.page_texts for code in page.barcodes))


@dataclass(frozen=True)
class _Page:
    lines: list[str]
    confidences: list[float]
    layout: list[str]
    text_height: float  # the median height of the words read with confidence, in pixels

    @property
    def confidence(self) -> float:
        return _mean(self.confidences)


def _mean(confidences: list[float]) -> float:
    """Tesseract's word confidences (0-100) as one figure from 0 to 1."""
    return sum(confidences) / len(confidences) / 100 if confidences else 0.0


def _tesseract(page: Image.Image, timeout: float) -> str:
    return read_tsv(page, LANGUAGES, _resolution(page), timeout)


def _resolution(page: Image.Image) -> int | None:
    """Known for a rendered PDF page or a scan that says it, else None: Tesseract guesses it
    better than a wrong figure, and a forced 300 dpi slows photos down by a fifth."""
    dpi = page.info.get("dpi")
    if isinstance(dpi, tuple) and len(dpi) == 2 and min(dpi) >= MIN_DPI:
        return round(dpi[1])
    return None


@dataclass(frozen=True)
class _Word:
    left: int
    right: int
    centre: float
    height: int
    text: str


def _words(tsv: str) -> _Page:
    """Tesseract's words as visual lines, followed from left to right: a label and its value
    far to the right (which Tesseract may put in different blocks) end up on one line, even
    where the photo's perspective lets the line drift up or down."""
    words: list[_Word] = []
    confidences: list[float] = []
    for row in tsv.splitlines():
        cells = row.split("\t")
        if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        words.append(_Word(left, left + width, top + height / 2, height, cells[11]))
        confidences.append(max(0.0, float(cells[10])))
    lines: list[list[_Word]] = []
    for word in sorted(words, key=lambda w: w.left):
        following = [
            line
            for line in lines
            if line[-1].right <= word.left + word.height
            and abs(line[-1].centre - word.centre) <= 0.6 * max(line[-1].height, word.height)
        ]
        if following:
            min(following, key=lambda line: abs(line[-1].centre - word.centre)).append(word)
        else:
            lines.append([word])
    lines.sort(key=lambda line: sum(w.centre for w in line) / len(line))
    sure = sorted(w.height for w, c in zip(words, confidences, strict=True) if c >= SURE_WORD)
    return _Page(
        [" ".join(w.text for w in line) for line in lines],
        confidences,
        _layout(lines, words),
        sure[len(sure) // 2] if sure else 0.0,
    )


def _layout(lines: list[list[_Word]], words: list[_Word]) -> list[str]:
    """The lines with each word at the column its left edge stands at, one column per typical
    character width: a table's columns line up again, as in pdfplumber's layout text."""
    widths = sorted((w.right - w.left) / len(w.text) for w in words if len(w.text) >= 3)
    if not widths:
        return [" ".join(w.text for w in line) for line in lines]
    char = max(widths[len(widths) // 2], 1.0)
    laid = []
    for line in lines:
        text = ""
        for word in line:
            column = round(word.left / char)
            text += " " * max(column - len(text), 1 if text else 0) + word.text
        laid.append(text)
    return laid


def _turned(page: Image.Image, angle: float) -> Image.Image:
    angle = (angle + 180.0) % 360.0 - 180.0
    if abs(angle) < SKEW_IGNORED:
        return page
    # Nearest neighbour: a tenth of the time of bilinear on a 300 dpi page (10 ms, not 100), and
    # Tesseract reads the two alike (measured on the test photos).
    return page.rotate(angle, resample=Image.Resampling.NEAREST, expand=True, fillcolor=255)


def _brightened(page: Image.Image) -> Image.Image:
    """A dim photo (a card on a dark desk, in poor light: its paper no lighter than mid grey)
    stretched to the full range of grey, which takes Tesseract from reading nothing to 0.7. A
    page whose paper is white is left as it is: stretching it would darken a card's pale
    background pattern into the text."""
    histogram = page.histogram()
    left_out = sum(histogram) * CONTRAST_CUTOFF / 100
    brightest, seen = 255, 0
    while seen < left_out and brightest > 0:
        seen += histogram[brightest]
        brightest -= 1
    if brightest >= DIM_PAPER:
        return page
    return ImageOps.autocontrast(page, cutoff=CONTRAST_CUTOFF)


def read_page(page: Image.Image, timeout: float) -> _Page:
    """`page`: grey ("L"), as decoded or rendered."""
    page = _brightened(page)
    angle = first_turn(page)
    reading = _words(_tesseract(_turned(page, angle), timeout))
    if reading.confidence < FLIP_BELOW:
        other = _words(_tesseract(_turned(page, angle + 180.0), timeout))
        if other.confidence > reading.confidence:
            reading, angle = other, angle + 180.0
    # Small print (a counter's receipt stub photographed whole on a sheet): Tesseract reads
    # words best some 25 pixels high, so such a page is read once more enlarged.
    if 0 < reading.text_height < SMALL_TEXT:
        scale = min(TEXT_HEIGHT / reading.text_height, MAX_ENLARGEMENT)
        size = (round(page.width * scale), round(page.height * scale))
        if size[0] * size[1] <= MAX_PIXELS:
            larger = page.resize(size, Image.Resampling.BICUBIC)
            again = _words(_tesseract(_turned(larger, angle), timeout))
            if again.confidence >= reading.confidence + ENLARGED_BETTER_BY:
                reading = again
    return reading


def ocr_images(images: list[Image.Image], timeout: float) -> OcrText:
    """Every page's words, and the QR codes and barcodes of every page that is not a payment
    receipt: a contract's code has no amount to confirm it, a receipt's has."""
    pages: list[OcrPage] = []
    confidences: list[float] = []
    for image in images:
        page = read_page(image, timeout)
        text = "\n".join(page.lines)
        receipt = classify_text(text).kind is DocumentKind.PAYMENT_RECEIPT
        barcodes = () if receipt else tuple(dict.fromkeys(read_barcodes(image)))
        layout = "\n".join(page.layout)
        pages.append(OcrPage(text, round(page.confidence, 3), barcodes, layout))
        confidences += page.confidences
    return OcrText(tuple(pages), round(_mean(confidences), 3))


def _check_pixels(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise Rejected(
            f"image of {width}x{height} pixels, more than {MAX_PIXELS} (a decompression bomb?)"
        )


def ocr_image(data: bytes, max_pages: int, timeout: float) -> OcrText:
    """A photo or scan: JPEG, PNG, or TIFF with one or more pages."""
    return ocr_images(image_pages(data, max_pages), timeout)


def image_pages(data: bytes, max_pages: int) -> list[Image.Image]:
    """The pages of a photo or scan, grey and turned as its EXIF orientation says."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                frames = getattr(image, "n_frames", 1)
                if frames > max_pages:
                    raise Rejected(f"too many pages ({frames}, the limit is {max_pages})")
                # A JPEG decodes straight to grey (its luma alone): a sixth of the time of
                # decoding its colours and then dropping them.
                image.draft("L", image.size)
                pages = []
                for frame in ImageSequence.Iterator(image):
                    _check_pixels(*frame.size)
                    ImageOps.exif_transpose(frame, in_place=True)
                    pages.append(frame.convert("L"))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Rejected(f"image larger than {MAX_PIXELS} pixels (a decompression bomb?)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise Rejected(f"unreadable image ({exc})") from None
    return pages


def ocr_pdf(data: bytes, max_pages: int, timeout: float) -> OcrText:
    """Render each page at 300 dpi and read it; for PDFs that are only scanned images."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise Rejected(f"unreadable PDF ({exc})") from None
    if len(document) > max_pages:
        raise Rejected(f"too many pages ({len(document)}, the limit is {max_pages})")
    images = []
    for page in document:
        width, height = page.get_size()
        _check_pixels(round(width * DPI / 72), round(height * DPI / 72))
        image = page.render(scale=DPI / 72, grayscale=True).to_pil()
        image.info["dpi"] = (DPI, DPI)
        images.append(image)
    return ocr_images(images, timeout)
