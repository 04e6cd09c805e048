"""Whether a receipt shows that money moved, by the words in vocabulary.toml's [proof].

A page may carry everything a matcher looks for (the order code, the exact amount, the
reseller's IBAN) and prove nothing: the portal's own payment summary, a form not yet sent, a
transfer only booked or revoked. Only a page showing an executed payment is evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from parsers.vocabulary import phrases, vocabulary


class Proof(StrEnum):
    EXECUTED = "executed"
    INSTRUCTIONS = "instructions"  # how to pay: the portal's summary, a form not yet sent
    NOT_EXECUTED = "not_executed"  # booked, waiting for authorisation, revoked, rejected
    NONE = "none"  # nothing on it shows an executed payment


@dataclass(frozen=True)
class ProofReading:
    proof: Proof
    words: tuple[str, ...] = ()  # what on the page says so (lower case)

    @property
    def executed(self) -> bool:
        return self.proof is Proof.EXECUTED


def _words(words: tuple[str, ...], text: str) -> list[str]:
    return [match.group(0) for match in phrases(words).finditer(text)]


def _status_words(line: str, words: dict[str, tuple[str, ...]]) -> list[str]:
    """`not_executed` words on a line, but not those after a hedge (`può essere revocato`)."""
    return [
        match.group(0)
        for match in phrases(words["not_executed"]).finditer(line)
        if not _words(words["hedges"], line[max(0, match.start() - 40) : match.start()])
    ]


def payment_proof(text: str, *, reference: bool, execution_date: bool) -> ProofReading:
    """What the text says of the payment; `reference` (a CRO, TRN or the bank's reference) and
    `execution_date` are what the fact extraction found on it."""
    words = vocabulary().proof
    lowered = text.lower()
    stopped = [word for line in lowered.splitlines() for word in _status_words(line, words)]
    if stopped:  # first: a transfer awaiting its OTP says so, and asks for the OTP too
        return ProofReading(Proof.NOT_EXECUTED, tuple(dict.fromkeys(stopped)))
    told = _words(words["instructions"], lowered)
    if told:
        return ProofReading(Proof.INSTRUCTIONS, tuple(dict.fromkeys(told)))
    flat = phrases(words["labels"]).sub(" ", " ".join(lowered.split()))
    done = _words(words["executed"], flat)
    if done or reference or execution_date:
        return ProofReading(Proof.EXECUTED, tuple(dict.fromkeys(done)))
    return ProofReading(Proof.NONE)
