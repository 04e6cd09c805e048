"""The real type of a part, from its first bytes: names and declared types are the sender's word."""

from __future__ import annotations

from parsers.signed import looks_signed

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x7fELF", "application/x-executable"),
    (b"MZ", "application/x-msdownload"),
    (b"\x78\x9f\x3e\x22", "application/ms-tnef"),
)


XML = "application/xml"
SIGNED_ENVELOPE = "application/pkcs7-mime"  # a CAdES .p7m: a document inside a signature
_SIGNED_NAMES = (SIGNED_ENVELOPE, "application/x-pkcs7-mime")


def sniff(data: bytes, declared: str | None = None) -> str:
    head = data[:1024]
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    # DER starts with a SEQUENCE; base64 or PEM only when the sender says it is a .p7m. Before
    # the PDF test below: a .p7m holds its PDF within its first bytes.
    if (head[:1] == b"\x30" or declared in _SIGNED_NAMES or head.startswith(b"-----BEGIN")) and (
        looks_signed(data)
    ):
        return SIGNED_ENVELOPE
    # Some producers put junk before the PDF header; readers accept it within the first 1 KiB.
    if b"%PDF-" in head:
        return "application/pdf"
    if declared and declared.startswith("text/"):
        return declared
    if head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(b"<?xml"):
        return XML  # an electronic invoice (FatturaPA), read as text
    if not data:
        return "application/x-empty"
    return "application/octet-stream"
