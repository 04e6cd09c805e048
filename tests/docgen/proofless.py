"""Pages that carry everything a matcher looks for and prove no payment (adversarial).

Each shows the order code, the order's exact total and the reseller's IBAN or postal account,
yet no money moved: the portal's own summary the customer prints after "Conferma", bank
receipts of transfers only booked, waiting, to be authorised, revoked, cancelled, rejected or
returned, and a screenshot of a filled-in transfer form before the OTP. A correct reader
concludes "not a payment" for every one of them, whatever else it finds on the page.
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pypdfium2 as pdfium
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.docgen.orders import OrderSpec
from tests.docgen.receipts import (
    BANKS,
    LEFT,
    RESELLER_IBAN,
    RESELLER_NAME,
    RESELLER_POSTAL_ACCOUNT,
    RIGHT,
    _digits,
    _Page,
    en_amount,
    en_date,
    group_iban,
    it_amount,
    italian_iban,
    make_iban,
    make_trn,
    payer_iban_for,
)
from tests.docgen.statements import IT_MONTHS

PORTAL_VARIANTS: tuple[str, ...] = ("riepilogo", "lista_ordini", "email")
STATUSES: tuple[str, ...] = (
    "prenotato",
    "in_attesa",
    "da_autorizzare",
    "revocato",
    "annullato",
    "rifiutato",
    "stornato",
)
PENDING_LAYOUTS: tuple[str, ...] = ("intesa", "unicredit", "bpm", "poste", "corporate", "english")
ADMIN_MAIL = "amministrazione@visura.it"
PRODUCT_NAMES = {
    "standard": "Standard",
    "standard_plus": "Standard Plus",
    "standard_pro": "Standard Pro",
    "bronze": "Bronze",
    "silver": "Silver",
    "gold": "Gold",
}
_VISURA_SEAT = (
    "Visura S.p.A. - Sede Legale Lungotevere dei Mellini, 44 - 00193 Roma - "
    "C.Sociale I.V. 1.000.000 - Sede OP e Amm. Via G.Peroni 400"
)


def _ordered_at(order: OrderSpec) -> datetime:
    return datetime.fromisoformat(order.created_at)


def _rng(*parts: object) -> random.Random:
    """A generator seeded from the content, so the same inputs draw the same page."""
    return random.Random(int(_digits("|".join(str(p) for p in parts), 12)))


def _applicant(order: OrderSpec) -> str:
    return f"{order.first_name} {order.last_name}".strip() or order.mailbox_description or "Cliente"


def _product(order: OrderSpec, brand: str = "Legalmail") -> str:
    """`Legalmail Standard` on summaries, `PEC Standard` in the order list."""
    return f"{brand} {PRODUCT_NAMES.get(order.product, 'Standard')}"


def _pdf(draw: Callable[[_Page], None], title: str, author: str) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    pdf.setTitle(title)
    pdf.setAuthor(author)
    pdf.setCreator("docgen")
    draw(_Page(pdf))
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _next_weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# --- the portal's own pages -----------------------------------------------------------------


def _browser_frame(
    page: _Page, *, printed: datetime, title: str, url: str, firefox: bool = False
) -> None:
    """The header and footer a browser prints around a page: date, title, URL, page number."""
    stamp = f"{printed:%d/%m/%y}, {printed:%H:%M}"
    if firefox:
        page.text(28, 22, title, size=7.5)
        page.right(567, 22, url[:95], size=7.5)
        page.text(28, 828, "Pagina 1 di 1", size=7.5)
        page.right(567, 828, f"{printed:%d/%m/%Y}, {printed:%H:%M}", size=7.5)
    else:
        page.text(28, 22, stamp, size=7.5)
        page.pdf.setFont("Helvetica", 7.5)
        page.pdf.drawCentredString(A4[0] / 2, A4[1] - 22, title)
        page.text(28, 828, url[:110], size=7.5)
        page.right(567, 828, "1/1", size=7.5)


def _portal_top(page: _Page, order: OrderSpec, y: float, credit: str) -> float:
    """Visura's portal header: logo, the logged-in user, the prepaid credit, the menu."""
    page.text(LEFT, y + 14, "visura", size=22, bold=True)
    page.text(LEFT + 82, y + 14, "servizi telematici", size=8, grey=True)
    page.right(RIGHT, y + 4, f"Benvenuto {_applicant(order).upper()} | Esci", size=8)
    page.right(RIGHT, y + 16, f"Conto prepagato: credito residuo € {credit}", size=8)
    page.band(y + 34, 20, (0.0, 0.27, 0.53))
    menu = "Home    Identità digitale e PEC    Gestione PEC    Gestione ordini    Fatture    "
    page.text(LEFT, y + 36, menu + "Assistenza", size=8.5, white=True)
    return y + 62


def _pay_to(method: str) -> list[tuple[str, str]]:
    if method == "bollettino":
        return [
            ("Versamento su", f"c/c postale n. {RESELLER_POSTAL_ACCOUNT}"),
            ("Intestato a", RESELLER_NAME),
        ]
    return [("Beneficiario", RESELLER_NAME), ("IBAN", group_iban(RESELLER_IBAN))]


def _net_vat(order: OrderSpec) -> tuple[Decimal, Decimal, Decimal]:
    net = Decimal(order.net_amount)
    return net, order.total - net, Decimal(order.vat_rate)


def _riepilogo(page: _Page, order: OrderSpec, method: str) -> None:
    """The page shown after "Conferma": Riepilogo Pagamento, the code and the coordinates."""
    at = _ordered_at(order)
    _browser_frame(
        page,
        printed=at + timedelta(minutes=2),
        title="Visura - Acquisto PEC Legalmail",
        url=f"https://www.visura.it/ecommerce/pec/acquisto/riepilogo.do?idOrdine={order.order_id}",
    )
    y = _portal_top(page, order, 46, "0,00")
    page.text(LEFT, y, "Home > Identità digitale e PEC > PEC Legalmail > Acquista", size=7.5)
    page.text(LEFT, y + 26, "Acquisto PEC Legalmail", size=15, bold=True)
    page.box(LEFT, y + 38, RIGHT - LEFT, 96)
    page.text(LEFT + 10, y + 54, "Riepilogo Pagamento", size=11, bold=True)
    rows = [
        ("Nominativo:", f"{order.last_name} {order.first_name}".upper()),
        ("Codice Fiscale:", order.tax_code),
        ("Email:", order.email),
        ("Importo da versare:", it_amount(order.total)),
        ("Da versare per mezzo:", method.upper()),
    ]
    for n, (label, value) in enumerate(rows):
        page.text(LEFT + 10, y + 72 + n * 13, label, size=9)
        page.text(LEFT + 130, y + 72 + n * 13, value, size=9, bold=label.startswith("Importo"))
    y += 156
    page.text(LEFT, y, "Ordine confermato.", size=10, bold=True)
    page.text(
        LEFT,
        y + 14,
        f"Codice identificativo dell'ordine: {order.code} - data ordine {at:%d/%m/%Y} "
        f"ore {at:%H:%M}",
        size=9.5,
    )
    y += 40
    net, vat, rate = _net_vat(order)
    columns = [
        (LEFT, "Descrizione"),
        (LEFT + 250, "Quantità"),
        (LEFT + 310, "Imponibile"),
        (LEFT + 380, "IVA%"),
        (LEFT + 430, "Importo Ivato"),
    ]
    page.band(y, 16, (0.88, 0.9, 0.93))
    for x, header in columns:
        page.text(x, y, header, size=8, bold=True)
    values = [
        f"{_product(order)} - Canone Biennale - Richiesta Online",
        "1",
        it_amount(net),
        it_amount(rate),
        it_amount(net + vat),
    ]
    for (x, _), value in zip(columns, values, strict=True):
        page.text(x, y + 18, value, size=8.5)
    page.rule(y + 24)
    page.text(LEFT, y + 38, "Totale", size=9, bold=True)
    page.text(LEFT + 430, y + 38, it_amount(order.total), size=9, bold=True)
    y += 70
    page.text(LEFT, y, "Coordinate per il pagamento", size=11, bold=True)
    y += 18
    for label, value in [
        *_pay_to(method),
        ("Importo", f"€ {it_amount(order.total)}"),
        ("Causale da indicare", order.code),
    ]:
        page.text(LEFT + 10, y, f"{label}:", size=9.5)
        page.text(LEFT + 140, y, value, size=9.5, bold=True)
        y += 15
    y += 10
    note = (
        "Il codice identificativo dell'ordine dovrà essere riportato nella causale del "
        f"versamento e sarà necessario inviare copia del pagamento effettuato via email a "
        f"{ADMIN_MAIL}. L'evasione del pagamento è prevista entro 30 minuti dall'invio della "
        "contabile nei giorni lavorativi. I pagamenti inviati dopo le 18:00 saranno lavorati "
        "il giorno lavorativo successivo."
    )
    y = page.wrapped(LEFT, y, note, width=100, step=12, size=8.5)
    page.text(LEFT, y + 16, "[ Stampa ]     [ Torna alla lista ordini ]", size=9, bold=True)
    page.rule(790)
    page.text(LEFT, 802, _VISURA_SEAT, size=6.5, grey=True)


def _lista_ordini(page: _Page, order: OrderSpec, method: str) -> None:
    """Gestione ordini: the list (with an older, fulfilled order of the same customer, same
    total, another code) and the selected order's detail with the payment coordinates."""
    at = _ordered_at(order)
    _browser_frame(
        page,
        printed=at + timedelta(hours=3, minutes=11),
        title="Gestione ordini PEC - Visura",
        url=f"https://www.visura.it/ecommerce/pec/gestioneOrdini.do?azione=dettaglio&id={order.order_id}",
        firefox=True,
    )
    y = _portal_top(page, order, 46, it_amount(Decimal("3.50")))
    page.text(LEFT, y + 10, "Lista ordini", size=15, bold=True)
    y += 32
    columns = [
        (LEFT, "Codice"),
        (LEFT + 70, "Data"),
        (LEFT + 130, "Prodotto"),
        (LEFT + 225, "Tipo"),
        (LEFT + 280, "Importo €"),
        (LEFT + 340, "Pagamento"),
        (LEFT + 410, "Stato"),
    ]
    page.band(y, 16, (0.88, 0.9, 0.93))
    for x, header in columns:
        page.text(x, y, header, size=8, bold=True)
    older_id = (int(order.order_id) - 187_311) % 10_000_000
    older_day = at.date() - timedelta(days=731)
    rows = [
        [
            order.code,
            f"{at:%d/%m/%Y}",
            _product(order, "PEC"),
            "Acquisto",
            it_amount(order.total),
            method.capitalize(),
            "Inserito",
        ],
        [
            f"LM{older_id:07d}",
            f"{older_day:%d/%m/%Y}",
            "PEC Standard",
            "Acquisto",
            it_amount(order.total),
            "Carta di credito",
            "Evaso e soddisfatto",
        ],
    ]
    for row in rows:
        y += 18
        for (x, _), value in zip(columns, row, strict=True):
            page.text(x, y, value, size=8.5)
        page.rule(y + 5)
    y += 40
    page.text(LEFT, y, f"Dettaglio ordine {order.code}", size=12, bold=True)
    y += 20
    net, vat, rate = _net_vat(order)
    for label, value in [
        ("Stato", "Inserito - in attesa di pagamento"),
        ("Prodotto", f"{_product(order)} - canone biennale"),
        ("Casella richiesta", order.mailbox),
        ("Imponibile", f"€ {it_amount(net)}"),
        (f"IVA {it_amount(rate).replace(',00', '')}%", f"€ {it_amount(vat)}"),
        ("Totale", f"€ {it_amount(order.total)}"),
        ("Importo da versare", it_amount(order.total)),
        ("Modalità di pagamento", "Bonifico bancario" if method == "bonifico" else "Bollettino"),
        *_pay_to(method),
        ("Causale da indicare", order.code),
    ]:
        page.text(LEFT + 10, y, label, size=9, grey=True)
        page.text(LEFT + 150, y, value, size=9)
        y += 14
    y += 8
    page.wrapped(
        LEFT,
        y,
        "Attenzione: l'ordine sarà lavorato solo dopo la ricezione della copia del pagamento "
        f"all'indirizzo {ADMIN_MAIL}. Il contratto potrà essere scaricato quando l'ordine "
        "sarà nello stato 'In lavorazione'.",
        width=100,
        step=12,
        size=8.5,
    )
    page.text(LEFT, y + 44, "[ Scarica contratto ]   [ Invio documenti ]   [ Indietro ]", size=9)
    page.rule(790)
    page.text(LEFT, 802, _VISURA_SEAT, size=6.5, grey=True)


def _email(page: _Page, order: OrderSpec, method: str) -> None:
    """The order confirmation e-mail, printed from a webmail with its print header."""
    at = _ordered_at(order)
    printed = at + timedelta(hours=7, minutes=48)
    _browser_frame(
        page,
        printed=printed,
        title=f"Webmail - Conferma ordine {order.code}",
        url="https://webmail.example.it/?_task=mail&_action=print&_uid=48213&_mbox=INBOX",
    )
    page.text(LEFT, 60, "Webmail", size=16, bold=True)
    page.right(RIGHT, 60, f"{_applicant(order)} <{order.email}>", size=8.5)
    page.rule(70)
    subject = f"Conferma ordine {order.code} - Acquisto PEC Legalmail"
    page.text(LEFT, 92, subject, size=13, bold=True)
    page.text(LEFT, 106, "1 messaggio", size=8, grey=True)
    page.rule(114)
    page.text(LEFT, 130, "Visura S.p.A. <noreply@visura.it>", size=9, bold=True)
    when = f"{at.day} {IT_MONTHS[at.month - 1][:3]} {at.year}, {at:%H:%M}"
    page.right(RIGHT, 130, when, size=9)
    page.text(LEFT, 143, f"A: {order.email}", size=8.5, grey=True)
    net, vat, rate = _net_vat(order)
    if method == "bollettino":
        how = [
            "Modalità di pagamento: bollettino postale",
            f"Per completare l'acquisto effettui un versamento di € {it_amount(order.total)} "
            f"sul conto corrente postale n. {RESELLER_POSTAL_ACCOUNT} intestato a {RESELLER_NAME}",
            f"indicando nella causale il codice {order.code}.",
        ]
    else:
        how = [
            "Modalità di pagamento: bonifico bancario",
            f"Per completare l'acquisto effettui un bonifico di € {it_amount(order.total)} "
            "alle seguenti coordinate:",
            f"Intestatario: {RESELLER_NAME}",
            f"IBAN: {RESELLER_IBAN}",
            f"Causale: {order.code}",
        ]
    lines = [
        "Gentile Cliente,",
        "",
        "la ringraziamo per aver scelto Legalmail. Il suo ordine è stato registrato con il "
        f"codice {order.code}.",
        "",
        "Riepilogo ordine",
        f"Prodotto: {_product(order)} - canone biennale",
        f"Casella richiesta: {order.mailbox}",
        f"Imponibile: € {it_amount(net)}",
        f"IVA {it_amount(rate).replace(',00', '')}%: € {it_amount(vat)}",
        f"Totale: € {it_amount(order.total)}",
        "",
        *how,
        "",
        f"Una volta effettuato il pagamento, invii copia della contabile a {ADMIN_MAIL} "
        "indicando il codice ordine. L'ordine sarà lavorato entro 30 minuti dalla ricezione "
        "nei giorni lavorativi.",
        "Ricevuta la fattura, potrà scaricare il contratto dalla sezione Gestione ordini, "
        "firmarlo e inviarlo con copia di un documento di identità valido.",
        "",
        "Cordiali saluti",
        "Visura S.p.A. - Servizio Clienti",
        "",
        "Questa e-mail è stata generata automaticamente, si prega di non rispondere.",
        _VISURA_SEAT,
    ]
    y = 170.0
    for line in lines:
        bold = line in ("Riepilogo ordine",)
        for part in textwrap.wrap(line, 96) or [""]:
            page.text(LEFT, y, part, size=9, bold=bold)
            y += 12.5


_PORTAL_DRAWERS: dict[str, Callable[[_Page, OrderSpec, str], None]] = {
    "riepilogo": _riepilogo,
    "lista_ordini": _lista_ordini,
    "email": _email,
}


def portal_summary_pdf(
    order: OrderSpec, method: str = "bonifico", variant: str = "riepilogo"
) -> bytes:
    """The portal's own page the customer printed from the browser: code, total, our IBAN (or
    postal account), "Causale da indicare". It asks for a payment; it proves none."""
    if method not in ("bonifico", "bollettino"):
        raise ValueError(f"method is bonifico or bollettino, got {method!r}")
    if variant not in _PORTAL_DRAWERS:
        raise ValueError(f"unknown variant {variant!r} (known: {', '.join(PORTAL_VARIANTS)})")
    title = "Riepilogo ordine" if variant != "email" else f"Conferma ordine {order.code}"
    return _pdf(lambda page: _PORTAL_DRAWERS[variant](page, order, method), title, "Visura")


# --- transfers that did not happen ----------------------------------------------------------


@dataclass(frozen=True)
class _Transfer:
    """What a not-executed transfer's page says, whatever the bank's look."""

    status: str
    payer: str
    payer_iban: str
    amount: Decimal
    causale: str
    booked_at: datetime
    execute_on: date
    changed_at: datetime  # revoked, cancelled, rejected or returned
    number: str  # the bank's order number (numero disposizione)
    cro: str
    trn: str
    reason: str


_REJECTIONS = (
    "Disponibilità insufficiente sul conto di addebito",
    "Superato il massimale giornaliero per i bonifici online",
    "Rapporto di addebito non operativo",
)
_RETURNS = (
    "AM05 - Operazione duplicata",
    "MS03 - Motivo non specificato dalla banca del beneficiario",
    "AC06 - Conto del beneficiario bloccato",
)
_EN_REASONS = {"rifiutato": "Insufficient funds", "stornato": "Returned by the recipient's bank"}


def _transfer(order: OrderSpec, status: str, layout: str) -> _Transfer:
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r} (known: {', '.join(STATUSES)})")
    chance = _rng(order.code, status, layout)
    booked = _ordered_at(order) + timedelta(minutes=chance.randint(8, 140))
    causale = chance.choice(
        [
            f"Pagamento ordine {order.code}",
            f"{order.code} acquisto casella PEC",
            f"ORDINE {order.code} - {_applicant(order).upper()}",
        ]
    )
    payer = _applicant(order)
    bank = layout if layout in BANKS else "intesa"
    if layout == "corporate":
        payer = f"STUDIO {order.last_name.upper() or 'ROSSI'} S.R.L."
        payer_iban = italian_iban("08327", _digits(payer + "cab", 5), _digits(payer, 12))
    elif layout == "english":
        payer_iban = make_iban("DE", "50010517" + _digits(payer, 10))
    elif layout == "form":
        payer_iban = italian_iban("05387", _digits(payer + "cab", 5), _digits(payer, 12))
    else:
        payer_iban = payer_iban_for(payer, "poste" if layout == "poste" else bank)
    execute_on = booked.date()
    if status == "prenotato":
        execute_on = _next_weekday(booked.date() + timedelta(days=chance.randint(3, 9)))
    changed = {
        "revocato": booked + timedelta(days=1, hours=-2, minutes=17),
        "annullato": booked + timedelta(minutes=chance.randint(2, 40)),
        "rifiutato": booked + timedelta(seconds=chance.randint(5, 50)),
        "stornato": datetime.combine(
            _next_weekday(booked.date() + timedelta(days=3)), booked.timetz()
        ),
    }.get(status, booked)
    cro = _digits(order.code + status + layout + "cro", 11)
    abi = payer_iban[5:10] if payer_iban.startswith("IT") else "03069"
    if layout == "english":
        reason = _EN_REASONS.get(status, "")
    else:
        reason = chance.choice(_RETURNS if status == "stornato" else _REJECTIONS)
    return _Transfer(
        status=status,
        payer=payer,
        payer_iban=payer_iban,
        amount=order.total,
        causale=causale,
        booked_at=booked,
        execute_on=execute_on,
        changed_at=changed,
        number=_digits(order.code + layout + "disp", 10),
        cro=cro,
        trn=make_trn(cro, abi),
        reason=reason,
    )


def _state(t: _Transfer) -> tuple[str, str]:
    """The state word the bank prints and the sentence explaining it, in Italian."""
    when = f"{t.changed_at:%d/%m/%Y} alle ore {t.changed_at:%H:%M}"
    return {
        "prenotato": (
            "PRENOTATO",
            f"Il bonifico è stato prenotato e sarà eseguito il {t.execute_on:%d/%m/%Y}.",
        ),
        "in_attesa": (
            "IN ATTESA DI ESECUZIONE",
            "La disposizione è stata acquisita ed è in "
            "attesa di esecuzione. L'esito sarà visibile nella lista disposizioni.",
        ),
        "da_autorizzare": (
            "DA AUTORIZZARE",
            "La disposizione sarà inviata alla banca solo "
            "dopo l'autorizzazione con codice OTP dei firmatari abilitati.",
        ),
        "revocato": (
            "REVOCATO",
            f"La disposizione è stata revocata su richiesta del cliente "
            f"il {when}. Nessun importo è stato addebitato.",
        ),
        "annullato": (
            "ANNULLATO",
            f"Operazione annullata il {when}. L'importo non è stato addebitato sul conto.",
        ),
        "rifiutato": ("RIFIUTATO", f"La disposizione non è stata eseguita. Motivo: {t.reason}."),
        "stornato": (
            "STORNATO",
            f"Il bonifico è stato restituito dalla banca del beneficiario "
            f"il {t.changed_at:%d/%m/%Y} (motivo: {t.reason}). L'importo è stato "
            "riaccreditato sul conto.",
        ),
    }[t.status]


def _dates(t: _Transfer) -> list[tuple[str, str]]:
    booked = f"{t.booked_at:%d/%m/%Y} {t.booked_at:%H:%M}"
    if t.status == "prenotato":
        return [("Data inserimento", booked), ("Data esecuzione", f"{t.execute_on:%d/%m/%Y}")]
    if t.status in ("in_attesa", "da_autorizzare"):
        return [
            ("Data inserimento", booked),
            ("Data esecuzione richiesta", f"{t.execute_on:%d/%m/%Y}"),
        ]
    if t.status == "stornato":
        return [
            ("Data esecuzione", f"{t.execute_on:%d/%m/%Y}"),
            ("Data storno", f"{t.changed_at:%d/%m/%Y}"),
        ]
    label = {"revocato": "Data revoca", "annullato": "Data annullamento"}.get(
        t.status, "Data esito"
    )
    return [("Data inserimento", booked), (label, f"{t.changed_at:%d/%m/%Y %H:%M}")]


def _pending_intesa(page: _Page, t: _Transfer) -> None:
    """Label: value on one line under a green band; a booked transfer already shows a CRO."""
    state, sentence = _state(t)
    page.band(40, 34, (0.0, 0.33, 0.22))
    page.text(LEFT, 52, "Intesa Sanpaolo", size=15, bold=True, white=True)
    page.right(RIGHT, 52, "Internet Banking", size=9, white=True)
    title = {"prenotato": "BONIFICO SEPA - PRENOTAZIONE", "stornato": "BONIFICO SEPA STORNATO"}
    page.text(
        LEFT, 100, title.get(t.status, "DETTAGLIO DISPOSIZIONE - BONIFICO SEPA"), size=12, bold=True
    )
    rows = [
        ("Stato", state),
        ("Numero disposizione", t.number),
        ("Ordinante", t.payer.upper()),
        ("IBAN ordinante", group_iban(t.payer_iban)),
        ("Beneficiario", RESELLER_NAME),
        ("IBAN beneficiario", group_iban(RESELLER_IBAN)),
        *_dates(t),
        ("Importo", f"€ {it_amount(t.amount)}"),
        ("Commissioni", "€ 0,00" if t.status != "stornato" else "€ 0,50"),
    ]
    if t.status in ("prenotato", "stornato"):
        rows.append(("CRO", t.cro))
    if t.status == "stornato":
        rows += [("TRN", t.trn), ("Importo riaccreditato", f"€ {it_amount(t.amount)}")]
    y = 134.0
    for label, value in rows:
        page.text(LEFT, y, f"{label}:", bold=True)
        page.text(LEFT + 150, y, value)
        y += 16
    page.text(LEFT, y, "Causale:", bold=True)
    y = page.wrapped(LEFT + 150, y, t.causale, width=60, step=14) + 10
    y = page.wrapped(LEFT, y, sentence, width=95, step=13)
    if t.status == "prenotato":
        page.text(
            LEFT,
            y + 12,
            "La prenotazione può essere revocata fino al giorno lavorativo "
            "precedente la data di esecuzione.",
            size=8,
            grey=True,
        )
    page.rule(770)
    page.text(
        LEFT,
        782,
        f"Intesa Sanpaolo S.p.A. - Sede legale {BANKS['intesa'].address}",
        size=7,
        grey=True,
    )


def _pending_unicredit(page: _Page, t: _Transfer) -> None:
    """Column headers above values, a coloured state chip, the history of the order below."""
    state, sentence = _state(t)
    page.text(LEFT, 50, "UniCredit", size=18, bold=True)
    page.right(RIGHT, 50, f"Banca Multicanale - {BANKS['unicredit'].phone}", size=8)
    page.text(LEFT, 90, "Dettaglio bonifico SEPA", size=13, bold=True)
    colour = (0.85, 0.1, 0.1) if t.status in ("rifiutato", "stornato") else (0.95, 0.6, 0.0)
    page.pdf.setFillColorRGB(*colour)
    page.pdf.roundRect(RIGHT - 150, A4[1] - 96, 150, 18, 6, stroke=0, fill=1)
    page.right(RIGHT - 10, 90, f"Stato: {state.capitalize()}", size=9, bold=True, white=True)

    def table(y: float, columns: list[tuple[float, str, str]]) -> None:
        for x, header, value in columns:
            page.text(x, y, header, size=8, bold=True, grey=True)
            page.text(x, y + 18, value)
        page.rule(y + 5)

    table(130, [(LEFT, "Ordinante", t.payer), (LEFT + 220, "IBAN addebito", t.payer_iban)])
    table(180, [(LEFT, "Beneficiario", RESELLER_NAME), (LEFT + 220, "IBAN", RESELLER_IBAN)])
    (l1, v1), (l2, v2) = _dates(t)
    table(
        230,
        [
            (LEFT, l1, v1),
            (LEFT + 150, l2, v2),
            (LEFT + 300, "Importo", f"{it_amount(t.amount)} EUR"),
        ],
    )
    page.text(LEFT, 282, "Descrizione", size=8, bold=True, grey=True)
    y = page.wrapped(LEFT, 298, t.causale)
    page.text(LEFT, y + 8, f"Numero ordine: {t.number}")
    if t.status == "stornato":
        page.text(LEFT, y + 24, f"Riferimento operazione (TRN): {t.trn}")
        y += 16
    y = page.wrapped(LEFT, y + 34, sentence, width=95)
    page.text(LEFT, y + 14, "Cronologia", size=10, bold=True)
    history = [(t.booked_at, "Inserita")]
    if t.status == "stornato":
        history += [(t.booked_at, "Eseguita"), (t.changed_at, "Stornata")]
    elif t.status not in ("in_attesa", "da_autorizzare"):
        history.append((t.changed_at, state.capitalize()))
    y += 30
    for when, what in history:
        page.text(LEFT, y, f"{when:%d/%m/%Y %H:%M}")
        page.text(LEFT + 120, y, what)
        y += 14
    page.rule(770)
    page.text(
        LEFT, 782, f"UniCredit S.p.A. - Sede legale {BANKS['unicredit'].address}", size=7, grey=True
    )


def _pending_bpm(page: _Page, t: _Transfer) -> None:
    """A key/value grid, two pairs per row, `Esito` in capitals and the order number on top."""
    state, sentence = _state(t)
    page.text(LEFT, 50, "BANCO BPM", size=16, bold=True)
    page.right(RIGHT, 50, "YouWeb", size=10)
    page.text(LEFT, 100, "DISPOSIZIONE DI BONIFICO", size=12, bold=True)
    page.text(
        LEFT, 116, f"Numero disposizione 0000{t.number[:9]}  del {t.booked_at:%d/%m/%Y}", grey=True
    )
    (l1, v1), (l2, v2) = _dates(t)
    grid = [
        (("Ordinante", t.payer), ("Rapporto", t.payer_iban[-12:])),
        (("IBAN", RESELLER_IBAN), ("BIC", "BPMOIT22XXX")),
        (("Beneficiario", RESELLER_NAME), ("Paese", "ITALIA")),
        ((l1, v1), (l2, v2)),
        (("Importo", it_amount(t.amount)), ("Divisa", "EUR")),
        (("Esito", state), ("Canale", "Internet")),
    ]
    y = 150.0
    for (a, b), (c, d) in grid:
        page.text(LEFT, y, a, bold=True)
        page.text(LEFT + 95, y, b)
        page.text(LEFT + 280, y, c, bold=True)
        page.text(LEFT + 390, y, d)
        y += 17
    page.text(LEFT, y + 4, "Causale", bold=True)
    y = page.wrapped(LEFT + 95, y + 4, t.causale, width=68)
    if t.status == "stornato":
        page.text(LEFT, y + 8, f"CRO {t.cro}", bold=True)
        page.text(LEFT + 140, y + 8, f"TRN {t.trn}")
        y += 16
    if t.status == "rifiutato":
        page.text(LEFT, y + 8, f"Motivo del rifiuto: {t.reason}", bold=True)
        y += 16
    y = page.wrapped(LEFT, y + 24, sentence, width=95)
    page.rule(770)
    page.text(
        LEFT,
        782,
        "Banco BPM S.p.A. - Capitale sociale Euro 7.100.000.000,00 - Gruppo Bancario Banco BPM",
        size=7,
        grey=True,
    )


def _pending_poste(page: _Page, t: _Transfer) -> None:
    """Each label alone above its value under Poste's yellow band; the state as `Esito`."""
    state, sentence = _state(t)
    page.band(40, 30, (1.0, 0.85, 0.0))
    page.text(LEFT, 50, "Poste Italiane", size=14, bold=True)
    page.right(RIGHT, 50, "BancoPosta", size=11, bold=True)
    heading = {
        "prenotato": "Bonifico prenotato",
        "stornato": "Bonifico stornato",
        "revocato": "Revoca bonifico",
    }.get(t.status, "Dettaglio bonifico SEPA")
    page.text(LEFT, 92, heading, size=13, bold=True)
    page.text(LEFT, 108, f"Esito: {state.lower()}")
    y = 140.0
    rows = [
        ("Eseguito da", t.payer.upper()),
        ("Conto di addebito", t.payer_iban),
        ("Beneficiario", RESELLER_NAME),
        ("IBAN beneficiario", RESELLER_IBAN),
        ("Causale", t.causale),
        *_dates(t),
        ("Codice operazione", f"{t.number[:4]}-{t.number[4:]}"),
    ]
    if t.status == "stornato":
        rows.append(("Numero operazione (CRO)", f"7601{t.cro}"))
    for label, value in rows:
        page.text(LEFT, y, label, size=8, grey=True)
        y = page.wrapped(LEFT, y + 13, value) + 8
    page.rule(y)
    page.text(LEFT, y + 18, "Importo")
    page.right(RIGHT, y + 18, f"€ {it_amount(t.amount)}")
    page.text(LEFT, y + 36, "Commissione")
    page.right(RIGHT, y + 36, "€ 0,00" if t.status != "stornato" else "€ 1,00")
    page.wrapped(LEFT, y + 66, sentence, width=95)
    page.rule(770)
    page.text(
        LEFT,
        782,
        f"Poste Italiane S.p.A. - Patrimonio BancoPosta - {BANKS['poste'].address}",
        size=7,
        grey=True,
    )


def _pending_corporate(page: _Page, t: _Transfer) -> None:
    """A corporate remote-banking list (CBI): a batch of one, signatures 1 of 2, OTP pending."""
    state, sentence = _state(t)
    page.band(40, 28, (0.2, 0.2, 0.25))
    page.text(LEFT, 50, "BCC Roma - Corporate Banking", size=12, bold=True, white=True)
    page.right(RIGHT, 50, f"Azienda: {t.payer}", size=8, white=True)
    page.text(LEFT, 90, "Bonifici SEPA - Dettaglio distinta", size=13, bold=True)
    page.text(
        LEFT,
        106,
        f"Distinta n. {t.number[:6]} del {t.booked_at:%d/%m/%Y} - 1 disposizione",
        grey=True,
    )
    headers = ["Beneficiario", "IBAN beneficiario", "Importo", "Data esec.", "Stato"]
    xs = [LEFT, LEFT + 95, LEFT + 280, LEFT + 345, LEFT + 405]
    page.band(128, 16, (0.88, 0.88, 0.9))
    for x, header in zip(xs, headers, strict=True):
        page.text(x, 128, header, size=8, bold=True)
    values = [RESELLER_NAME, RESELLER_IBAN, it_amount(t.amount), f"{t.execute_on:%d/%m/%y}", state]
    for x, value in zip(xs, values, strict=True):
        page.text(x, 148, value, size=7.5)
    page.text(LEFT, 162, f"Causale: {t.causale}", size=8)
    page.rule(170)
    y = 196.0
    rows = [
        ("Conto di addebito", f"{t.payer_iban} - {t.payer}"),
        ("Tipo disposizione", "Bonifico SEPA ordinario"),
        ("Numero disposizione", t.number),
        *_dates(t),
        ("Totale distinta", f"EUR {it_amount(t.amount)}"),
        ("Firme richieste", "2 (firma congiunta)"),
        ("Firme apposte", "1 di 2" if t.status == "da_autorizzare" else "2 di 2"),
        ("Inserita da", "utente OP01 - operatore"),
    ]
    if t.status == "rifiutato":
        rows.append(("Esito banca", f"RIFIUTATA - {t.reason}"))
    for label, value in rows:
        page.text(LEFT, y, label, size=9, bold=True)
        page.text(LEFT + 140, y, value, size=9)
        y += 15
    y = page.wrapped(LEFT, y + 14, sentence, width=95)
    if t.status == "da_autorizzare":
        page.box(LEFT, y + 10, RIGHT - LEFT, 46)
        page.text(
            LEFT + 10,
            y + 26,
            "Per autorizzare inserisci il codice OTP generato dal token e premi 'Firma e invia'.",
            size=9,
        )
        page.text(
            LEFT + 10,
            y + 44,
            "Codice OTP: [ _ _ _ _ _ _ ]      [ Annulla ]   [ Firma e invia ]",
            size=9,
            bold=True,
        )
    page.rule(770)
    page.text(
        LEFT,
        782,
        "Banca di Credito Cooperativo di Roma - Servizio CBI - assistenza 06 5286 1",
        size=7,
        grey=True,
    )


def _pending_english(page: _Page, t: _Transfer) -> None:
    """An online bank's transfer page in English: Scheduled, Pending, Cancelled, Declined."""
    state = {
        "prenotato": "Scheduled",
        "in_attesa": "Pending",
        "da_autorizzare": "Awaiting approval",
        "revocato": "Cancelled",
        "annullato": "Cancelled",
        "rifiutato": "Declined",
        "stornato": "Returned",
    }[t.status]
    sentence = {
        "prenotato": f"This transfer will be sent on {en_date(t.execute_on)}.",
        "in_attesa": "We are processing this transfer. It usually takes up to 1 business day.",
        "da_autorizzare": "Approve this transfer in the app to send it.",
        "revocato": f"You cancelled this transfer on {en_date(t.changed_at.date())}.",
        "annullato": "This transfer was cancelled. No money left your account.",
        "rifiutato": f"This transfer was declined: {t.reason.lower()}.",
        "stornato": f"The recipient's bank returned this transfer on "
        f"{en_date(t.changed_at.date())}. The money is back in your account.",
    }[t.status]
    page.text(LEFT, 54, "Brightwater Bank", size=18, bold=True)
    page.right(RIGHT, 50, f"{state} transfer", size=10, bold=True)
    page.text(LEFT, 104, f"€{en_amount(t.amount)}", size=24, bold=True)
    page.text(LEFT, 124, f"To {RESELLER_NAME}", size=11)
    page.text(LEFT, 142, f"Status: {state}", size=10, bold=True)
    page.wrapped(LEFT, 158, sentence, width=90)
    rows = [
        ("Recipient", RESELLER_NAME),
        ("IBAN", group_iban(RESELLER_IBAN)),
        ("Reference", t.causale),
        ("Amount", f"EUR {en_amount(t.amount)}"),
        ("Fee", "EUR 0.00"),
        ("Created", f"{en_date(t.booked_at.date(), long=True)}, {t.booked_at:%H:%M}"),
        ("Execution date", en_date(t.execute_on)),
        ("From", f"{t.payer} - {group_iban(t.payer_iban)}"),
        ("Payment ID", f"PMT-{t.number}"),
    ]
    y = 196.0
    for label, value in rows:
        page.text(LEFT, y, label, size=9, grey=True)
        page.text(LEFT + 120, y, value)
        y += 18
    page.rule(770)
    page.text(
        LEFT,
        782,
        "Brightwater Bank N.V., Herengracht 420, 1017 BZ Amsterdam - Chamber of Commerce 58123456",
        size=7,
        grey=True,
    )


_PENDING_DRAWERS: dict[str, Callable[[_Page, _Transfer], None]] = {
    "intesa": _pending_intesa,
    "unicredit": _pending_unicredit,
    "bpm": _pending_bpm,
    "poste": _pending_poste,
    "corporate": _pending_corporate,
    "english": _pending_english,
}


def pending_transfer_pdf(order: OrderSpec, status: str, layout: str = "intesa") -> bytes:
    """A bank's page for a transfer to us that did not (or not yet) move money: payer, our
    IBAN, the code in the causale, the exact total, and the state that makes it worthless."""
    if layout not in _PENDING_DRAWERS:
        raise ValueError(f"unknown layout {layout!r} (known: {', '.join(PENDING_LAYOUTS)})")
    transfer = _transfer(order, status, layout)
    title = "Transfer details" if layout == "english" else "Dettaglio disposizione"
    return _pdf(lambda page: _PENDING_DRAWERS[layout](page, transfer), title, layout)


# --- the form before the OTP ----------------------------------------------------------------


class _Screen:
    """A screen drawn in points (1 point = 1 pixel at `scale` 1), y from the top edge."""

    def __init__(self, pdf: canvas.Canvas, height: float) -> None:
        self.pdf, self.height = pdf, height

    def text(
        self,
        x: float,
        y: float,
        value: str,
        size: float = 14,
        bold: bool = False,
        rgb: tuple[float, float, float] = (0.13, 0.13, 0.15),
        align: str = "left",
    ) -> None:
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.pdf.setFillColorRGB(*rgb)
        draw = {
            "left": self.pdf.drawString,
            "right": self.pdf.drawRightString,
            "center": self.pdf.drawCentredString,
        }[align]
        draw(x, self.height - y, value)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: tuple[float, float, float] | None = None,
        stroke: tuple[float, float, float] | None = None,
        radius: float = 0,
    ) -> None:
        if fill:
            self.pdf.setFillColorRGB(*fill)
        if stroke:
            self.pdf.setStrokeColorRGB(*stroke)
            self.pdf.setLineWidth(1)
        self.pdf.roundRect(
            x, self.height - y - h, w, h, radius, stroke=int(bool(stroke)), fill=int(bool(fill))
        )


_BLUE = (0.0, 0.36, 0.63)
_LINE = (0.82, 0.84, 0.87)
_MUTED = (0.42, 0.44, 0.48)


def _form_rows(order: OrderSpec, t: _Transfer, balance: Decimal) -> list[tuple[str, str]]:
    return [
        ("Conto di addebito", f"{group_iban(t.payer_iban)}"),
        ("Saldo disponibile", f"{it_amount(balance)} €"),
        ("Beneficiario", RESELLER_NAME),
        ("IBAN beneficiario", group_iban(RESELLER_IBAN)),
        ("Importo", f"{it_amount(t.amount)} €"),
        ("Commissioni", "0,00 €"),
        ("Totale addebito", f"{it_amount(t.amount)} €"),
        ("Causale", t.causale),
        ("Data di esecuzione", f"{t.booked_at:%d/%m/%Y}"),
        ("Tipo bonifico", "Ordinario"),
    ]


def _browser_form(s: _Screen, order: OrderSpec, t: _Transfer, balance: Decimal) -> None:
    """A desktop browser: tab bar, address bar, the bank's header, steps, the summary, OTP."""
    s.rect(0, 0, 1200, 40, fill=(0.87, 0.89, 0.92))
    s.rect(12, 8, 260, 32, fill=(1, 1, 1), radius=8)
    s.text(28, 29, "Bonifico - Verifica dati | Banca Sabi...", size=12)
    s.rect(0, 40, 1200, 44, fill=(1, 1, 1))
    s.text(20, 68, "<   >   C", size=15, rgb=_MUTED)
    s.rect(110, 49, 980, 28, fill=(0.94, 0.95, 0.96), radius=14)
    s.text(
        130,
        68,
        "https://online.bancasabina.it/privati/bonifici/sepa/verifica?flow=SCT",
        size=13,
        rgb=_MUTED,
    )
    s.rect(0, 84, 1200, 64, fill=_BLUE)
    s.text(40, 124, "Banca Sabina", size=24, bold=True, rgb=(1, 1, 1))
    s.text(1160, 122, f"{_applicant(order)}  |  Esci", size=13, rgb=(1, 1, 1), align="right")
    steps = ["1  Compila", "2  Verifica", "3  Autorizza", "4  Esito"]
    for n, step in enumerate(steps):
        colour = _BLUE if n == 1 else _MUTED
        s.text(160 + n * 240, 186, step, size=14, bold=n == 1, rgb=colour)
        s.rect(160 + n * 240, 194, 180, 4 if n == 1 else 1, fill=colour)
    s.text(160, 240, "Bonifico SEPA - Verifica i dati", size=22, bold=True)
    s.text(
        160, 264, "Controlla i dati inseriti prima di confermare l'operazione.", size=13, rgb=_MUTED
    )
    s.rect(160, 280, 880, 352, fill=(1, 1, 1), stroke=_LINE, radius=6)
    y = 312.0
    for label, value in _form_rows(order, t, balance):
        s.text(184, y, label, size=13, rgb=_MUTED)
        s.text(420, y, value[:60], size=14, bold=label in ("Importo", "Beneficiario"))
        y += 32
    s.rect(160, 652, 880, 104, fill=(0.95, 0.97, 1.0), stroke=_LINE, radius=6)
    s.text(184, 682, "Inserisci il codice OTP", size=16, bold=True)
    s.text(
        184,
        704,
        "Ti abbiamo inviato un SMS con il codice al numero +39 *** *** 4821.",
        size=13,
        rgb=_MUTED,
    )
    for n in range(6):
        s.rect(184 + n * 46, 716, 38, 32, fill=(1, 1, 1), stroke=_LINE, radius=4)
    s.rect(640, 772, 180, 44, fill=(1, 1, 1), stroke=_BLUE, radius=22)
    s.text(730, 800, "Annulla", size=15, bold=True, rgb=_BLUE, align="center")
    s.rect(840, 772, 200, 44, fill=_BLUE, radius=22)
    s.text(940, 800, "Conferma e autorizza", size=15, bold=True, rgb=(1, 1, 1), align="center")


def _app_form(s: _Screen, order: OrderSpec, t: _Transfer, balance: Decimal) -> None:
    """A phone app (390 x 844 points): status bar, back arrow, summary card, OTP, buttons."""
    s.text(28, 34, f"{t.booked_at:%H:%M}", size=15, bold=True)
    s.text(362, 34, "5G  82%", size=12, bold=True, align="right")
    s.text(20, 84, "<", size=22, rgb=_BLUE)
    s.text(195, 84, "Bonifico", size=17, bold=True, align="center")
    s.text(20, 130, "Verifica i dati", size=24, bold=True)
    s.rect(16, 146, 358, 470, fill=(0.97, 0.97, 0.98), radius=14)
    y = 174.0
    for label, value in _form_rows(order, t, balance):
        s.text(32, y, label, size=11, rgb=_MUTED)
        for part in textwrap.wrap(value, 34)[:2]:
            s.text(32, y + 18, part, size=14, bold=label == "Importo")
            y += 18
        y += 26
    s.text(20, 648, "Inserisci il codice OTP", size=15, bold=True)
    for n in range(6):
        s.rect(20 + n * 58, 662, 48, 44, fill=(1, 1, 1), stroke=_LINE, radius=6)
    s.rect(16, 730, 358, 50, fill=_BLUE, radius=25)
    s.text(195, 761, "Conferma e autorizza", size=16, bold=True, rgb=(1, 1, 1), align="center")
    s.text(195, 812, "Annulla", size=15, bold=True, rgb=_BLUE, align="center")


def transfer_form_png(order: OrderSpec, device: str = "browser") -> bytes:
    """A screenshot of a filled-in transfer form waiting for the OTP ("Verifica i dati",
    "Conferma e autorizza"): our IBAN, the total, the code; nothing was sent. `device` is
    `browser` (1200 x 860 px) or `app` (a phone, 1170 x 2532 px)."""
    if device not in ("browser", "app"):
        raise ValueError(f"device is browser or app, got {device!r}")
    transfer = _transfer(order, "in_attesa", "form")
    balance = Decimal(_digits(order.code + "saldo", 6)) / 100 + Decimal("850")
    size, scale = ((1200.0, 860.0), 1.0) if device == "browser" else ((390.0, 844.0), 3.0)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=True)
    screen = _Screen(pdf, size[1])
    screen.rect(
        0, 0, size[0], size[1], fill=(0.97, 0.97, 0.98) if device == "browser" else (1, 1, 1)
    )
    (_browser_form if device == "browser" else _app_form)(screen, order, transfer, balance)
    pdf.showPage()
    pdf.save()
    image = pdfium.PdfDocument(buffer.getvalue())[0].render(scale=scale).to_pil().convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()
