"""Write the bundled sample data: an orders export and a drop folder of realistic messages.

Usage: python scripts/make_samples.py DEST   (writes DEST/orders.csv and DEST/drop/)
Deterministic: the same files every time, so the demo shows the same story.
"""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.docgen.hostile import not_a_pdf
from tests.docgen.messages import make_email, make_pec_envelope, make_pec_receipt
from tests.docgen.orders import make_order, orders_csv
from tests.docgen.receipts import default_spec, make_receipt_pdf

ARRIVAL = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def sample_orders() -> list:
    return [
        make_order("3454898", last_name="Rossi", first_name="Mario"),
        make_order(
            "3385660",
            order_type="rinnovo",
            payment_method="prepagato",
            last_name="Bianchi",
            first_name="Studio",
        ),
        make_order(
            "3454901",
            last_name="Esposito",
            first_name="Giulia",
            sex="F",
            product="gold",
            net="45.00",
        ),
        make_order(
            "3454902",
            last_name="Ferrari",
            first_name="Luca",
            payment_method="bollettino",
            product="silver",
            net="35.00",
        ),
        make_order("3454903", last_name="Romano", first_name="Chiara", sex="F"),
        make_order(
            "3454904",
            last_name="Colombo",
            first_name="Andrea",
            product="standard_plus",
            net="25.00",
        ),
        make_order("3454905", last_name="Ricci", first_name="Marco", payment_method="carta"),
        make_order("3454906", last_name="Marino", first_name="Sara", sex="F"),
    ]


def _receipt_mail(
    order, layout: str, amount: Decimal | None = None, minutes: int = 0, subject: str | None = None
) -> bytes:
    pdf = make_receipt_pdf(
        default_spec(
            [order.code],
            amount or Decimal(order.total_amount),
            payer=f"{order.first_name} {order.last_name}",
        ),
        layout,
    )
    return make_email(
        sender=order.email,
        subject=subject or f"Contabile ordine {order.code}",
        body="Buongiorno,\nin allegato la contabile del pagamento.\nCordiali saluti",
        attachments=[("contabile.pdf", "application/pdf", pdf)],
        received=ARRIVAL.replace(minute=minutes),
    )


def sample_drop(orders: list) -> dict[str, bytes]:
    by_id = {o.order_id: o for o in orders}
    rossi, esposito, ferrari = by_id["3454898"], by_id["3454901"], by_id["3454902"]
    romano, colombo, marino = by_id["3454903"], by_id["3454904"], by_id["3454906"]
    pec_inner = _receipt_mail(colombo, "bpm", minutes=6)
    return {
        "01-rossi-contabile.eml": _receipt_mail(rossi, "intesa", minutes=1),
        "02-esposito-bonifico.eml": _receipt_mail(esposito, "unicredit", minutes=2),
        "03-ferrari-bollettino.pdf": make_receipt_pdf(
            default_spec([ferrari.code], Decimal(ferrari.total_amount)), "bollettino"
        ),
        "04-romano-importo-errato.eml": _receipt_mail(romano, "fineco", Decimal("20.00"), 4),
        "05-codice-sconosciuto.eml": make_email(
            sender="ignoto@example.it",
            subject="pagamento PEC",
            body="Ecco il bonifico.",
            attachments=[
                (
                    "ricevuta.pdf",
                    "application/pdf",
                    make_receipt_pdf(default_spec(["LM9999999"], Decimal("24.40")), "english"),
                )
            ],
            received=ARRIVAL.replace(minute=5),
        ),
        "06-colombo-pec.eml": make_pec_envelope(
            pec_inner,
            certified_sender="andrea.colombo@pec.example.it",
            identifier="opec0042.20261120100600.12345.01.1.1@legalmail.it",
            date=ARRIVAL.replace(minute=6),
        ),
        "07-marino-senza-codice.eml": make_email(
            sender=marino.email,
            subject="bonifico",
            body="Allego la ricevuta.",
            attachments=[
                (
                    "scan.pdf",
                    "application/pdf",
                    make_receipt_pdf(default_spec([], Decimal("24.40")), "poste_bonifico"),
                )
            ],
            received=ARRIVAL.replace(minute=7),
        ),
        "08-fattura.pdf": not_a_pdf(),
        "09-ricevuta-accettazione.eml": make_pec_receipt("accettazione"),
    }


def main(destination: Path) -> None:
    orders = sample_orders()
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "orders.csv").write_text(orders_csv(orders), encoding="utf-8")
    print(destination / "orders.csv")
    drop = destination / "drop"
    shutil.rmtree(drop, ignore_errors=True)
    drop.mkdir()
    for name, data in sample_drop(orders).items():
        (drop / name).write_bytes(data)
        print(drop / name)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/make_samples.py DEST")
    main(Path(sys.argv[1]))
