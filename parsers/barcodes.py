"""QR codes and barcodes on a page. The contract pecflow sends carries its order code as a QR
code, which still reads on a scan that OCR reads poorly."""

from __future__ import annotations

import zxingcpp
from PIL import Image

_FORMATS = zxingcpp.barcode_formats_from_str("QRCode,DataMatrix,Code128")


def read_barcodes(page: Image.Image) -> list[str]:
    """The text of every readable code on the page, in any direction."""
    return [code.text for code in zxingcpp.read_barcodes(page, formats=_FORMATS) if code.text]
