"""Write the bundled sample data: an orders export and a drop folder of realistic messages.

Usage: python scripts/make_samples.py DEST   (writes DEST/orders.csv and DEST/drop/)

Deterministic: fixed dates (Friday 20 November 2026, Europe/Rome), Message-IDs and references,
so the same bytes every run and the demo tells the same story. DEST/drop is emptied first.
`EXPECTED` says what each drop file names and how pecflow should end it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.docgen.hostile import not_a_pdf
from tests.docgen.messages import (
    make_email,
    make_pec_envelope,
    make_pec_receipt,
    pec_identifier,
)
from tests.docgen.orders import PRODUCT_NET, OrderSpec, make_order, orders_csv
from tests.docgen.receipts import default_spec, make_receipt_pdf

ROME = ZoneInfo("Europe/Rome")
FIRST_ARRIVAL = datetime(2026, 11, 20, 11, 20, tzinfo=ROME)


@dataclass(frozen=True)
class Expected:
    """What a sample names and the outcome a correct pecflow gives it."""

    order: str | None
    amount: str | None
    outcome: str
    what: str


EXPECTED: dict[str, Expected] = {
    "01-rossi-bonifico-intesa.eml": Expected(
        "LM3454898",
        "24.40",
        "processed: payment confirmed",
        "e-mail with an Intesa Sanpaolo bonifico receipt (the doc's example order)",
    ),
    "02-esposito-bonifico-unicredit.eml": Expected(
        "LM3454901",
        "183.00",
        "processed: payment confirmed",
        "e-mail (text + HTML) with a UniCredit receipt, amount in a table row",
    ),
    "03-ferrari-bollettino.eml": Expected(
        "LM3454902",
        "109.80",
        "processed: payment confirmed",
        "e-mail with a Poste Italiane bollettino postale receipt",
    ),
    "04-colombo-pec-bpm.eml": Expected(
        "LM3454904",
        "54.90",
        "processed: payment confirmed",
        "PEC envelope (Legalmail) around an e-mail with a Banco BPM receipt",
    ),
    "05-greco-contabile-fineco.pdf": Expected(
        "LM3454907",
        "73.20",
        "processed: payment confirmed",
        "bare PDF dropped by an admin, FinecoBank receipt",
    ),
    "06-romano-importo-errato.eml": Expected(
        "LM3454903",
        "24.40",
        "review: amount_mismatch (order total 36.60)",
        "e-mail with a BancoPosta bonifico receipt paying less than the order total",
    ),
    "07-codice-sconosciuto.eml": Expected(
        "LM9999999",
        "24.40",
        "review: unknown_code",
        "e-mail with an English SEPA confirmation naming an order that does not exist",
    ),
    "08-marino-senza-codice.eml": Expected(
        None,
        "24.40",
        "review: no_code (payer and total fit pending LM3454906)",
        "e-mail with an Intesa receipt whose causale has no LM code",
    ),
    "09-contabile.pdf": Expected(
        None,
        None,
        "quarantined: named .pdf, content is not a PDF",
        "a home-banking HTML error page saved as .pdf",
    ),
    "10-ricevuta-accettazione.eml": Expected(
        None,
        None,
        "ignored: PEC service receipt (accettazione)",
        "Legalmail receipt of acceptance for a message the office sent",
    ),
}


def sample_orders() -> list[OrderSpec]:
    """Nine orders; the first two are the example rows of orders-export.md, verbatim."""
    return [
        make_order("3454898", phone="0612345678"),
        make_order(
            "3385660",
            order_type="rinnovo",
            payment_method="prepagato",
            created_at="2026-11-20T11:02:00+01:00",
            email="studio.bianchi@example.it",
            mailbox="studio.bianchi@legalmail.it",
        ),
        make_order(
            "3454901",
            last_name="Esposito",
            first_name="Giulia",
            sex="F",
            product="gold",
            net=PRODUCT_NET["gold"],
            birth_date=date(1975, 6, 14),
            birth_municipality="Napoli",
            customer_category="professionista",
            mobile="3391234567",
            created_at="2026-11-19T16:40:00+01:00",
        ),
        make_order(
            "3454902",
            last_name="Ferrari",
            first_name="Luca",
            product="silver",
            net=PRODUCT_NET["silver"],
            payment_method="bollettino",
            birth_date=date(1968, 3, 22),
            birth_municipality="Milano",
            customer_category="azienda",
            created_at="2026-11-19T17:05:00+01:00",
        ),
        make_order(
            "3454903",
            last_name="Romano",
            first_name="Chiara",
            sex="F",
            product="standard_plus",
            net=PRODUCT_NET["standard_plus"],
            birth_date=date(1990, 9, 5),
            birth_municipality="Torino",
            created_at="2026-11-20T08:31:00+01:00",
        ),
        make_order(
            "3454904",
            last_name="Colombo",
            first_name="Andrea",
            product="standard_pro",
            net=PRODUCT_NET["standard_pro"],
            birth_date=date(1982, 12, 30),
            birth_municipality="Bologna",
            customer_category="professionista",
            email="andrea.colombo@pec.it",
            created_at="2026-11-20T09:02:00+01:00",
        ),
        make_order(
            "3454905",
            last_name="Ricci",
            first_name="Marco",
            payment_method="carta",
            birth_date=date(1979, 4, 18),
            birth_municipality="Firenze",
            created_at="2026-11-20T09:47:00+01:00",
        ),
        make_order(
            "3454906",
            last_name="Marino",
            first_name="Sara",
            sex="F",
            birth_date=date(1993, 2, 27),
            birth_municipality="Palermo",
            mobile="3477654321",
            created_at="2026-11-20T10:03:00+01:00",
        ),
        make_order(
            "3454907",
            last_name="Greco",
            first_name="Francesca",
            sex="F",
            product="bronze",
            net=PRODUCT_NET["bronze"],
            birth_date=date(1986, 7, 9),
            birth_municipality="Bari",
            customer_category="azienda",
            created_at="2026-11-20T10:26:00+01:00",
        ),
    ]


def _arrival(n: int) -> datetime:
    return FIRST_ARRIVAL + timedelta(minutes=7 * n)


def _receipt(
    order: OrderSpec, layout: str, amount: Decimal | None = None, **overrides: object
) -> bytes:
    spec = default_spec(
        [order.code] if "causale" not in overrides else [],
        amount if amount is not None else order.total,
        payer=f"{order.first_name} {order.last_name}",
        **overrides,
    )
    return make_receipt_pdf(spec, layout)


def _mail(
    n: int,
    order: OrderSpec,
    subject: str,
    body: str,
    pdf: bytes,
    filename: str,
    html: str | None = None,
    *,
    via_pec: bool = False,
) -> bytes:
    """A customer's e-mail; one sent via PEC has no Received header of ours inside."""
    arrived = _arrival(n)
    return make_email(
        sender=f"{order.first_name} {order.last_name} <{order.email}>",
        subject=subject,
        body=body,
        html=html,
        attachments=[(filename, "application/pdf", pdf)],
        date=arrived - timedelta(seconds=41),
        received=None if via_pec else arrived,
        message_id=f"<sample-{n:02d}.{order.order_id}@{order.email.rpartition('@')[2]}>",
    )


def sample_drop(orders: list[OrderSpec]) -> dict[str, bytes]:
    by_id = {o.order_id: o for o in orders}
    rossi, esposito, ferrari = by_id["3454898"], by_id["3454901"], by_id["3454902"]
    romano, colombo, marino = by_id["3454903"], by_id["3454904"], by_id["3454906"]
    greco = by_id["3454907"]
    signature = "\n\nCordiali saluti\n"

    pec_inner = _mail(
        4,
        colombo,
        f"Contabile bonifico ordine {colombo.code}",
        f"Spettabile Visura,\ntrasmetto via PEC la contabile del bonifico relativo "
        f"all'ordine {colombo.code}.{signature}Avv. Andrea Colombo",
        _receipt(colombo, "bpm"),
        "Contabile BPM.pdf",
        via_pec=True,
    )
    pec_date = _arrival(4) + timedelta(seconds=3)
    unknown_arrival = _arrival(7)
    return {
        "01-rossi-bonifico-intesa.eml": _mail(
            1,
            rossi,
            f"Contabile bonifico {rossi.code}",
            f"Buongiorno,\nin allegato la contabile del bonifico per l'ordine {rossi.code}."
            f"{signature}Mario Rossi",
            _receipt(rossi, "intesa"),
            "contabile.pdf",
        ),
        "02-esposito-bonifico-unicredit.eml": _mail(
            2,
            esposito,
            f"Pagamento ordine {esposito.code} - Legalmail Gold",
            f"Buongiorno,\nvi invio la ricevuta del bonifico per l'ordine {esposito.code}."
            f"{signature}Giulia Esposito\nStudio Commercialista Esposito",
            _receipt(esposito, "unicredit"),
            "Ricevuta_bonifico_20-11-2026.pdf",
            html=f"<p>Buongiorno,<br>vi invio la ricevuta del bonifico per l'ordine "
            f"<b>{esposito.code}</b>.</p><p>Cordiali saluti<br>Giulia Esposito</p>",
        ),
        "03-ferrari-bollettino.eml": _mail(
            3,
            ferrari,
            f"Ricevuta bollettino {ferrari.code}",
            f"Salve, allego ricevuta del bollettino pagato oggi in posta ({ferrari.code})."
            f"{signature}Luca Ferrari - Ferrari Impianti S.r.l.",
            _receipt(ferrari, "bollettino"),
            "ricevuta bollettino.pdf",
        ),
        "04-colombo-pec-bpm.eml": make_pec_envelope(
            pec_inner,
            certified_sender=colombo.email,
            identifier=pec_identifier("Legalmail", pec_date, "sample-04"),
            date=pec_date,
        ),
        "05-greco-contabile-fineco.pdf": _receipt(greco, "fineco"),
        "06-romano-importo-errato.eml": _mail(
            6,
            romano,
            f"bonifico {romano.code}",
            f"Ecco la ricevuta del pagamento per {romano.code}.{signature}Chiara Romano",
            _receipt(romano, "poste_bonifico", Decimal("24.40")),
            "ricevuta.pdf",
        ),
        "07-codice-sconosciuto.eml": make_email(
            sender="Paolo De Luca <p.deluca@example.de>",
            subject="Payment LM9999999",
            body="Hello,\nplease find attached the transfer confirmation for LM9999999.\n"
            "Best regards\nPaolo De Luca",
            attachments=[
                (
                    "payment-confirmation.pdf",
                    "application/pdf",
                    make_receipt_pdf(
                        default_spec(["LM9999999"], Decimal("24.40"), payer="Paolo De Luca"),
                        "english",
                    ),
                )
            ],
            date=unknown_arrival - timedelta(minutes=2),
            received=unknown_arrival,
            message_id="<sample-07.unknown@example.de>",
        ),
        "08-marino-senza-codice.eml": _mail(
            8,
            marino,
            "Bonifico casella PEC",
            f"Buonasera, ho fatto il bonifico per la casella PEC, allego la ricevuta."
            f"{signature}Sara Marino",
            _receipt(marino, "intesa", causale="Bonifico attivazione casella PEC Marino Sara"),
            "IMG_20261120_contabile.pdf",
        ),
        "09-contabile.pdf": not_a_pdf(),
        "10-ricevuta-accettazione.eml": make_pec_receipt(
            "accettazione",
            subject=f"Attivazione casella PEC - ordine {by_id['3385660'].code}",
            recipient="studio.bianchi@legalmail.it",
            date=_arrival(10),
        ),
    }


def main(destination: Path) -> None:
    orders = sample_orders()
    destination.mkdir(parents=True, exist_ok=True)
    orders_path = destination / "orders.csv"
    orders_path.write_bytes(orders_csv(orders).encode("utf-8"))
    print(f"{orders_path}  ({len(orders)} orders)")
    drop = destination / "drop"
    shutil.rmtree(drop, ignore_errors=True)
    drop.mkdir()
    files = sample_drop(orders)
    assert set(files) == set(EXPECTED), "every sample has its expected outcome"
    for name, data in files.items():
        (drop / name).write_bytes(data)
        expected = EXPECTED[name]
        names = f"{expected.order or 'no code'}, {expected.amount or 'no amount'}"
        print(f"{drop / name}  ({names}) -> {expected.outcome}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/make_samples.py DEST")
    main(Path(sys.argv[1]))
