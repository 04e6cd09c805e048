"""Whether and what to answer a customer whose message could not be read: pure, no I/O.

Only problems the customer can fix get an answer (a blurred photo, a password-protected PDF,
a file too large); hostile input (executables, decompression bombs) and our own failures
(a parser that crashed or timed out) get none, and neither do programs (auto-replies,
bounces), nor addresses of our own, so that two robots never write to each other for ever.
"""

from __future__ import annotations

import re

# Technical reason (from parsers) -> what the customer reads. First match wins.
_EXPLAINED: tuple[tuple[str, str], ...] = (
    (
        r"^OCR could not read",
        "l'immagine allegata non è leggibile (sfocata, scura o troppo piccola)",
    ),
    (r"^encrypted PDF", "il PDF allegato è protetto da password e non possiamo aprirlo"),
    (
        r"^(corrupt|unreadable) PDF|^unreadable image",
        "il file allegato è danneggiato e non si apre",
    ),
    (r"^too large", "il file allegato supera la dimensione massima accettata"),
    (r"^too many pages", "il PDF allegato ha troppe pagine"),
    (r"^winmail\.dat", "il suo programma di posta ha spedito gli allegati come winmail.dat"),
    (r"^named or declared a PDF", "il file allegato si chiama .pdf ma non è un PDF"),
    (r"^unsupported content", "il formato del file allegato non è tra quelli accettati"),
    (r"^empty file", "il file allegato è vuoto"),
)

_ROBOTS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.IGNORECASE)


def problems(reasons: list[str]) -> list[str]:
    """The customer-fixable problems among the documents' reasons, each once, in order."""
    found: list[str] = []
    for reason in reasons:
        text = next((said for pattern, said in _EXPLAINED if re.search(pattern, reason)), None)
        if text is not None and text not in found:
            found.append(text)
    return found


def advice(max_bytes: int) -> str:
    """What to send instead."""
    return (
        "Ci invii il documento come PDF non protetto da password, oppure una scansione o una "
        "foto nitida di ogni pagina (PDF, JPEG o PNG), presa con buona luce, senza riflessi e "
        "con il foglio intero nell'inquadratura, in un file di al massimo "
        f"{max_bytes // (1024 * 1024) or 1} MB."
    )


def may_answer(sender: str | None, automatic: bool, own: set[str]) -> bool:
    return bool(
        sender
        and "@" in sender
        and not automatic
        and sender.lower() not in own
        and not _ROBOTS.match(sender)
    )
