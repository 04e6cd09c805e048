"""What a document is, from the words on it (parsers/vocabulary.toml).

Every kind counts its own signals and the kind with most wins: a contract that asks for "a
copy of the carta d'identità" still has far more contract words than identity words. A valid
machine readable zone makes an identity document, whatever else a poor photo reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parsers.mrz_zone import find_mrz
from parsers.vocabulary import phrases, vocabulary

STATEMENT = "estratto_conto"  # the subtype of a payment receipt that is an account statement


class DocumentKind(StrEnum):
    PAYMENT_RECEIPT = "payment_receipt"
    CONTRACT = "contract"
    IDENTITY_DOCUMENT = "identity_document"
    INVOICE = "invoice"  # a supplier's invoice or statement to the office
    OTHER = "other"


@dataclass(frozen=True)
class Classification:
    kind: DocumentKind
    # estratto_conto, bonifico, bollettino, carta; carta_identita, patente, passaporto
    subtype: str | None = None


def _found(words: tuple[str, ...], lowered: str) -> int:
    return len({match.group(0) for match in phrases(words).finditer(lowered)})


def classify_text(text: str) -> Classification:
    lowered = text.lower()
    scores = [
        (_found(kind.signals, lowered), -order, kind)
        for order, kind in enumerate(vocabulary().kinds)
    ]
    score, _, best = max(scores, key=lambda s: (s[0], s[1]))
    recognised = score >= best.needed and best.name == DocumentKind.IDENTITY_DOCUMENT
    machine = None if recognised else find_mrz(text)
    if machine is not None:
        # A valid MRZ is an identity document however poorly the rest of the photo reads.
        return Classification(DocumentKind.IDENTITY_DOCUMENT, machine.kind)
    if score < best.needed:
        return Classification(DocumentKind.OTHER)
    subtype = next(
        (
            name
            for name, words in best.subtypes.items()
            if _found(words, lowered) >= best.subtypes_needed.get(name, 1)
        ),
        None,
    )
    return Classification(DocumentKind(best.name), subtype)
