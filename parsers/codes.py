"""Order codes (LM + 7 digits) as customers, banks and OCR write them."""

from __future__ import annotations

import re
import unicodedata

# Not inside a longer token (a TRN, an IBAN) and not followed by more digits (a phone number).
_CODE = re.compile(
    r"(?<![A-Z0-9])L[ \t]?M[ \t]*[-_.:#/]?[ \t]*((?:\d[ \t]?\n?){6}\d)(?![0-9])",
    re.IGNORECASE,
)
# OCR (and hurried typing) turns digits into look-alike letters: 0/O, 1/I/l, 5/S, 8/B. Such a
# code must stand alone and keep at least four real digits, so that no word becomes a code.
_LOOKALIKE = re.compile(
    r"(?<![A-Za-z0-9])L[ \t]?M[ \t]*[-_.:#/]?[ \t]*([0-9OoIlSB](?:[ \t]?[0-9OoIlSB]){6})"
    r"(?![0-9A-Za-z])"
)
_DIGIT_FOR = str.maketrans("OoIlSB", "001158")
MIN_REAL_DIGITS = 4


def normalise(text: str) -> str:
    """NFKC folds full-width digits and letters; the codes are then plain ASCII."""
    return unicodedata.normalize("NFKC", text)


def find_order_codes(text: str) -> list[str]:
    """Distinct codes in order of appearance, written canonically as LM1234567."""
    text = normalise(text)
    found: list[tuple[int, str]] = []
    for match in _CODE.finditer(text):
        found.append((match.start(), re.sub(r"\s", "", match.group(1))))
    for match in _LOOKALIKE.finditer(text):
        written = re.sub(r"\s", "", match.group(1))
        if not written.isdigit() and sum(c.isdigit() for c in written) >= MIN_REAL_DIGITS:
            found.append((match.start(), written.translate(_DIGIT_FOR)))
    return list(dict.fromkeys(f"LM{digits}" for _, digits in sorted(found)))


def order_id(code: str) -> int:
    """The order a code names, as ops or the reader give it (`LM1234567`, any case); raises
    ValueError for anything else. The one parse of a code given whole."""
    digits = code.strip().upper().removeprefix("LM")
    if not (len(digits) == 7 and digits.isascii() and digits.isdigit()):
        raise ValueError(f"not an order code: {code!r} (expected LM + 7 digits)")
    return int(digits)


def order_code(oid: int) -> str:
    """The code customers and ops read: LM and seven digits."""
    return f"LM{oid:07d}"
