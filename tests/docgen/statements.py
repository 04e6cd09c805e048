"""Account statement extracts, which customers send instead of a receipt.

One row among many pays us; the others are what a current account really holds (card payments
with the amount repeated in their text, ATM withdrawals, salary, direct debits, fees, stamp
duty), and some specs add distractors: another transfer of exactly the order's total to someone
else, an incoming transfer of the same amount, another order of ours paid the same month. The
spec says which row pays us (`paying_row`), so a reader can be judged on that row alone.

Layouts: `lista_movimenti` (internet banking export, one signed `Importo` column, newest first),
`estratto_conto` (the periodic statement, `Dare`/`Avere` columns, balances carried over between
pages), `app` (an app's export grouped by day, `- 24,40 €`, categories, no IBANs).
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.docgen.orders import OrderSpec, order_total
from tests.docgen.receipts import (
    HEIGHT,
    LEFT,
    RESELLER_IBAN,
    RESELLER_NAME,
    RIGHT,
    STRANGER_IBAN,
    _digits,
    _Page,
    group_iban,
    it_amount,
    italian_iban,
    make_trn,
)

LAYOUTS: tuple[str, ...] = ("lista_movimenti", "estratto_conto", "app")
DISTRACTORS: tuple[str, ...] = ("same_amount_elsewhere", "same_amount_incoming", "other_order")
IT_MONTHS = ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto",
              "settembre", "ottobre", "novembre", "dicembre")  # fmt: skip
_IT_DAYS = ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica")


@dataclass(frozen=True)
class Movement:
    """One booked movement; `amount` is signed from the holder's side (negative: money out)."""

    booked: date
    value: date
    amount: Decimal
    description: str  # the bank's text, upper case, often long
    title: str  # what an app shows as the headline: merchant or counterpart
    category: str  # the app's category
    note: str = ""  # the causale as the payer typed it, which apps show under the headline


@dataclass(frozen=True)
class StatementSpec:
    """What a statement holds; `rows` oldest first, `rows[paying_row]` is the one paying us."""

    holder: str
    holder_iban: str
    address: str
    bank: str
    period_start: date
    period_end: date
    opening_balance: Decimal
    rows: tuple[Movement, ...]
    paying_row: int
    code: str

    @property
    def paying(self) -> Movement:
        return self.rows[self.paying_row]

    @property
    def paying_amount(self) -> Decimal:
        """What the order was paid: the debit's absolute value."""
        return -self.paying.amount

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + sum((row.amount for row in self.rows), Decimal(0))

    @property
    def available_balance(self) -> Decimal:
        """Saldo disponibile: the closing balance less card payments not yet booked."""
        return self.closing_balance - Decimal(_digits(self.code + "pending", 4)) / 100


# --- rows -----------------------------------------------------------------------------------

_MERCHANTS = [
    ("ESSELUNGA SPA", "Esselunga", "Spesa"),
    ("CONAD CITY ROMA", "Conad City", "Spesa"),
    ("LIDL ITALIA SRL", "Lidl", "Spesa"),
    ("FARMACIA SAN LORENZO", "Farmacia San Lorenzo", "Salute"),
    ("ENI STATION 4521", "Eni Station", "Trasporti"),
    ("TRENITALIA SPA", "Trenitalia", "Trasporti"),
    ("BAR TABACCHI DEL CORSO", "Bar Tabacchi del Corso", "Ristoranti e bar"),
    ("RISTORANTE DA ENZO", "Ristorante da Enzo", "Ristoranti e bar"),
    ("AMAZON EU SARL", "Amazon", "Shopping"),
    ("DECATHLON ITALIA", "Decathlon", "Shopping"),
]
_CREDITORS = [
    ("ENEL ENERGIA SPA", "Enel Energia", "IT68ZZZ0000006752000"),
    ("TIM SPA", "TIM", "IT41ZZZ0000000488410"),
    ("ACEA ATO 2 SPA", "Acea Ato 2", "IT19ZZZ0000005142510"),
    ("FASTWEB SPA", "Fastweb", "IT78ZZZ0000012878470"),
    ("TELEPASS SPA", "Telepass", "IT33ZZZ0000009771701"),
]
_HOLDER_BANKS = [
    ("Banca Popolare del Lazio", "05104"),
    ("Banca di Credito Cooperativo di Roma", "08327"),
    ("Credito Emiliano", "03032"),
]
_EMPLOYERS = ["ACME SERVIZI SRL", "COOPERATIVA SOCIALE IL GIRASOLE", "STUDIO TECNICO VERDI"]
_FRIENDS = ["GIULIA ESPOSITO", "LUCA FERRARI", "ANNA BIANCHI", "PAOLO GRECO"]


def _money(chance: random.Random, low: int, high: int) -> Decimal:
    return Decimal(chance.randint(low * 100, high * 100)) / 100


def _card(holder: str) -> str:
    return _digits(holder + "card", 4)


def _pos(chance: random.Random, day: date, holder: str) -> Movement:
    name, title, category = chance.choice(_MERCHANTS)
    amount = _money(chance, 4, 95)
    at = f"{chance.randint(8, 21):02d}:{chance.randint(0, 59):02d}"
    online = name.startswith("AMAZON")
    kind = "PAGAMENTO CARTA ONLINE" if online else "PAGAMENTO POS"
    text = (
        f"{kind} {it_amount(amount)} EUR DEL {day:%d.%m.%Y} ORE {at} CARTA N. "
        f"*{_card(holder)} PRESSO {name}"
    )
    booked = day + timedelta(days=1 if day.weekday() < 4 else 3)
    return Movement(booked, day, -amount, text, title, category)


def _atm(chance: random.Random, day: date, holder: str) -> Movement:
    amount = Decimal(chance.choice([50, 100, 150, 200, 250]))
    text = (
        f"PRELIEVO BANCOMAT SU ATM BANCA {chance.choice(['03069', '02008', '05034'])} DEL "
        f"{day:%d/%m/%Y} ORE {chance.randint(8, 22):02d}:{chance.randint(0, 59):02d} "
        f"CARTA N. *{_card(holder)}"
    )
    return Movement(day, day, -amount, text, "Prelievo bancomat", "Prelievi")


def _salary(chance: random.Random, day: date, holder: str) -> Movement:
    employer = chance.choice(_EMPLOYERS)
    month = IT_MONTHS[day.month - 1].upper()
    amount = _money(chance, 1350, 2450)
    cro = _digits(holder + employer + str(day), 11)
    text = (
        f"BONIFICO A VOSTRO FAVORE DA {employer} PER: STIPENDIO {month} {day.year} "
        f"TRN {make_trn(cro, '02008')}"
    )
    return Movement(day, day, amount, text, employer.title(), "Stipendio")


def _sdd(chance: random.Random, day: date, holder: str) -> Movement:
    name, title, cid = chance.choice(_CREDITORS)
    amount = _money(chance, 25, 140)
    text = (
        f"ADDEBITO DIRETTO SDD {name} CID {cid} MANDATO {_digits(holder + name, 10)} "
        f"FATTURA N. {_digits(str(day) + name, 8)}"
    )
    return Movement(day, day, -amount, text, title, "Utenze")


def _friend(chance: random.Random, day: date, holder: str) -> Movement:
    friend = chance.choice(_FRIENDS)
    amount = Decimal(chance.choice([15, 20, 35, 50, 80]))
    text = f"BONIFICO A VOSTRO FAVORE DA {friend} PER: QUOTA REGALO"
    return Movement(day, day, amount, text, friend.title(), "Bonifici ricevuti")


def _recharge(chance: random.Random, day: date, holder: str) -> Movement:
    amount = Decimal(chance.choice([10, 15, 20, 30]))
    number = f"3{_digits(holder + 'cell', 2)}*****{_digits(holder + 'cell', 3)[-2:]}"
    text = f"RICARICA TELEFONICA TIM NUMERO {number} DEL {day:%d/%m/%Y}"
    return Movement(day, day, -amount, text, "Ricarica TIM", "Telefonia")


_EVERYDAY: tuple[Callable[[random.Random, date, str], Movement], ...] = (_pos,) * 4 + (
    _atm, _sdd, _sdd, _friend, _recharge,
)  # fmt: skip


def _fees(end: date) -> list[Movement]:
    """The month's last rows: the account fee and the pro-rata stamp duty (34,20 € a year)."""
    return [
        Movement(
            end,
            end,
            Decimal("-4.00"),
            "CANONE MENSILE CONTO",
            "Canone mensile",
            "Commissioni e tasse",
        ),
        Movement(
            end,
            end,
            Decimal("-2.85"),
            f"IMPOSTA DI BOLLO E/C PERIODO {end:%m/%Y}",
            "Imposta di bollo",
            "Commissioni e tasse",
        ),
    ]


def _paying(holder_iban: str, mention: str, causale: str) -> str:
    """The bank's text for a transfer to us: our name, our IBAN or not, the causale, the TRN."""
    cro = _digits(causale + "stmt", 11)
    iban = f" IBAN {RESELLER_IBAN}" if mention == "iban" else ""
    return (
        f"BONIFICO SEPA A FAVORE DI {RESELLER_NAME.upper()}{iban} CAUSALE: {causale.upper()} "
        f"TRN {make_trn(cro, holder_iban[5:10])}"
    )


def _weekday_in(chance: random.Random, start: date, end: date) -> date:
    span = (end - start).days
    day = start + timedelta(days=chance.randint(0, span))
    while day.weekday() >= 5 and day > start:
        day -= timedelta(days=1)
    return day


def statement_spec(
    order: OrderSpec,
    *,
    others: int = 10,
    distractors: tuple[str, ...] = (),
    mention: str = "iban",
    fee: bool = True,
) -> StatementSpec:
    """The month's movements of the order's applicant, one transfer paying the order.

    `others` everyday rows (6 to 15) besides the paying one, the account fee and stamp duty
    included; `distractors` from DISTRACTORS; `mention` "iban" or "name": whether the paying row
    prints our IBAN or only our name; `fee` adds the bank's fee for the transfer as its own row.
    """
    if not 6 <= others <= 15:
        raise ValueError(f"others is 6 to 15, got {others}")
    unknown = set(distractors) - set(DISTRACTORS)
    if unknown:
        raise ValueError(f"unknown distractors {sorted(unknown)}")
    chance = random.Random(int(_digits(f"{order.code}|{others}|{distractors}|{mention}", 12)))
    holder = f"{order.first_name} {order.last_name}".strip() or "Mario Rossi"
    bank, abi = chance.choice(_HOLDER_BANKS)
    holder_iban = italian_iban(abi, _digits(holder + "cab", 5), _digits(holder, 12))
    ordered = datetime.fromisoformat(order.created_at).date()
    pay_day = ordered + timedelta(days=chance.choice([0, 0, 1]))
    while pay_day.weekday() >= 5:
        pay_day += timedelta(days=1)
    start = pay_day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    causale = chance.choice(
        [
            f"Pagamento ordine {order.code}",
            f"Ordine {order.code} casella PEC",
            f"{order.code} {holder}",
        ]
    )
    rows: list[Movement] = []
    extra = [*_fees(end)] if others >= 8 else []
    salary_day = _weekday_in(chance, start.replace(day=min(27, end.day)), end)
    rows.append(_salary(chance, salary_day, holder))
    while len(rows) + len(extra) + len(distractors) + int(fee) < others:
        make = chance.choice(_EVERYDAY)
        rows.append(make(chance, _weekday_in(chance, start, end - timedelta(days=1)), holder))
    for kind in distractors:
        day = _weekday_in(chance, start, end)
        if kind == "same_amount_elsewhere":
            text = (
                f"BONIFICO SEPA A FAVORE DI STUDIO DENTISTICO BIANCHI IBAN {STRANGER_IBAN} "
                f"CAUSALE: SALDO FATTURA N. {chance.randint(10, 199)}/{day.year}"
            )
            rows.append(
                Movement(
                    day,
                    day,
                    -order.total,
                    text,
                    "Studio Dentistico Bianchi",
                    "Bonifici",
                    text.split("CAUSALE: ")[1].capitalize(),
                )
            )
        elif kind == "same_amount_incoming":
            friend = chance.choice(_FRIENDS)
            text = f"BONIFICO A VOSTRO FAVORE DA {friend} PER: RIMBORSO CASELLA PEC STUDIO"
            rows.append(Movement(day, day, order.total, text, friend.title(), "Bonifici ricevuti"))
        else:
            other = f"LM{(int(order.order_id) + 37) % 10_000_000:07d}"
            net = "45.00" if order.total != Decimal("54.90") else "30.00"
            amount = order_total(Decimal(net), Decimal("22"), "bonifico")
            text = _paying(holder_iban, mention, f"Pagamento ordine {other}")
            rows.append(
                Movement(
                    day, day, -amount, text, RESELLER_NAME, "Bonifici", f"Pagamento ordine {other}"
                )
            )
    paying = Movement(
        pay_day,
        pay_day,
        -order.total,
        _paying(holder_iban, mention, causale),
        RESELLER_NAME,
        "Bonifici",
        causale,
    )
    rows.append(paying)
    if fee:
        rows.append(
            Movement(
                pay_day,
                pay_day,
                Decimal("-0.50"),
                "COMMISSIONI SU BONIFICO SEPA DISPOSTO DA INTERNET BANKING",
                "Commissioni bonifico",
                "Commissioni e tasse",
            )
        )
    rows = [replace(row, booked=min(row.booked, end)) for row in rows]  # POS booked late
    rows.sort(key=lambda row: (row.booked, row.amount > 0))
    rows += extra
    opening = _money(chance, 1200, 9800)
    lowest = Decimal(0)
    running = opening
    for row in rows:
        running += row.amount
        lowest = min(lowest, running)
    address = f"Via Appia Nuova {chance.randint(2, 300)}, 00183 Roma RM"
    return StatementSpec(
        holder=holder,
        holder_iban=holder_iban,
        address=address,
        bank=bank,
        period_start=start,
        period_end=end,
        opening_balance=opening - lowest + (Decimal(200) if lowest else 0),
        rows=tuple(rows),
        paying_row=rows.index(paying),
        code=order.code,
    )


# --- drawing --------------------------------------------------------------------------------


def _signed(amount: Decimal) -> str:
    """`-24,40`, `+1.250,00`: the internet banking's one Importo column."""
    return f"{'+' if amount > 0 else '-'}{it_amount(abs(amount))}"


def _app_amount(amount: Decimal) -> str:
    """`- 24,40 €`, `+ 1.250,00 €`: as apps print them, a space after the sign."""
    return f"{'+' if amount > 0 else '-'} {it_amount(abs(amount))} €"


class _Pages:
    """A canvas that starts a new page, with its running header, when a row will not fit."""

    def __init__(self, header: Callable[[_Page, int], float], bottom: float = 760) -> None:
        self.buffer = io.BytesIO()
        self.pdf = canvas.Canvas(self.buffer, pagesize=A4, invariant=True, pageCompression=1)
        self.page = _Page(self.pdf)
        self.header, self.bottom, self.number = header, bottom, 1
        self.y = header(self.page, 1)

    def room(self, height: float, before_break: Callable[[_Page, float], None] | None) -> bool:
        """True when a new page was started to make room for `height` points."""
        if self.y + height <= self.bottom:
            return False
        if before_break:
            before_break(self.page, self.y)
        self.pdf.showPage()
        self.number += 1
        self.y = self.header(self.page, self.number)
        return True

    def finish(self, title: str, author: str) -> bytes:
        self.pdf.setTitle(title)
        self.pdf.setAuthor(author)
        self.pdf.setCreator("docgen")
        self.pdf.showPage()
        self.pdf.save()
        return self.buffer.getvalue()


def _lista_movimenti(spec: StatementSpec) -> bytes:
    """Internet banking export: balances on top, newest first, one signed Importo column,
    descriptions wrapped over two or three lines, the opening balance at the bottom."""
    extracted = datetime.combine(spec.period_end + timedelta(days=1), time(8, 14))
    columns = [(LEFT, "Data contabile"), (LEFT + 62, "Data valuta"), (LEFT + 124, "Descrizione")]

    def header(page: _Page, number: int) -> float:
        page.text(LEFT, 50, spec.bank, size=14, bold=True)
        page.right(RIGHT, 50, "Internet Banking", size=9)
        page.text(LEFT, 84, "Lista movimenti", size=14, bold=True)
        y = 102.0
        if number == 1:
            for label, value in [
                ("Intestatario", spec.holder.upper()),
                ("Conto", group_iban(spec.holder_iban)),
                ("Periodo", f"dal {spec.period_start:%d/%m/%Y} al {spec.period_end:%d/%m/%Y}"),
                (
                    "Saldo contabile al " + f"{spec.period_end:%d/%m/%Y}",
                    f"{it_amount(spec.closing_balance)} EUR",
                ),
                ("Saldo disponibile", f"{it_amount(spec.available_balance)} EUR"),
            ]:
                page.text(LEFT, y, f"{label}:", size=8.5, bold=True)
                page.text(LEFT + 140, y, value, size=8.5)
                y += 13
            y += 10
        page.band(y, 16, (0.9, 0.91, 0.93))
        for x, name in columns:
            page.text(x, y, name, size=7.5, bold=True)
        page.right(RIGHT, y, "Importo (EUR)", size=7.5, bold=True)
        return y + 20

    pages = _Pages(header)
    for row in reversed(spec.rows):
        lines = textwrap.wrap(row.description, 58)
        pages.room(11 * len(lines) + 6, None)
        page, y = pages.page, pages.y
        page.text(LEFT, y, f"{row.booked:%d/%m/%Y}", size=8)
        page.text(LEFT + 62, y, f"{row.value:%d/%m/%Y}", size=8)
        for n, line in enumerate(lines):
            page.text(LEFT + 124, y + 11 * n, line, size=8)
        page.right(RIGHT, y, _signed(row.amount), size=8, bold=row.amount > 0)
        page.rule(y + 11 * len(lines) - 4)
        pages.y = y + 11 * len(lines) + 6
    pages.room(40, None)
    page, y = pages.page, pages.y + 8
    page.text(LEFT, y, f"Saldo iniziale al {spec.period_start:%d/%m/%Y}", size=8.5, bold=True)
    page.right(RIGHT, y, f"{it_amount(spec.opening_balance)} EUR", size=8.5, bold=True)
    page.text(
        LEFT,
        790,
        f"Documento generato il {extracted:%d/%m/%Y} alle {extracted:%H:%M}. "
        "Il presente documento non sostituisce l'estratto conto.",
        size=6.5,
        grey=True,
    )
    return pages.finish("Lista movimenti", spec.bank)


def _estratto_conto(spec: StatementSpec) -> bytes:
    """The periodic statement: postal address, Dare/Avere before the description, the opening
    balance as the first row, balances carried to the next page, totals and the final balance."""
    dare_x, avere_x, text_x = LEFT + 168, LEFT + 232, LEFT + 244
    number = f"{spec.period_end.month}/{spec.period_end.year}"
    account = spec.holder_iban[-12:]

    def header(page: _Page, number_: int) -> float:
        page.text(LEFT, 48, spec.bank.upper(), size=12, bold=True)
        page.text(LEFT, 60, "Filiale di Roma Ag. 5 - Via Tuscolana 712 - 00174 Roma", size=7)
        page.right(RIGHT, 48, "ESTRATTO CONTO CORRENTE", size=11, bold=True)
        page.right(RIGHT, 60, f"Pagina {number_}", size=7.5)
        y = 80.0
        if number_ == 1:
            for n, line in enumerate(
                [f"Sig. {spec.holder.upper()}", *spec.address.upper().split(", ", 1)]
            ):
                page.text(LEFT + 300, 96 + 12 * n, line, size=9)
            for n, line in enumerate(
                [
                    f"Conto corrente n. {account}",
                    f"IBAN {spec.holder_iban}",
                    f"Intestato a {spec.holder.upper()}",
                    f"Estratto conto n. {number} dal {spec.period_start:%d.%m.%Y} al "
                    f"{spec.period_end:%d.%m.%Y}",
                ]
            ):
                page.text(LEFT, 150 + 12 * n, line, size=8.5)
            page.box(LEFT, 206, RIGHT - LEFT, 58)
            page.text(LEFT + 8, 220, "RIEPILOGO DEL PERIODO", size=8, bold=True)
            summary = [
                ("Saldo iniziale", spec.opening_balance),
                ("Totale entrate", sum((r.amount for r in spec.rows if r.amount > 0), Decimal(0))),
                ("Totale uscite", sum((-r.amount for r in spec.rows if r.amount < 0), Decimal(0))),
                ("Saldo finale", spec.closing_balance),
            ]
            for n, (label, value) in enumerate(summary):
                x = LEFT + 8 + (n % 2) * 240
                page.text(x, 236 + (n // 2) * 14, label, size=8)
                page.right(x + 200, 236 + (n // 2) * 14, it_amount(value), size=8)
            y = 290.0
        page.rule(y - 10, width=0.8)
        for x, name in [(LEFT, "DATA"), (LEFT + 52, "VALUTA")]:
            page.text(x, y, name, size=7.5, bold=True)
        page.right(dare_x, y, "DARE", size=7.5, bold=True)
        page.right(avere_x, y, "AVERE", size=7.5, bold=True)
        page.text(text_x + 6, y, "DESCRIZIONE OPERAZIONI", size=7.5, bold=True)
        page.rule(y + 5, width=0.8)
        return y + 20

    pages = _Pages(header, bottom=740)
    running = spec.opening_balance

    def carry(page: _Page, y: float) -> None:
        page.right(avere_x, y + 4, it_amount(running), size=8)
        page.text(text_x + 6, y + 4, "SALDO A RIPORTARE", size=8, bold=True)

    page = pages.page
    page.text(LEFT, pages.y, f"{spec.period_start:%d.%m.%y}", size=8)
    page.right(avere_x, pages.y, it_amount(spec.opening_balance), size=8)
    page.text(text_x + 6, pages.y, "SALDO INIZIALE A VOSTRO CREDITO", size=8, bold=True)
    pages.y += 16

    def brought_forward(height: float) -> None:
        if pages.room(height, carry):
            pages.page.right(avere_x, pages.y, it_amount(running), size=8)
            pages.page.text(text_x + 6, pages.y, "RIPORTO SALDO", size=8, bold=True)
            pages.y += 16

    for row in spec.rows:
        lines = textwrap.wrap(row.description, 46)
        brought_forward(11 * len(lines) + 20)
        page, y = pages.page, pages.y
        page.text(LEFT, y, f"{row.booked:%d.%m.%y}", size=8)
        page.text(LEFT + 52, y, f"{row.value:%d.%m.%y}", size=8)
        page.right(dare_x if row.amount < 0 else avere_x, y, it_amount(abs(row.amount)), size=8)
        for n, line in enumerate(lines):
            page.text(text_x + 6, y + 11 * n, line, size=8)
        running += row.amount
        pages.y = y + 11 * len(lines) + 5
    out = sum((-r.amount for r in spec.rows if r.amount < 0), Decimal(0))
    into = sum((r.amount for r in spec.rows if r.amount > 0), Decimal(0))
    brought_forward(60)
    page, y = pages.page, pages.y + 4
    page.rule(y - 8)
    page.right(dare_x, y, it_amount(out), size=8, bold=True)
    page.right(avere_x, y, it_amount(into), size=8, bold=True)
    page.text(text_x + 6, y, "TOTALE MOVIMENTI", size=8, bold=True)
    page.text(LEFT, y + 16, f"{spec.period_end:%d.%m.%y}", size=8)
    page.right(avere_x, y + 16, it_amount(spec.closing_balance), size=8, bold=True)
    page.text(text_x + 6, y + 16, "SALDO FINALE A VOSTRO CREDITO", size=8, bold=True)
    page.text(
        LEFT,
        772,
        "In mancanza di reclamo scritto entro 60 giorni dal ricevimento, "
        "l'estratto conto si intende approvato (art. 1832 c.c.).",
        size=6.5,
        grey=True,
    )
    page.text(
        LEFT,
        782,
        "Imposta di bollo assolta in modo virtuale - Aut. Agenzia delle Entrate "
        "n. 2014/12345 del 12/03/2014",
        size=6.5,
        grey=True,
    )
    return pages.finish(f"Estratto conto {number}", spec.bank)


def _app(spec: StatementSpec) -> bytes:
    """An app's export: balances, days as headings (`giovedì 20 novembre 2026`), each movement
    a headline, a category line (our row: the causale) and `- 24,40 €` on the right."""

    def header(page: _Page, number: int) -> float:
        page.band(36, 30, (0.1, 0.55, 0.5))
        page.text(LEFT, 46, "Movimenti", size=14, bold=True, white=True)
        page.right(
            RIGHT, 46, f"Conto ••••{spec.holder_iban[-4:]} - {spec.holder}", size=8.5, white=True
        )
        if number > 1:
            return 90.0
        page.text(
            LEFT,
            94,
            f"Dal {spec.period_start.day} {IT_MONTHS[spec.period_start.month - 1]}"
            f" {spec.period_start.year} al {spec.period_end.day} "
            f"{IT_MONTHS[spec.period_end.month - 1]} {spec.period_end.year}",
            size=9,
            grey=True,
        )
        for n, (label, value) in enumerate(
            [
                ("Saldo disponibile", spec.available_balance),
                ("Saldo contabile", spec.closing_balance),
                ("Saldo iniziale", spec.opening_balance),
                ("Saldo finale", spec.closing_balance),
            ]
        ):
            x = LEFT + (n % 2) * 250
            y = 118 + (n // 2) * 30
            page.text(x, y, label, size=8, grey=True)
            page.text(x, y + 13, f"{it_amount(value)} €", size=11, bold=n == 0)
        return 186.0

    pages = _Pages(header, bottom=790)
    last_day: date | None = None
    for row in reversed(spec.rows):
        new_day = row.booked != last_day
        pages.room(40 + (22 if new_day else 0), None)
        page = pages.page
        if new_day:
            day = row.booked
            label = f"{_IT_DAYS[day.weekday()]} {day.day} {IT_MONTHS[day.month - 1]} {day.year}"
            page.text(LEFT, pages.y, label.capitalize(), size=9, bold=True, grey=True)
            pages.y += 20
            last_day = row.booked
        y = pages.y
        page.pdf.setFillGray(0.88)
        page.pdf.circle(LEFT + 9, HEIGHT - y + 3, 9, stroke=0, fill=1)
        page.text(LEFT + 5, y + 7, row.title[:1], size=9, bold=True)
        page.text(LEFT + 26, y, row.title, size=10, bold=True)
        detail = f"{row.category} · {row.note}" if row.note else row.category
        page.text(LEFT + 26, y + 13, detail[:80], size=8, grey=True)
        page.right(RIGHT, y, _app_amount(row.amount), size=10, bold=row.amount > 0)
        pages.y = y + 32
    return pages.finish("Movimenti", spec.bank)


_DRAWERS: dict[str, Callable[[StatementSpec], bytes]] = {
    "lista_movimenti": _lista_movimenti,
    "estratto_conto": _estratto_conto,
    "app": _app,
}


def statement_pdf(spec: StatementSpec, layout: str = "lista_movimenti") -> bytes:
    """The statement as a text PDF of one or two A4 pages in the layout's look."""
    if layout not in _DRAWERS:
        raise ValueError(f"unknown layout {layout!r} (known: {', '.join(LAYOUTS)})")
    return _DRAWERS[layout](spec)
