"""Tesseract's own library (libtesseract, Debian's `libtesseract5`, which `tesseract-ocr` runs
on), called in the parser worker through its C interface.

The `tesseract` command loads its models (ita+eng) anew for every page it reads: 0.3 s of CPU,
a third of reading an A4 page, and again for every further reading (a page on its head, small
print enlarged). The library loads them once per worker process and reads a page exactly as
the command does (the same TSV, word for word). Its messages ("Estimating resolution as 248")
go nowhere, as the command's captured stderr did. A crash or a failed allocation inside it
ends the worker, which the sandbox reports as the file's (Rejected) and replaces.
"""

from __future__ import annotations

import ctypes
import os
import time
from dataclasses import dataclass

from PIL import Image

from parsers.sandbox import Rejected

LIBRARY = "libtesseract.so.5"
SPARSE_TEXT = 11  # PSM_SPARSE_TEXT: every word wherever it stands, no columns assumed


@dataclass(frozen=True)
class _Engine:
    library: ctypes.CDLL
    api: int  # a TessBaseAPI with the languages loaded
    pid: int  # the process it was made in: a forked child makes its own


_engines: dict[str, _Engine] = {}

_API = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[list[object], object]] = {
    "TessBaseAPICreate": ([], _API),
    "TessBaseAPISetVariable": ([_API, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "TessBaseAPIInit3": ([_API, ctypes.c_char_p, ctypes.c_char_p], ctypes.c_int),
    "TessBaseAPISetPageSegMode": ([_API, ctypes.c_int], None),
    "TessBaseAPISetImage": (
        [_API, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int],
        None,
    ),
    "TessBaseAPISetSourceResolution": ([_API, ctypes.c_int], None),
    "TessBaseAPIRecognize": ([_API, ctypes.c_void_p], ctypes.c_int),
    "TessBaseAPIGetTsvText": ([_API, ctypes.c_int], ctypes.POINTER(ctypes.c_char)),
    "TessDeleteText": ([ctypes.POINTER(ctypes.c_char)], None),
    "TessBaseAPIClear": ([_API], None),
    "TessMonitorCreate": ([], ctypes.c_void_p),
    "TessMonitorSetDeadlineMSecs": ([ctypes.c_void_p, ctypes.c_int], None),
    "TessMonitorDelete": ([ctypes.c_void_p], None),
}


def _engine(languages: str) -> _Engine:
    """This process's Tesseract for `languages`, made at its first page."""
    engine = _engines.get(languages)
    if engine is not None and engine.pid == os.getpid():
        return engine
    # One thread: the sandbox already reads one file per core, and Tesseract's own threads
    # make it several times slower on these machines. OpenMP reads this when it is loaded.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        library = ctypes.CDLL(LIBRARY)
    except OSError:
        raise Rejected("needs OCR, and Tesseract is not installed") from None
    for name, (arguments, result) in _SIGNATURES.items():
        function = getattr(library, name)
        function.argtypes, function.restype = arguments, result
    api = library.TessBaseAPICreate()
    library.TessBaseAPISetVariable(api, b"debug_file", b"/dev/null")
    if library.TessBaseAPIInit3(api, None, languages.encode()) != 0:
        raise Rejected(f"needs OCR, and Tesseract's languages ({languages}) are not installed")
    library.TessBaseAPISetPageSegMode(api, SPARSE_TEXT)
    _engines[languages] = engine = _Engine(library, api, os.getpid())
    return engine


def read_tsv(page: Image.Image, languages: str, dpi: int | None, timeout: float) -> str:
    """Tesseract's words on a grey page ("L"), as its TSV without the heading line. `dpi`:
    the page's resolution when known; else Tesseract estimates it from the text."""
    engine = _engine(languages)
    library, api = engine.library, engine.api
    library.TessBaseAPISetImage(api, page.tobytes(), page.width, page.height, 1, page.width)
    if dpi:
        library.TessBaseAPISetSourceResolution(api, dpi)
    monitor = library.TessMonitorCreate()
    try:
        library.TessMonitorSetDeadlineMSecs(monitor, round(timeout * 1000))
        started = time.monotonic()
        if library.TessBaseAPIRecognize(api, monitor) != 0:
            if time.monotonic() - started >= timeout:
                raise Rejected(f"OCR took longer than {timeout:g} s")
            return ""  # no page to read (too small, say): no words, as from the command
        text = library.TessBaseAPIGetTsvText(api, 0)
        try:
            return ctypes.string_at(text).decode("utf-8", errors="replace")
        finally:
            library.TessDeleteText(text)
    finally:
        library.TessMonitorDelete(monitor)
        library.TessBaseAPIClear(api)
