"""Order codes (LM + 7 digits) as customers and banks write them."""

from __future__ import annotations

import re
import unicodedata

# Not inside a longer token (a TRN, an IBAN) and not followed by more digits (a phone number).
_CODE = re.compile(
    r"(?<![A-Z0-9])L[ \t]?M[ \t]*[-_.:#/]?[ \t]*((?:\d[ \t]?\n?){6}\d)(?![0-9])",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    """NFKC folds full-width digits and letters; the codes are then plain ASCII."""
    return unicodedata.normalize("NFKC", text)


def find_order_codes(text: str) -> list[str]:
    """Distinct codes in order of appearance, written canonically as LM1234567."""
    seen: dict[str, None] = {}
    for match in _CODE.finditer(normalise(text)):
        digits = re.sub(r"\s", "", match.group(1))
        seen.setdefault(f"LM{digits}", None)
    return list(seen)


def order_id(code: str) -> int:
    return int(code[2:])
