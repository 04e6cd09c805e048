"""One page of a stored document as a PNG that the server drew, for the ops console to show
beside a review item. The browser never gets the customer's file: a PDF may carry scripts and
forms, an image may aim at a decoder's bugs, and a phone photo's EXIF may hold where it was
taken. What it gets is pixels, re-encoded here, with no metadata.

PDFium and Pillow read untrusted bytes, so `render_in` runs them in the parser sandbox: a
hostile file costs a worker, never the web process. Every failure, whatever its cause, is one
PageError with a short reason for the log.
"""

from __future__ import annotations

import io
import math
import signal
import threading
import warnings
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageOps

from parsers.sandbox import Rejected, Sandbox, SandboxFailed
from parsers.sniff import sniff

# PDF's own limit for a side of a page: 14,400 units, 200 inches (ISO 32000-1, annex C). A
# larger page is not paper but a way to ask for a bitmap the size of a wall.
PDF_MAX_POINTS = 14_400.0
# No side of the PNG longer than this: a page like a till roll is drawn narrower instead.
MAX_SIDE = 10_000
# Pillow formats tried, by the type sniffed from the bytes: never Pillow's whole list, whose
# rarer decoders are its least tested.
_PILLOW_FORMATS = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/tiff": "TIFF",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
_MULTI_PAGE = {"TIFF"}  # a scanner's sheets; a GIF's or an MPO's other frames are not pages


class PageError(Rejected):
    """The page cannot be shown; `reason` is a short English sentence for the log. A Rejected,
    so that the sandbox passes it back from its worker as it is."""


@dataclass(frozen=True)
class PageLimits:
    width: int = 1400  # pixels a page is drawn across: legible beside a review item
    max_pixels: int = 4_000_000  # of the PNG, whatever size the page declares
    # Of an image before it is shrunk: a decompression bomb declares far more. Large enough
    # for a 48 Mpx phone photo; a JPEG counts at the reduced size it is decoded at.
    max_source_pixels: int = 60_000_000
    max_bytes: int = 20 * 1024 * 1024  # as an attachment's (limits.max_attachment_bytes)
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        """A wrong limit is the caller's mistake, not the document's: ValueError, at once."""
        if min(self.width, self.max_pixels, self.max_source_pixels, self.max_bytes) < 1:
            raise ValueError(f"page limits must be positive: {self}")
        if not self.timeout_seconds > 0:
            raise ValueError(f"the time limit must be positive: {self}")


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    page: int  # 1-based, as asked
    pages: int  # how many the document has, for paging
    width: int
    height: int


def render_page(data: bytes, page: int, limits: PageLimits) -> RenderedPage:
    """Page `page` (1-based) of a PDF or an image as a PNG; raises PageError for anything else.
    A pure function of the bytes: run it through `render_in`, not in a web process."""
    if not data:
        raise PageError("empty file (0 bytes)")
    if len(data) > limits.max_bytes:
        raise PageError(f"too large ({len(data)} bytes, the limit is {limits.max_bytes})")
    media = _media_type(data)
    try:
        if media == "application/pdf":
            return _pdf_page(data, page, limits)
        if media in _PILLOW_FORMATS:
            return _image_page(data, page, limits, _PILLOW_FORMATS[media])
    except MemoryError:
        raise PageError("needs more memory than the limit allows") from None
    raise PageError(f"not a PDF or an image ({media})")


def render_in(sandbox: Sandbox, data: bytes, page: int, limits: PageLimits) -> RenderedPage:
    """render_page in a sandbox worker, within the time limit; a timeout, a worker killed for
    its memory, or the workers failing altogether all end as PageError."""
    try:
        return sandbox.run(_render_killable, (data, page, limits), limits.timeout_seconds)
    except PageError:
        raise
    except Rejected as exc:  # the sandbox's own: a timeout, a crash, memory
        raise PageError(f"the page could not be drawn: {exc.reason}") from None
    except SandboxFailed as exc:
        raise PageError(f"the page could not be drawn: {exc}") from None


def _render_killable(data: bytes, page: int, limits: PageLimits) -> RenderedPage:
    """render_page in a worker that the time limit ends at once. The pool stops a worker past
    its time with SIGTERM, whose handler is Python's and so waits until PDFium returns, which
    a hostile page makes it never do: the pool then waits 3 s more and kills it. With the
    default action SIGTERM ends the worker at once. Only for this call: the worker goes on
    serving other parsers."""
    if threading.current_thread() is not threading.main_thread():
        return render_page(data, page, limits)  # signals are the main thread's to set
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        return render_page(data, page, limits)
    finally:
        if previous is not None:  # None: a handler set outside Python, not ours to restore
            signal.signal(signal.SIGTERM, previous)


def _media_type(data: bytes) -> str:
    """sniff's answer, and WebP, which sniff does not know (the pipeline quarantines it, and
    ops may still want to look at it)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return sniff(data)


def _check_page(page: int, pages: int) -> None:
    if pages < 1:
        raise PageError("the document has no pages")
    if not 1 <= page <= pages:
        raise PageError(f"no page {page}: the document has {pages}")


def _scale(width: float, height: float, limits: PageLimits, *, enlarge: bool) -> float:
    """The scale that draws a page `limits.width` pixels across, lowered until the bitmap has
    at most `limits.max_pixels` pixels and no side longer than MAX_SIDE: a page's declared
    size is the sender's word. Sides are rounded up, as PDFium rounds them."""
    scale = min(
        limits.width / width,
        math.sqrt(limits.max_pixels / (width * height)),
        MAX_SIDE / max(width, height),
    )
    if not enlarge:
        scale = min(scale, 1.0)
    while math.ceil(width * scale) * math.ceil(height * scale) > limits.max_pixels:
        scale *= 0.99
    return scale


def _png(image: Image.Image, page: int, pages: int) -> RenderedPage:
    """Pixels only: no EXIF (it may hold GPS), no ICC profile, no text chunks."""
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return RenderedPage(buffer.getvalue(), page, pages, image.width, image.height)


def _pdf_page(data: bytes, page: int, limits: PageLimits) -> RenderedPage:
    """PDFium draws the page's content and annotations' appearances; no form environment is
    started, so no JavaScript or form logic runs."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise PageError(_pdf_reason(exc)) from None
    try:
        pages = len(document)
        _check_page(page, pages)
        try:
            pdf_page = document[page - 1]
            width, height = pdf_page.get_size()
        except pdfium.PdfiumError as exc:
            raise PageError(f"corrupt PDF: page {page} cannot be read ({exc})") from None
        if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
            raise PageError(f"page {page} has no size ({width} x {height} points)")
        if max(width, height) > PDF_MAX_POINTS:
            raise PageError(
                f"page {page} declares {width:.0f} x {height:.0f} points, more than a PDF page "
                f"may be ({PDF_MAX_POINTS:.0f})"
            )
        scale = _scale(width, height, limits, enlarge=True)
        bitmap = pdf_page.render(
            scale=scale, may_draw_forms=False, limit_image_cache=True, rev_byteorder=True
        )
        image = bitmap.to_pil().convert("RGB")
        return _png(image, page, pages)
    finally:
        document.close()


def _pdf_reason(exc: pdfium.PdfiumError) -> str:
    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return "encrypted PDF: it cannot be shown without its password"
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return "encrypted PDF with an unsupported security handler"
    return f"corrupt PDF ({exc})"


def _image_page(data: bytes, page: int, limits: PageLimits, fmt: str) -> RenderedPage:
    """The picture as the camera meant it (EXIF orientation applied), shrunk to the page size
    of a PDF, with none of its metadata."""
    try:
        # Pillow's warnings (its own bomb check, which only warns below twice its limit, and
        # complaints about corrupt EXIF) are not for the log: the limit below is the one here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data), formats=[fmt]) as image:
                pages = getattr(image, "n_frames", 1) if image.format in _MULTI_PAGE else 1
                _check_page(page, pages)
                if page > 1:
                    image.seek(page - 1)
                # A JPEG decodes at 1/2, 1/4 or 1/8 of its size when that is enough: a large
                # phone photo then costs a fraction of its memory. Either way up, the page
                # still has `limits.width` pixels across.
                image.draft(image.mode, (limits.width, limits.width))
                width, height = image.size
                if width * height > limits.max_source_pixels:
                    raise PageError(
                        f"image of {width} x {height} pixels, more than "
                        f"{limits.max_source_pixels} (a decompression bomb?)"
                    )
                upright = _flattened(ImageOps.exif_transpose(image))
    except PageError:
        raise
    except Image.DecompressionBombError as exc:
        raise PageError(f"image too large to decode ({exc})") from None
    except MemoryError:
        raise
    except Exception as exc:
        # Any error a decoder raises on hostile bytes (OSError, ValueError, SyntaxError,
        # struct.error, EOFError ... vary by format and Pillow version) means: unreadable.
        raise PageError(f"unreadable image ({type(exc).__name__}: {str(exc)[:200]})") from None
    scale = _scale(upright.width, upright.height, limits, enlarge=False)
    if scale < 1.0:
        size = (max(1, math.ceil(upright.width * scale)), max(1, math.ceil(upright.height * scale)))
        upright = upright.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _png(upright, page, pages)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, or L for grey: transparency laid on white paper, 16-bit grey brought to 8 bits,
    palettes and CMYK made plain colour."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I"):  # 16- or 32-bit grey, as some scanners save it
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return image.convert("RGB")
