"""What a document is, from the words on it; the first rule that fits wins."""

from __future__ import annotations

from enum import StrEnum


class DocumentKind(StrEnum):
    PAYMENT_RECEIPT = "payment_receipt"
    CONTRACT = "contract"
    IDENTITY_DOCUMENT = "identity_document"
    OTHER = "other"


_RULES: tuple[tuple[DocumentKind, tuple[str, ...], int], ...] = (
    (
        DocumentKind.IDENTITY_DOCUMENT,
        (
            "carta d'identità",
            "carta di identità",
            "carta d'identita",
            "patente di guida",
            "passaporto",
            "passport",
            "identity card",
        ),
        1,
    ),
    (
        DocumentKind.CONTRACT,
        (
            "contratto",
            "condizioni generali",
            "sottoscrizione",
            "firma del richiedente",
            "il richiedente dichiara",
        ),
        2,
    ),
    (
        DocumentKind.PAYMENT_RECEIPT,
        (
            "bonifico",
            "contabile",
            "bollettino",
            "cro",
            "trn",
            "beneficiario",
            "ordinante",
            "importo",
            "eseguito da",
            "credit transfer",
            "beneficiary",
            "causale",
            "versamento",
        ),
        2,
    ),
)


def classify_text(text: str) -> DocumentKind:
    lowered = text.lower()
    for kind, words, needed in _RULES:
        if sum(word in lowered for word in words) >= needed:
            return kind
    return DocumentKind.OTHER
