"""The console's words: what each reason, status and kind is called in the office's language."""

from __future__ import annotations

from parsers.classify import DocumentKind
from pipeline.rules.matching import ReviewReason
from pipeline.rules.states import LABELS, OrderState

REVIEW_REASONS: dict[str, str] = {
    ReviewReason.NO_CODE: "Nessun codice ordine (LM…) letto nel documento",
    ReviewReason.UNKNOWN_CODE: "Il codice ordine letto non corrisponde a nessun ordine",
    ReviewReason.AMOUNT_MISMATCH: "L'importo pagato non corrisponde al totale dell'ordine",
    ReviewReason.NO_AMOUNT: "Nessun importo letto nella ricevuta",
    ReviewReason.CODE_CONFLICT: "Il documento cita più ordini in modo contraddittorio",
    ReviewReason.ALREADY_PAID: "L'ordine risulta già pagato",
    ReviewReason.WRONG_BENEFICIARY: "Il beneficiario o l'IBAN non sono quelli del rivenditore",
    ReviewReason.DUPLICATE: "Sembra una ricevuta già ricevuta",
    ReviewReason.UNREADABLE: "Documento illeggibile",
    ReviewReason.NO_DOCUMENT: "Il messaggio non contiene documenti utilizzabili",
    ReviewReason.NOT_A_RECEIPT: "Non è una ricevuta: nessuna prova che il denaro sia partito",
    ReviewReason.NOT_EXECUTED: "Bonifico non eseguito (in attesa, revocato o rifiutato)",
    ReviewReason.PAID_BEFORE_ORDER: "Pagamento eseguito prima della creazione dell'ordine",
    ReviewReason.SIGNATURE_INVALID: "La firma digitale del contratto non è valida",
}

STATES: dict[str, str] = {state.value: label for state, label in LABELS.items()}

WORDS: dict[str, str] = {
    # documents
    DocumentKind.PAYMENT_RECEIPT: "ricevuta di pagamento",
    DocumentKind.CONTRACT: "contratto",
    DocumentKind.IDENTITY_DOCUMENT: "documento d'identità",
    DocumentKind.INVOICE: "fattura o estratto di un fornitore",
    DocumentKind.OTHER: "altro documento",
    "estratto_conto": "estratto conto",
    "carta_identita": "carta d'identità",
    # review items
    "open": "da decidere",
    "resolved": "risolto",
    "rejected": "respinto",
    # batches
    "running": "in corso",
    "succeeded": "riuscito",
    "failed": "fallito",
    "abandoned": "interrotto",
    "run": "esecuzione",
    "rerun": "ripetizione",
    "import": "importazione",
    "activate": "attivazione",
    # outbox
    "pending": "da inviare",
    "sending": "in invio",
    "sent": "inviata",
    "unsure": "incerta",
    # items
    "processed": "elaborato",
    "review": "da verificare",
    "ignored": "ignorato",
    "quarantined": "in quarantena",
    "duplicate": "duplicato",
    "skipped": "saltato",
    "confirmed": "confermato",
    "fulfilled": "evaso",
    "scheduled": "programmato",
    "received": "ricevuto",
    # SLA
    "late": "in ritardo",
    "at_risk": "a rischio",
    "payment": "pagamento",
    "documents": "documenti",
}


def word(value: object) -> str:
    """The Italian word for a status or kind; an unknown one as it is."""
    text = str(value) if value is not None else ""
    return REVIEW_REASONS.get(text) or STATES.get(text) or WORDS.get(text) or text


def state_label(state: str) -> str:
    return OrderState(state).label
