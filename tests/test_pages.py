"""A stored document's page drawn as a PNG for the ops console: PDFs and images of every kind
come out as plain pixels of a sensible size, upright and without metadata; hostile files, and
the sandbox's limits, end as one PageError with a reason."""

from __future__ import annotations

import faulthandler
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageChops, ImageStat

from parsers.pages import PageError, PageLimits, RenderedPage, render_in, render_page
from parsers.sandbox import Sandbox
from tests.docgen.hostile import (
    encrypted_pdf,
    executable_as_pdf,
    junk_before_header_pdf,
    many_pages_pdf,
    not_a_pdf,
    self_drawing_form_pdf,
    slow_shading_pdf,
    truncated_pdf,
    zero_byte,
)
from tests.docgen.ids import identity_pdf, identity_spec
from tests.docgen.receipts import default_spec, make_receipt_pdf
from tests.docgen.scans import (
    blank_photo_png,
    decompression_bomb_png,
    giant_page_pdf,
    photo,
    scan,
    tiff_pages,
)

LIMITS = PageLimits()
RECEIPT = make_receipt_pdf(default_spec(["LM3454898"], Decimal("24.40")), "intesa")
# A phone photo of an identity card on a desk: small, so that it is quick to make.
CARD_PHOTO = photo(identity_pdf(identity_spec("cie", "Rossi", "Mario"), side="front", sheet=False))


@pytest.fixture(scope="module")
def sandbox(pytestconfig: pytest.Config) -> Iterator[Sandbox]:
    """Workers with little memory: the page that eats it is stopped sooner, and a page needs
    far less. pytest's faulthandler is off while they live: a worker that PDFium aborts would
    print a "Fatal Python error" dump, alarming in a run that passes."""
    enabled = faulthandler.is_enabled()
    faulthandler.disable()
    try:
        with Sandbox(workers=1, memory_bytes=48 * 1024 * 1024) as pool:
            yield pool
    finally:
        if enabled:
            faulthandler.enable(file=_fault_file(pytestconfig))


def _fault_file(config: pytest.Config) -> int:
    """The file pytest's faulthandler wrote to, else the standard error."""
    try:
        from _pytest.faulthandler import fault_handler_stderr_fd_key

        return config.stash[fault_handler_stderr_fd_key]
    except (ImportError, KeyError):
        return 2


def _image(rendered: RenderedPage) -> Image.Image:
    """The PNG as a browser gets it, checked to be one, of the size the answer says."""
    image = Image.open(io.BytesIO(rendered.png))
    image.load()
    assert image.format == "PNG"
    assert image.size == (rendered.width, rendered.height)
    return image


def _chunks(png: bytes) -> set[bytes]:
    """The types of a PNG's chunks."""
    types, at = set(), 8
    while at + 8 <= len(png):
        length = int.from_bytes(png[at : at + 4], "big")
        types.add(png[at + 4 : at + 8])
        at += 12 + length
    return types


def _ink(image: Image.Image) -> float:
    """The share of dark pixels: a page of text has some, a blank page none."""
    histogram = image.convert("L").histogram()
    return sum(histogram[:128]) / sum(histogram)


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# --- PDFs ------------------------------------------------------------------------------------


def test_a_receipt_pdf_is_drawn_as_a_png_page_about_1400_pixels_wide() -> None:
    rendered = render_page(RECEIPT, 1, LIMITS)
    image = _image(rendered)
    assert (rendered.page, rendered.pages) == (1, 1)
    assert 1200 <= rendered.width <= 1600
    assert rendered.height / rendered.width == pytest.approx(297 / 210, rel=0.01)  # A4
    assert 0.002 < _ink(image) < 0.2  # text, on white paper


def test_a_pdf_with_junk_before_its_header_is_drawn_like_the_pdf() -> None:
    assert render_page(junk_before_header_pdf(RECEIPT), 1, LIMITS) == render_page(
        RECEIPT, 1, LIMITS
    )


def test_a_multi_page_pdf_says_how_many_pages_it_has_and_draws_each() -> None:
    pdf = many_pages_pdf(3)
    first, last = render_page(pdf, 1, LIMITS), render_page(pdf, 3, LIMITS)
    assert (first.page, first.pages, last.page, last.pages) == (1, 3, 3, 3)
    assert first.png != last.png  # "Pagina 1", "Pagina 3"
    assert _ink(_image(last)) > 0


@pytest.mark.parametrize("page", [0, -1, 4, 10**9])
def test_a_page_out_of_range_is_a_page_error(page: int) -> None:
    with pytest.raises(PageError, match=r"no page .*the document has 3"):
        render_page(many_pages_pdf(3), page, LIMITS)


def test_a_page_5_metres_wide_is_drawn_small_not_as_a_giant_bitmap() -> None:
    rendered = render_page(giant_page_pdf(), 1, LIMITS)
    assert rendered.width * rendered.height <= LIMITS.max_pixels
    assert 1200 <= rendered.width <= 1600


def test_the_pixel_cap_lowers_the_scale() -> None:
    limits = PageLimits(max_pixels=500_000)
    rendered = render_page(RECEIPT, 1, limits)
    assert 450_000 < rendered.width * rendered.height <= 500_000
    assert _ink(_image(rendered)) > 0


# --- in the sandbox --------------------------------------------------------------------------


def test_in_the_sandbox_a_page_is_drawn_as_in_process(sandbox: Sandbox) -> None:
    assert render_in(sandbox, RECEIPT, 1, LIMITS) == render_page(RECEIPT, 1, LIMITS)


def test_in_the_sandbox_the_reason_of_a_page_error_comes_back_as_it_is(sandbox: Sandbox) -> None:
    with pytest.raises(PageError, match=r"^encrypted PDF"):
        render_in(sandbox, encrypted_pdf(), 1, LIMITS)


def test_a_page_that_takes_too_long_to_draw_is_stopped(sandbox: Sandbox) -> None:
    """A shading computed pixel by pixel: minutes of drawing, stopped at the time limit."""
    with pytest.raises(PageError, match=r"longer than 0\.3 s"):
        render_in(sandbox, slow_shading_pdf(), 1, PageLimits(timeout_seconds=0.3))
    assert render_in(sandbox, RECEIPT, 1, LIMITS).pages == 1  # the worker was replaced


@pytest.mark.slow  # a worker filling its memory limit takes a second or two
def test_a_page_that_eats_memory_costs_its_worker_only(sandbox: Sandbox) -> None:
    """A form that draws itself: PDFium follows it until the worker's memory limit aborts it.
    In a web process it would take all the memory there is."""
    with pytest.raises(PageError, match="could not be drawn"):
        render_in(sandbox, self_drawing_form_pdf(), 1, PageLimits(timeout_seconds=20))
    assert render_in(sandbox, RECEIPT, 1, LIMITS).pages == 1


# --- images ----------------------------------------------------------------------------------

# How a phone held otherwise stores the picture, for each EXIF orientation that says so.
_STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def _phone_jpeg(orientation: int) -> bytes:
    """CARD_PHOTO as a phone saves it: pixels turned, an EXIF orientation to turn them back,
    and where it was taken."""
    upright = Image.open(io.BytesIO(CARD_PHOTO))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "Apple"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (41.0, 53.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (12.0, 29.0, 32.0)
    return _encoded(upright.transpose(_STORED[orientation]), "JPEG", quality=95, exif=exif)


@pytest.mark.parametrize("orientation", sorted(_STORED))
def test_a_phone_photo_comes_out_upright_and_without_its_exif(orientation: int) -> None:
    jpeg = _phone_jpeg(orientation)
    assert Image.open(io.BytesIO(jpeg)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it had GPS
    rendered = render_page(jpeg, 1, LIMITS)
    image = _image(rendered)
    upright = Image.open(io.BytesIO(CARD_PHOTO)).convert("RGB")
    assert image.size == upright.size  # small enough to keep its size
    difference = ImageStat.Stat(ImageChops.difference(image.convert("RGB"), upright)).mean
    assert max(difference) < 4  # the same picture, the same way up
    assert not image.getexif()
    assert not {"exif", "icc_profile", "dpi"} & set(image.info)
    assert not {b"eXIf", b"iCCP", b"tEXt", b"iTXt", b"zTXt"} & _chunks(rendered.png)


def test_a_large_scan_is_shrunk_to_the_page_width() -> None:
    rendered = render_page(blank_photo_png(), 1, PageLimits(width=600))
    assert (rendered.width, rendered.height) == (600, 800)


def test_a_small_image_is_not_enlarged() -> None:
    rendered = render_page(_encoded(Image.new("L", (300, 200), 128), "PNG"), 1, LIMITS)
    assert (rendered.width, rendered.height) == (300, 200)


def test_the_pages_of_a_multi_page_tiff_are_its_frames() -> None:
    sheets = [scan(RECEIPT, dpi=40), scan(many_pages_pdf(1), dpi=40)]
    tiff = tiff_pages(sheets)
    first, second = render_page(tiff, 1, LIMITS), render_page(tiff, 2, LIMITS)
    assert (first.pages, second.pages, second.page) == (2, 2, 2)
    assert _image(second).size == sheets[1].size
    assert first.png != second.png
    with pytest.raises(PageError, match="no page 3"):
        render_page(tiff, 3, LIMITS)


@pytest.mark.parametrize(
    ("image", "fmt", "pixel"),
    [
        (Image.new("RGBA", (40, 30), (0, 0, 0, 0)), "PNG", (255, 255, 255)),  # on white paper
        (Image.new("LA", (40, 30), (0, 0)), "PNG", (255, 255, 255)),
        (Image.new("1", (40, 30), 0), "PNG", 0),
        (Image.new("I;16", (40, 30), 65535), "PNG", 255),  # 16-bit grey
        (Image.new("P", (40, 30), 0), "GIF", (0, 0, 0)),
        (Image.new("CMYK", (40, 30), (0, 0, 0, 0)), "JPEG", (255, 255, 255)),
        (Image.new("RGB", (40, 30), (200, 10, 10)), "WEBP", None),
    ],
    ids=["rgba", "la", "1-bit", "16-bit", "gif", "cmyk-jpeg", "webp"],
)
def test_images_of_every_mode_come_out_as_plain_grey_or_colour(
    image: Image.Image, fmt: str, pixel: object
) -> None:
    out = _image(render_page(_encoded(image, fmt), 1, LIMITS))
    assert out.mode in ("L", "RGB")
    assert out.size == (40, 30)
    if pixel is not None:
        assert out.getpixel((20, 15)) == pixel


def test_a_jpeg_counts_at_the_size_it_is_decoded_at() -> None:
    """A large photo decodes at a fraction of its size when the page needs no more; the same
    picture as a PNG, which cannot, is over the limit."""
    picture = Image.open(io.BytesIO(CARD_PHOTO))
    limits = PageLimits(width=200, max_source_pixels=picture.width * picture.height // 2)
    assert render_page(CARD_PHOTO, 1, limits).width == 200
    with pytest.raises(PageError, match="decompression bomb"):
        render_page(_encoded(picture, "PNG"), 1, limits)


# --- hostile files ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (zero_byte, "empty file"),
        (not_a_pdf, r"not a PDF or an image \(application/octet-stream\)"),  # an HTML page
        (executable_as_pdf, r"not a PDF or an image \(application/x-executable\)"),
        (lambda: b"MZ\x90\x00" + bytes(60), "not a PDF or an image"),  # a Windows .exe
        (lambda: truncated_pdf(RECEIPT), "corrupt PDF"),
        (lambda: b"%PDF-1.7\n" + bytes(500), "corrupt PDF"),
        (encrypted_pdf, "encrypted PDF"),
        (lambda: giant_page_pdf(10**7), "declares 10000000 x 10000000 points"),
        # Pillow's own guard (400 Mpx); a second to make: with the slow tests.
        pytest.param(decompression_bomb_png, "too large to decode", marks=pytest.mark.slow),
        (lambda: blank_photo_png()[:200], "unreadable image"),
        (lambda: b"\xff\xd8\xff\xe0" + bytes(100), "unreadable image"),
    ],
    ids=[
        "empty",
        "html",
        "elf",
        "exe",
        "truncated-pdf",
        "corrupt-pdf",
        "encrypted",
        "enormous-mediabox",
        "bomb-png",
        "truncated-png",
        "corrupt-jpeg",
    ],
)
def test_a_file_that_cannot_be_shown_is_a_page_error_with_a_reason(make, reason: str) -> None:
    with pytest.raises(PageError, match=reason) as caught:
        render_page(make(), 1, LIMITS)
    assert caught.value.reason == str(caught.value)


def test_an_image_over_the_source_limit_is_refused_before_decoding() -> None:
    with pytest.raises(PageError, match=r"1200 x 1600 pixels.*decompression bomb"):
        render_page(blank_photo_png(), 1, PageLimits(max_source_pixels=1_000_000))


@pytest.mark.parametrize("wrong", [{"width": 0}, {"max_pixels": 0}, {"timeout_seconds": 0}])
def test_wrong_limits_are_the_callers_mistake(wrong: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        PageLimits(**wrong)  # type: ignore[arg-type]


def test_a_file_over_the_size_limit_is_refused_unread() -> None:
    with pytest.raises(PageError, match="too large"):
        render_page(RECEIPT, 1, PageLimits(max_bytes=len(RECEIPT) - 1))


# --- any bytes -------------------------------------------------------------------------------

SMALL = PageLimits(width=100, max_pixels=20_000)
_HEADS = [
    b"",
    b"%PDF-1.7\n",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"II*\x00",
    b"MM\x00*",
    b"GIF89a",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
]
_SEEDS = [
    _encoded(scan(RECEIPT, dpi=10), "PNG"),
    _encoded(scan(RECEIPT, dpi=10), "JPEG"),
    _encoded(scan(RECEIPT, dpi=10).convert("P"), "GIF"),
    _encoded(scan(RECEIPT, dpi=10).convert("RGB"), "WEBP"),
    tiff_pages([scan(RECEIPT, dpi=10), scan(RECEIPT, dpi=8)]),
]


def _answer(data: bytes, page: int) -> None:
    try:
        rendered = render_page(data, page, SMALL)
    except PageError as exc:
        assert exc.reason
    else:
        assert _image(rendered).width <= 100


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_HEADS), st.binary(max_size=2048), st.integers(-1, 3))
def test_any_bytes_are_drawn_or_a_page_error(head: bytes, tail: bytes, page: int) -> None:
    _answer(head + tail, page)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10**6),
    st.integers(1, 2),
)
def test_damaged_images_are_drawn_or_a_page_error(
    seed: bytes, changes: list[tuple[int, int]], cut: int, page: int
) -> None:
    """Real images with bytes changed and cut short: in process, as Pillow's decoders raise
    rather than crash (a damaged PDF can make PDFium loop or abort: it goes through the
    sandbox, above)."""
    data = bytearray(seed)
    for at, value in changes:
        data[at % len(data)] = value
    _answer(bytes(data[: max(8, len(data) - cut % len(data))]), page)
