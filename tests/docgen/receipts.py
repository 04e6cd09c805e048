"""Bank and postal receipts (contabili) as one-page A4 PDFs with a real text layer.

Each layout imitates one bank's receipt: where labels sit (same line, column headers above a
table row, alone above their value), how amounts are written (`€ 24,40`, `24,40 EUR`,
`EUR 24.40`, `Importo: 1.234,56`) and the distractors a real receipt carries (CRO, TRN,
IBANs, phone numbers, fees and totals, dates, the bank's address and share capital).

`LAYOUTS` are receipts a careful label-based reader must get right, with or without a fee.
`TRICKY_LAYOUTS` are real-world shapes that defeat naive readers, one trap each: a fee beside
the amount in one table row (`table_fees`), the amount in words on a paper bollettino
(`bollettino_td123`), a BIC after the IBAN on one line (`bpm_bic_inline`), an unlabelled
amount plus the bank's share capital in euros (`fineco_capital`). They are kept apart so a
parser can adopt them when it is ready.
`ONLINE_LAYOUTS` are English app receipts of online banks abroad (invented names): `€24.40`,
`24.40 EUR`, `EUR 1,234.56`, dates like `12 Mar 2027`, a transaction id instead of a CRO, and a
fee-inclusive total beside the amount.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import partial
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from stdnum import iban as iban_check

# --- IBANs and references -------------------------------------------------------------------

_CIN_ODD = (
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
)


def _cin(bban_rest: str) -> str:
    """The Italian CIN letter over ABI+CAB+conto (same tables as the codice fiscale)."""

    def value(char: str) -> int:
        return int(char) if char.isdigit() else ord(char) - ord("A")

    total = sum(
        _CIN_ODD[value(c)] if i % 2 == 0 else value(c) for i, c in enumerate(bban_rest.upper())
    )
    return chr(ord("A") + total % 26)


def make_iban(country: str, bban: str) -> str:
    """Any country's IBAN from its BBAN, check digits by python-stdnum."""
    check = iban_check.calc_check_digits(f"{country}00{bban}")
    number = f"{country}{check}{bban}"
    iban_check.validate(number)
    return number


def italian_iban(abi: str, cab: str, account: str) -> str:
    """IT + check digits + CIN + ABI (5) + CAB (5) + conto (12), all check characters right."""
    rest = f"{abi:0>5}{cab:0>5}{account:0>12}"
    return make_iban("IT", _cin(rest) + rest)


def group_iban(number: str) -> str:
    """The printed form, in blocks of four: IT60 X054 2811 ..."""
    return " ".join(number[i : i + 4] for i in range(0, len(number), 4))


RESELLER_IBAN = "IT60X0542811101000000123456"  # config/settings.py `ibans` default
RESELLER_POSTAL_ACCOUNT = "000012345678"  # config `postal_account` default, 12 digits as printed
RESELLER_NAME = "Visura S.p.A."
# Someone else's account, for receipts that pay a stranger (a wrong beneficiary).
STRANGER_IBAN = "IT25O0306909606100000012345"


@dataclass(frozen=True)
class Bank:
    name: str
    abi: str
    bic: str
    address: str
    phone: str


BANKS: dict[str, Bank] = {
    "intesa": Bank(
        "Intesa Sanpaolo S.p.A.",
        "03069",
        "BCITITMM",
        "Piazza San Carlo 156 - 10121 Torino",
        "800.303.303",
    ),
    "unicredit": Bank(
        "UniCredit S.p.A.",
        "02008",
        "UNCRITMM",
        "Piazza Gae Aulenti 3 - Tower A - 20154 Milano",
        "800.57.57.57",
    ),
    "poste": Bank(
        "Poste Italiane S.p.A. - Patrimonio BancoPosta",
        "07601",
        "BPPIITRRXXX",
        "Viale Europa 190 - 00144 Roma",
        "800 00 33 22",
    ),
    "bpm": Bank(
        "Banco BPM S.p.A.",
        "05034",
        "BAPPIT21",
        "Piazza F. Meda 4 - 20121 Milano",
        "+39 02 4339 0000",
    ),
    "fineco": Bank(
        "FinecoBank S.p.A.",
        "03015",
        "FEBIITM1",
        "Piazza Durante 11 - 20131 Milano",
        "800.52.52.52",
    ),
    "english": Bank(
        "Nordwest Direktbank AG",
        "10011001",
        "NWDBDEB1XXX",
        "Friedrichstrasse 123, 10117 Berlin, Germany",
        "+49 30 1234 5678",
    ),
}


def _digits(seed: str, count: int) -> str:
    """Stable pseudo-random digits, so the same spec always prints the same references."""
    out = ""
    counter = 0
    while len(out) < count:
        out += str(int.from_bytes(hashlib.sha256(f"{seed}|{counter}".encode()).digest(), "big"))
        counter += 1
    return out[:count]


def payer_iban_for(payer: str, bank_key: str) -> str:
    """A valid IBAN at the layout's bank for a payer, derived from the payer's name."""
    bank = BANKS[bank_key]
    if bank_key == "english":
        return make_iban("DE", bank.abi + _digits(payer, 10))
    return italian_iban(bank.abi, _digits(payer + "cab", 5), _digits(payer, 12))


def make_trn(cro: str, abi: str = "03069") -> str:
    """30 characters: ABI (5), the CRO (11, so characters 6-16), 12 more digits, IT."""
    if len(cro) != 11 or not cro.isdigit():
        raise ValueError(f"a CRO has 11 digits, got {cro!r}")
    return f"{abi[:5]:0>5}{cro}{_digits(cro, 12)}IT"


# --- the spec -------------------------------------------------------------------------------


@dataclass
class ReceiptSpec:
    """What a receipt says. Empty strings and None mean 'what the layout's bank would print'."""

    amount: Decimal
    causale: str
    payer: str = "Mario Rossi"
    payer_iban: str = ""
    beneficiary: str = RESELLER_NAME
    beneficiary_iban: str = RESELLER_IBAN
    execution_date: date = date(2026, 11, 20)
    value_date: date = date(2026, 11, 20)
    cro: str = "12345678901"
    trn: str = ""
    bank: str = ""
    fee: Decimal | None = None
    postal_account: str = RESELLER_POSTAL_ACCOUNT
    payer_address: str = "Via Appia Nuova 112, 00183 Roma RM"
    execution_time: time = time(9, 42, 17)
    extra_lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.trn:
            abi = self.payer_iban[5:10] if self.payer_iban.startswith("IT") else "03069"
            self.trn = make_trn(self.cro, abi)

    @property
    def poste_cro(self) -> str:
        """Poste's 15-digit reference: 7601 and the 11-digit CRO."""
        return f"7601{self.cro}"


def default_spec(order_codes: list[str], amount: Decimal, **overrides: Any) -> ReceiptSpec:
    """A receipt paying the codes; the CRO follows from its content, so two receipts differ."""
    if not order_codes:
        causale = "Pagamento casella PEC Legalmail"
    elif len(order_codes) == 1:
        causale = f"Pagamento ordine {order_codes[0]}"
    else:
        causale = "Pagamento ordini " + ", ".join(order_codes)
    seed = f"{causale}|{amount}|{sorted((k, str(v)) for k, v in overrides.items())}"
    values: dict[str, Any] = {"causale": causale, "cro": _digits(seed, 11)}
    values.update(overrides)
    return ReceiptSpec(amount=amount, **values)


# --- formatting -----------------------------------------------------------------------------


def it_amount(value: Decimal) -> str:
    """1234.56 -> 1.234,56"""
    return f"{value:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".")


def en_amount(value: Decimal) -> str:
    """1234.56 -> 1,234.56"""
    return f"{value:,.2f}"


_UNITS = (
    "zero",
    "uno",
    "due",
    "tre",
    "quattro",
    "cinque",
    "sei",
    "sette",
    "otto",
    "nove",
    "dieci",
    "undici",
    "dodici",
    "tredici",
    "quattordici",
    "quindici",
    "sedici",
    "diciassette",
    "diciotto",
    "diciannove",
)
_TENS = (
    "",
    "",
    "venti",
    "trenta",
    "quaranta",
    "cinquanta",
    "sessanta",
    "settanta",
    "ottanta",
    "novanta",
)


def italian_words(number: int) -> str:
    """Euros in words as a paper bollettino wants them: 24 -> ventiquattro."""
    if number < 20:
        return _UNITS[number]
    if number < 100:
        tens, unit = divmod(number, 10)
        word = _TENS[tens]
        if unit in (1, 8):
            word = word[:-1]
        return word + ("" if unit == 0 else "tré" if unit == 3 else _UNITS[unit])
    if number < 1000:
        hundreds, rest = divmod(number, 100)
        word = "cento" if hundreds == 1 else _UNITS[hundreds] + "cento"
        if rest == 8 or 80 <= rest < 90:  # centotto, centottanta: the o is elided
            word = word[:-1]
        return word + (italian_words(rest) if rest else "")
    if number < 1_000_000:
        thousands, rest = divmod(number, 1000)
        word = "mille" if thousands == 1 else italian_words(thousands) + "mila"
        return word + (italian_words(rest) if rest else "")
    millions, rest = divmod(number, 1_000_000)
    word = "unmilione" if millions == 1 else italian_words(millions) + "milioni"
    return word + (italian_words(rest) if rest else "")


# --- drawing --------------------------------------------------------------------------------

WIDTH, HEIGHT = A4
LEFT, RIGHT = 56.0, WIDTH - 56.0


class _Page:
    """A thin wrapper: y counts down from the top edge, fonts by weight."""

    def __init__(self, pdf: canvas.Canvas) -> None:
        self.pdf = pdf

    def text(
        self,
        x: float,
        y: float,
        value: str,
        size: float = 9.5,
        bold: bool = False,
        grey: bool = False,
        white: bool = False,
    ) -> None:
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.pdf.setFillGray(1 if white else 0.35 if grey else 0)
        self.pdf.drawString(x, HEIGHT - y, value)

    def right(
        self,
        x: float,
        y: float,
        value: str,
        size: float = 9.5,
        bold: bool = False,
        white: bool = False,
    ) -> None:
        self.pdf.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        self.pdf.setFillGray(1 if white else 0)
        self.pdf.drawRightString(x, HEIGHT - y, value)

    def rule(self, y: float, x0: float = LEFT, x1: float = RIGHT, width: float = 0.5) -> None:
        self.pdf.setLineWidth(width)
        self.pdf.setStrokeGray(0.6)
        self.pdf.line(x0, HEIGHT - y, x1, HEIGHT - y)

    def band(self, y: float, height: float, rgb: tuple[float, float, float]) -> None:
        self.pdf.setFillColorRGB(*rgb)
        self.pdf.rect(
            LEFT - 8, HEIGHT - y - height + 12, RIGHT - LEFT + 16, height, stroke=0, fill=1
        )

    def box(self, x: float, y: float, w: float, h: float) -> None:
        self.pdf.setLineWidth(0.7)
        self.pdf.setStrokeGray(0.3)
        self.pdf.rect(x, HEIGHT - y - h, w, h, stroke=1, fill=0)

    def wrapped(
        self, x: float, y: float, value: str, width: int = 72, step: float = 13, **kw: Any
    ) -> float:
        """Draws a long causale on several lines (at spaces, never inside a code)."""
        for line in textwrap.wrap(value, width) or [""]:
            self.text(x, y, line, **kw)
            y += step
        return y


def _fee(spec: ReceiptSpec, usual: str) -> Decimal:
    return spec.fee if spec.fee is not None else Decimal(usual)


def _extra(page: _Page, spec: ReceiptSpec, y: float) -> float:
    for line in spec.extra_lines:
        page.text(LEFT, y, line)
        y += 14
    return y


def _footer(
    page: _Page, s: ReceiptSpec, bank: Bank, capital: str, seat: str = "Sede legale"
) -> None:
    page.rule(770)
    page.text(LEFT, 782, f"{s.bank or bank.name} - {seat} {bank.address}", size=7, grey=True)
    page.text(LEFT, 792, capital, size=7, grey=True)


# --- bank layouts ---------------------------------------------------------------------------


def _intesa(page: _Page, s: ReceiptSpec) -> None:
    """Label: value on one line; Italian `€ 24,40`; a fee, a total and the share capital."""
    bank = BANKS["intesa"]
    fee = _fee(s, "0.50")
    page.band(40, 34, (0.0, 0.33, 0.22))
    page.text(LEFT, 52, "Intesa Sanpaolo", size=15, bold=True, white=True)
    page.right(RIGHT, 52, "Internet Banking", size=9, white=True)
    page.text(LEFT, 100, "CONTABILE DI ESECUZIONE - BONIFICO SEPA", size=12, bold=True)
    page.text(
        LEFT,
        116,
        f"Data e ora operazione: {s.execution_date:%d/%m/%Y} {s.execution_time:%H:%M:%S}",
        grey=True,
    )
    rows = [
        ("Ordinante", s.payer.upper()),
        ("IBAN ordinante", group_iban(s.payer_iban or payer_iban_for(s.payer, "intesa"))),
        ("Beneficiario", s.beneficiary),
        ("IBAN beneficiario", group_iban(s.beneficiary_iban)),
        ("Banca beneficiario", "BPER Banca S.p.A. - Filiale di Roma 12"),
        ("Data esecuzione", f"{s.execution_date:%d/%m/%Y}"),
        ("Data valuta beneficiario", f"{s.value_date:%d/%m/%Y}"),
        ("Importo", f"€ {it_amount(s.amount)}"),
        ("Commissioni", f"€ {it_amount(fee)}"),
        ("Totale addebitato", f"€ {it_amount(s.amount + fee)}"),
    ]
    y = 150.0
    for label, value in rows:
        page.text(LEFT, y, f"{label}:", bold=True)
        page.text(LEFT + 150, y, value)
        y += 16
    page.text(LEFT, y, "Causale:", bold=True)
    y = page.wrapped(LEFT + 150, y, s.causale, width=60, step=14)
    y += 6
    page.text(LEFT, y, f"CRO: {s.cro}", bold=True)
    page.text(LEFT, y + 16, f"TRN: {s.trn}")
    page.text(LEFT, y + 32, "Stato: ESEGUITO")
    y = _extra(page, s, y + 56)
    page.text(
        LEFT,
        y + 10,
        "La presente contabile ha valore di quietanza solo a buon fine dell'operazione.",
        size=8,
        grey=True,
    )
    page.text(
        LEFT,
        y + 22,
        f"Servizio clienti {bank.phone} - dall'estero +39 011 80 19 200",
        size=8,
        grey=True,
    )
    _footer(
        page,
        s,
        bank,
        "Capitale Sociale Euro 10.368.870.930,08 - Codice ABI 03069.9 - "
        "Iscritta all'Albo delle Banche",
    )


def _unicredit(page: _Page, s: ReceiptSpec) -> None:
    """Column headers above values: the amount sits in a table row under `Importo`."""
    bank = BANKS["unicredit"]
    page.text(LEFT, 50, "UniCredit", size=18, bold=True)
    page.right(RIGHT, 50, f"Banca Multicanale - {bank.phone}", size=8)
    page.text(LEFT, 90, "Ricevuta bonifico SEPA", size=13, bold=True)
    page.text(
        LEFT,
        106,
        f"Operazione eseguita il {s.execution_date:%d.%m.%Y} alle {s.execution_time:%H:%M}",
        grey=True,
    )

    def table(y: float, columns: list[tuple[float, str, str]]) -> None:
        for x, header, _ in columns:
            page.text(x, y, header, size=8, bold=True, grey=True)
        page.rule(y + 5)
        for x, _, value in columns:
            page.text(x, y + 18, value)

    payer_iban = s.payer_iban or payer_iban_for(s.payer, "unicredit")
    page.text(LEFT, 140, "Dati ordinante", size=10, bold=True)
    table(158, [(LEFT, "Intestatario", s.payer), (LEFT + 220, "IBAN addebito", payer_iban)])
    page.text(LEFT, 210, "Dati beneficiario", size=10, bold=True)
    table(
        228,
        [
            (LEFT, "Nome / Ragione sociale", s.beneficiary),
            (LEFT + 220, "IBAN", s.beneficiary_iban),
            (LEFT + 400, "BIC", "BPMOIT22XXX"),
        ],
    )
    page.text(LEFT, 280, "Dettaglio operazione", size=10, bold=True)
    table(
        298,
        [
            (LEFT, "Data esecuzione", f"{s.execution_date:%d.%m.%Y}"),
            (LEFT + 110, "Data valuta", f"{s.value_date:%d.%m.%Y}"),
            (LEFT + 220, "Importo", f"{it_amount(s.amount)} EUR"),
            (LEFT + 330, "Divisa", "EUR"),
        ],
    )
    page.text(LEFT, 345, "Descrizione", size=8, bold=True, grey=True)
    y = page.wrapped(LEFT, 360, s.causale)
    fee = _fee(s, "0")
    page.text(LEFT, y + 10, f"Commissioni: {it_amount(fee)} EUR")
    page.text(LEFT, y + 26, f"Riferimento operazione (TRN): {s.trn}")
    page.text(LEFT, y + 42, "Identificativo end-to-end: NOTPROVIDED")
    _extra(page, s, y + 66)
    _footer(
        page,
        s,
        bank,
        "Iscritta all'Albo delle Banche - Codice ABI 02008.1 - Banca aderente "
        "al Fondo Interbancario di Tutela dei Depositi",
    )


def _poste_bonifico(page: _Page, s: ReceiptSpec) -> None:
    """Each label alone above its value; money right-aligned on the label's line."""
    bank = BANKS["poste"]
    page.band(40, 30, (1.0, 0.85, 0.0))
    page.text(LEFT, 50, "Poste Italiane", size=14, bold=True)
    page.right(RIGHT, 50, "BancoPosta", size=11, bold=True)
    page.text(LEFT, 92, "Ricevuta bonifico SEPA", size=13, bold=True)
    page.text(LEFT, 108, "Esito: operazione eseguita correttamente")
    payer_iban = s.payer_iban or payer_iban_for(s.payer, "poste")
    y = 140.0
    for label, value in [
        ("Eseguito da", s.payer.upper()),
        ("Conto di addebito", payer_iban),
        ("Beneficiario", s.beneficiary),
        ("IBAN beneficiario", s.beneficiary_iban),
        ("Causale", s.causale),
        ("Data operazione", f"{s.execution_date:%d/%m/%Y} ore {s.execution_time:%H:%M}"),
        ("Data di accredito prevista", f"{s.value_date:%d/%m/%Y}"),
    ]:
        page.text(LEFT, y, label, size=8, grey=True)
        y = page.wrapped(LEFT, y + 13, value) + 8
    page.rule(y)
    fee = _fee(s, "1.00")
    for label, money, bold in [
        ("Importo", s.amount, False),
        ("Commissione", fee, False),
        ("Totale addebitato", s.amount + fee, True),
    ]:
        y += 18
        page.text(LEFT, y, label, bold=bold)
        page.right(RIGHT, y, f"€ {it_amount(money)}", bold=bold)
    y += 30
    page.text(LEFT, y, f"Numero operazione (CRO): {s.poste_cro}")
    page.text(LEFT, y + 15, f"TRN: {s.trn}")
    y = _extra(page, s, y + 38)
    page.text(LEFT, y + 10, f"Assistenza: {bank.phone} (numero verde gratuito)", size=8, grey=True)
    _footer(page, s, bank, "Capitale sociale Euro 1.306.110.000,00 i.v. - P.IVA 01114601006")


def _bpm(page: _Page, s: ReceiptSpec, bic_inline: bool = False) -> None:
    """A key/value grid, two pairs per row; `Importo 1.234,56` with the currency apart.

    With `bic_inline` the BIC follows the IBAN on its line, as many grids print it.
    """
    bank = BANKS["bpm"]
    page.text(LEFT, 50, "BANCO BPM", size=16, bold=True)
    page.right(RIGHT, 50, "YouWeb", size=10)
    page.text(LEFT, 66, bank.address, size=7, grey=True)
    page.text(LEFT, 100, "DISPOSIZIONE DI BONIFICO - CONTABILE", size=12, bold=True)
    page.text(
        LEFT,
        116,
        f"Numero disposizione 0000{_digits(s.cro + 'disp', 9)}  del {s.execution_date:%d/%m/%Y}",
        grey=True,
    )
    payer_iban = s.payer_iban or payer_iban_for(s.payer, "bpm")
    half = LEFT + 250
    bic = ("BIC", "BPMOIT22XXX")
    grid: list[tuple[tuple[str, str], tuple[str, str] | None]] = [
        (("Ordinante", s.payer), ("Rapporto", payer_iban[-12:])),
        (("IBAN ordinante", payer_iban), None),
        (("Beneficiario", s.beneficiary), ("Filiale", "01234 - ROMA AG. 5")),
        (("IBAN", s.beneficiary_iban), bic if bic_inline else None),
        (("Paese", "ITALIA"), None if bic_inline else bic),
        (
            ("Data esecuzione", f"{s.execution_date:%d/%m/%Y}"),
            ("Data valuta", f"{s.value_date:%d/%m/%Y}"),
        ),
        (("Importo", it_amount(s.amount)), ("Divisa", "EUR")),
        (("Commissioni", it_amount(_fee(s, "0.60"))), ("Spese reclamate", "0,00")),
    ]
    y = 150.0
    for (l1, v1), second in grid:
        page.text(LEFT, y, l1, bold=True)
        page.text(LEFT + 95, y, v1)
        if second is not None:
            page.text(half + 30, y, second[0], bold=True)
            page.text(half + 120, y, second[1])
        y += 17
    page.text(LEFT, y + 4, "Causale", bold=True)
    y = page.wrapped(LEFT + 95, y + 4, s.causale, width=68)
    page.text(LEFT, y + 8, f"CRO {s.cro}", bold=True)
    page.text(LEFT + 140, y + 8, f"TRN {s.trn}")
    y = _extra(page, s, y + 32)
    page.text(
        LEFT,
        y + 8,
        "Disposizione inoltrata alla banca del beneficiario. Per reclami: "
        "Ufficio Reclami, Piazza Meda 4, 20121 Milano",
        size=7.5,
        grey=True,
    )
    _footer(page, s, bank, "Capitale sociale Euro 7.100.000.000,00 - Gruppo Bancario Banco BPM")


def _fineco(page: _Page, s: ReceiptSpec, capital: bool = False) -> None:
    """An app-style card: every label alone, its value on the next line, `24,40 €`.

    With `capital` the footer states the share capital in euros, so the only other amount
    written with a currency is not labelled on its own line either.
    """
    bank = BANKS["fineco"]
    page.text(LEFT, 50, "FinecoBank", size=16, bold=True)
    page.right(RIGHT, 50, "Dettaglio operazione", size=9)
    page.text(LEFT, 88, "Bonifico SEPA Italia", size=13, bold=True)
    payer_iban = s.payer_iban or payer_iban_for(s.payer, "fineco")
    rows = [
        ("Stato", "Eseguito"),
        ("Beneficiario", s.beneficiary),
        ("IBAN beneficiario", s.beneficiary_iban),
        ("Importo", f"{it_amount(s.amount)} €"),
        ("Causale", s.causale),
        ("Data addebito", f"{s.execution_date:%d/%m/%Y}"),
        ("Data valuta", f"{s.value_date:%d/%m/%Y}"),
        ("Ordinante", f"{s.payer}"),
        ("Conto", payer_iban),
    ]
    y = 120.0
    for label, value in rows:
        page.text(LEFT, y, label, size=8, grey=True)
        y = page.wrapped(LEFT, y + 13, value, size=10.5) + 9
    if s.fee is not None:
        page.text(LEFT, y + 4, f"Commissioni: {it_amount(s.fee)} €")
        y += 18
    page.rule(y + 2)
    page.text(LEFT, y + 18, f"CRO {s.cro}  -  Codice identificativo (TRN) {s.trn}", size=8.5)
    y = _extra(page, s, y + 40)
    page.text(
        LEFT,
        y + 8,
        f"Hai bisogno di aiuto? Chiama il {bank.phone} o +39 02 2899 2899",
        size=8,
        grey=True,
    )
    capital_line = (
        "Capitale Sociale Euro 201.508.496,11 - Codice ABI 03015"
        if capital
        else "Iscritta all'Albo delle Banche - Codice ABI 03015 - Gruppo FinecoBank"
    )
    _footer(page, s, bank, capital_line)


def _english(page: _Page, s: ReceiptSpec) -> None:
    """A foreign bank's SEPA confirmation: English labels, `EUR 1,234.56`, ISO dates."""
    bank = BANKS["english"]
    payer_iban = s.payer_iban or payer_iban_for(s.payer, "english")
    page.text(LEFT, 50, bank.name, size=14, bold=True)
    page.right(RIGHT, 50, f"BIC {bank.bic}", size=8)
    page.text(LEFT, 90, "SEPA Credit Transfer - Payment confirmation", size=12, bold=True)
    page.text(
        LEFT, 106, f"Created {s.execution_date:%d %b %Y}, {s.execution_time:%H:%M} CET", grey=True
    )
    rows = [
        ("Payer", s.payer),
        ("Payer account (IBAN)", payer_iban),
        ("Beneficiary", s.beneficiary),
        ("Beneficiary IBAN", s.beneficiary_iban),
        ("Beneficiary bank", "BPER Banca S.p.A., Modena, Italy"),
        ("Amount", f"EUR {en_amount(s.amount)}"),
        ("Charges", f"EUR {en_amount(_fee(s, '0'))}"),
        ("Total debited", f"EUR {en_amount(s.amount + _fee(s, '0'))}"),
        ("Execution date", f"{s.execution_date:%Y-%m-%d}"),
        ("Value date", f"{s.value_date:%Y-%m-%d}"),
        ("End-to-end ID", "NOTPROVIDED"),
        ("Transaction reference (TRN)", s.trn),
    ]
    y = 140.0
    for label, value in rows:
        page.text(LEFT, y, f"{label}:", bold=True)
        page.text(LEFT + 165, y, value)
        y += 16
    page.text(LEFT, y, "Remittance information:", bold=True)
    y = page.wrapped(LEFT + 165, y, s.causale, width=60)
    y = _extra(page, s, y + 14)
    page.text(
        LEFT, y + 8, f"Questions? Call us on {bank.phone} (Mon-Fri 8:00-20:00).", size=8, grey=True
    )
    _footer(
        page,
        s,
        bank,
        "Share capital EUR 50,000,000.00 - Amtsgericht Charlottenburg HRB 123456 B",
        seat="Registered office:",
    )


def _bollettino(page: _Page, s: ReceiptSpec) -> None:
    """Poste's online bollettino receipt: c/c of 12 digits, `Eseguito da`, VCY 7601...."""
    bank = BANKS["poste"]
    page.band(40, 30, (1.0, 0.85, 0.0))
    page.text(LEFT, 50, "Poste Italiane", size=14, bold=True)
    page.right(RIGHT, 50, "Ricevuta di pagamento", size=10)
    page.text(LEFT, 92, "BOLLETTINO DI CONTO CORRENTE POSTALE", size=12, bold=True)
    page.text(LEFT, 108, "Tipo documento TD 123 - bollettino bianco")
    page.box(LEFT - 6, 122, RIGHT - LEFT + 12, 86)
    page.text(LEFT, 138, f"Sul C/C n. {s.postal_account}", bold=True)
    page.right(RIGHT - 6, 138, f"Importo € {it_amount(s.amount)}", bold=True)
    page.text(LEFT, 156, f"Intestato a: {s.beneficiary.upper()}")
    page.text(LEFT, 174, f"Causale: {s.causale}")
    page.text(
        LEFT, 192, f"Data pagamento: {s.execution_date:%d/%m/%Y} ore {s.execution_time:%H:%M}"
    )
    y = 236.0
    page.text(LEFT, y, f"Eseguito da: {s.payer.upper()}")
    page.text(LEFT, y + 16, f"Indirizzo: {s.payer_address}")
    page.text(LEFT, y + 32, "Canale: Poste Italiane online - carta Postepay")
    fee = _fee(s, "2.00")
    page.text(LEFT, y + 56, f"Commissione € {it_amount(fee)}")
    page.text(LEFT, y + 72, f"Totale pagato € {it_amount(s.amount + fee)}", bold=True)
    page.text(LEFT, y + 96, f"VCY/CRO: {s.poste_cro}", bold=True)
    page.text(
        LEFT,
        y + 112,
        f"Identificativo operazione: {_digits(s.cro + 'op', 8)}/{s.execution_date:%Y%m%d}",
    )
    y = _extra(page, s, y + 136)
    page.text(
        LEFT,
        y + 8,
        f"Conservare la ricevuta per eventuali contestazioni. Informazioni: {bank.phone}",
        size=8,
        grey=True,
    )
    _footer(
        page,
        s,
        bank,
        "Capitale sociale Euro 1.306.110.000,00 i.v. - Codice fiscale "
        "97103880585 - P.IVA 01114601006",
    )


# --- tricky layouts (kept out of LAYOUTS) ---------------------------------------------------


def _table_fees(page: _Page, s: ReceiptSpec) -> None:
    """A statement-style row: `24,40 EUR` and the fee `0,50 EUR` side by side, headers above."""
    bank = BANKS["unicredit"]
    page.text(LEFT, 50, "UniCredit", size=18, bold=True)
    page.text(LEFT, 90, "Esito disposizione di bonifico", size=13, bold=True)
    headers = ["Data esecuzione", "Data valuta", "Importo", "Commissioni", "Totale"]
    fee = _fee(s, "0.50")
    values = [
        f"{s.execution_date:%d/%m/%Y}",
        f"{s.value_date:%d/%m/%Y}",
        f"{it_amount(s.amount)} EUR",
        f"{it_amount(fee)} EUR",
        f"{it_amount(s.amount + fee)} EUR",
    ]
    for n, (header, value) in enumerate(zip(headers, values, strict=True)):
        page.text(LEFT + n * 96, 130, header, size=8, bold=True, grey=True)
        page.text(LEFT + n * 96, 148, value)
    page.rule(135)
    page.text(LEFT, 180, "Beneficiario", size=8, bold=True, grey=True)
    page.text(LEFT, 194, f"{s.beneficiary} - {s.beneficiary_iban}")
    page.text(LEFT, 216, "Ordinante", size=8, bold=True, grey=True)
    page.text(LEFT, 230, s.payer)
    page.text(LEFT, 252, "Descrizione", size=8, bold=True, grey=True)
    y = page.wrapped(LEFT, 266, s.causale)
    page.text(LEFT, y + 10, f"TRN {s.trn}")
    _extra(page, s, y + 34)
    _footer(page, s, bank, "Capitale Sociale Euro 21.453.835.025,48")


def _bollettino_td123(page: _Page, s: ReceiptSpec) -> None:
    """The paper counter receipt: the amount in figures and in words (`ventiquattro/40`)."""
    bank = BANKS["poste"]
    page.text(LEFT, 50, "BancoPosta", size=14, bold=True)
    page.text(LEFT, 70, "CONTI CORRENTI POSTALI - Ricevuta di Versamento", size=11, bold=True)
    page.right(RIGHT, 70, "TD 123")
    euros, cents = divmod(int(s.amount * 100), 100)
    page.text(LEFT, 110, f"sul C/C n. {s.postal_account}")
    page.right(RIGHT, 110, f"di Euro {it_amount(s.amount)}")
    page.text(LEFT, 130, f"IMPORTO IN LETTERE {italian_words(euros).upper()}/{cents:02d}")
    page.text(LEFT, 150, f"INTESTATO A {s.beneficiary.upper()}")
    page.text(LEFT, 170, f"CAUSALE {s.causale}")
    page.text(LEFT, 190, f"ESEGUITO DA {s.payer.upper()}")
    page.text(LEFT, 206, f"VIA - PIAZZA {s.payer_address}")
    page.text(LEFT, 240, "BOLLO DELL'UFFICIO POSTALE", bold=True)
    page.text(LEFT, 256, f"{s.execution_date:%d.%m.%y} UP ROMA 58 - 55/123 VCY {s.poste_cro}")
    page.text(LEFT, 272, f"IMP. {it_amount(s.amount)}  TASSA {it_amount(_fee(s, '2.20'))}")
    _extra(page, s, 300)
    _footer(page, s, bank, "Capitale sociale Euro 1.306.110.000,00 i.v.")


# --- online banks' app receipts, in English (ONLINE_LAYOUTS) --------------------------------

_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")  # fmt: skip


def en_date(day: date, *, long: bool = False) -> str:
    """`12 Mar 2027` or `12 March 2027`, whatever the process locale says."""
    month = _EN_MONTHS[day.month - 1]
    return f"{day.day} {month if long else month[:3]} {day.year}"


def _transaction_id(s: ReceiptSpec) -> str:
    """A UUID-shaped id, as app banks print instead of a CRO; stable for the spec."""
    raw = hashlib.sha256(f"{s.cro}|{s.causale}|{s.amount}".encode()).hexdigest()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"


def _online_payer_iban(s: ReceiptSpec, country: str) -> str:
    """The payer's account at an online bank abroad: LT, BE (national check) or DE."""
    if s.payer_iban:
        return s.payer_iban
    if country == "LT":
        return make_iban("LT", "32500" + _digits(s.payer, 11))
    if country == "BE":
        account = _digits(s.payer + "be", 10)
        return make_iban("BE", f"{account}{int(account) % 97 or 97:02d}")
    return make_iban("DE", "10010010" + _digits(s.payer, 10))


def _app_rows(page: _Page, y: float, rows: list[tuple[str, str]], x_value: float) -> float:
    """Label left in grey, value right-aligned at `x_value`, long values wrapped to the left."""
    for label, value in rows:
        page.text(LEFT, y, label, size=9.5, grey=True)
        lines = textwrap.wrap(value, 46) or [""]
        for line in lines:
            page.right(x_value, y, line, size=10)
            y += 14
        y += 8
    return y


def _online_app(page: _Page, s: ReceiptSpec) -> None:
    """A neobank's app receipt: `-€24.40` big, `You sent €24.40 to ...`, `12 March 2027, 09:41`.

    The footer names the deposit guarantee in euros (`€100,000`), as such receipts do.
    """
    name = s.bank or "Lumo Bank UAB"
    fee = _fee(s, "0")
    page.text(LEFT, 56, "lumo", size=22, bold=True)
    page.right(RIGHT, 50, "Transaction receipt", size=10, bold=True)
    page.right(RIGHT, 64, f"Generated on {en_date(s.execution_date)}", size=8)
    page.text(LEFT, 120, f"-€{en_amount(s.amount)}", size=26, bold=True)
    page.text(LEFT, 144, f"You sent €{en_amount(s.amount)} to {s.beneficiary}", size=11)
    page.text(LEFT, 162, "Payment sent", size=9, grey=True)
    page.rule(176)
    y = _app_rows(
        page,
        200,
        [
            ("Status", "Completed"),
            ("Date", f"{en_date(s.execution_date, long=True)}, {s.execution_time:%H:%M}"),
            ("Recipient", s.beneficiary),
            ("IBAN", group_iban(s.beneficiary_iban)),
            ("Reference", s.causale),
            ("From", f"{s.payer} · EUR Main"),
            ("Account", group_iban(_online_payer_iban(s, "LT"))),
        ],
        RIGHT,
    )
    page.rule(y)
    y = _app_rows(
        page,
        y + 22,
        [
            ("Amount", f"€{en_amount(s.amount)}"),
            ("Fee", f"€{en_amount(fee)}"),
            ("Total", f"€{en_amount(s.amount + fee)}"),
        ],
        RIGHT,
    )
    page.rule(y)
    y = _app_rows(page, y + 22, [("Transaction ID", _transaction_id(s))], RIGHT)
    y = _extra(page, s, y + 10)
    page.text(LEFT, y + 16, "Questions? Chat with us in the app, 24/7.", size=8, grey=True)
    page.rule(760)
    page.text(
        LEFT,
        774,
        f"{name}, Konstitucijos pr. 21B, 08130 Vilnius, Lithuania. Licensed and supervised "
        "by the Bank of Lithuania.",
        size=7,
        grey=True,
    )
    page.text(
        LEFT,
        784,
        "Eligible deposits are protected up to €100,000 by the Lithuanian deposit insurance "
        "scheme.",
        size=7,
        grey=True,
    )


def _online_transfer(page: _Page, s: ReceiptSpec) -> None:
    """A money-transfer service's receipt: `24.40 EUR`, a fee on top and the total you paid.

    Only `Amount` (what the recipient gets) pays the order; `Total` includes the service's fee.
    """
    name = s.bank or "Tallis Payments SA/NV"
    fee = _fee(s, "0.62")
    number = _digits(s.cro + "transfer", 9)
    page.text(LEFT, 54, "tallis", size=20, bold=True)
    page.right(RIGHT, 50, "Transfer receipt", size=11, bold=True)
    page.right(RIGHT, 64, f"Transfer #{number}", size=8)
    page.text(LEFT, 108, "Transfer complete", size=16, bold=True)
    page.text(
        LEFT,
        126,
        f"You sent {en_amount(s.amount)} EUR to {s.beneficiary} on {en_date(s.execution_date)}",
    )
    page.band(150, 22, (0.92, 0.96, 0.9))
    page.text(LEFT, 154, "Transfer overview", size=10, bold=True)
    y = 182.0
    for label, value, bold in [
        ("Amount", f"{en_amount(s.amount)} EUR", False),
        ("Fee", f"{en_amount(fee)} EUR", False),
        ("Total", f"{en_amount(s.amount + fee)} EUR", True),
        ("Exchange rate", "1 EUR = 1 EUR", False),
    ]:
        page.text(LEFT, y, label, bold=bold)
        page.right(RIGHT, y, value, bold=bold)
        y += 16
    page.band(y + 14, 22, (0.92, 0.96, 0.9))
    page.text(LEFT, y + 18, "Recipient details", size=10, bold=True)
    y += 46
    for label, value in [
        ("Account holder", s.beneficiary),
        ("IBAN", s.beneficiary_iban),
        ("Reference", s.causale),
    ]:
        page.text(LEFT, y, label, size=8, grey=True)
        y = page.wrapped(LEFT, y + 12, value, width=80) + 6
    page.band(y + 14, 22, (0.92, 0.96, 0.9))
    page.text(LEFT, y + 18, "Sender", size=10, bold=True)
    y += 46
    for label, value in [
        ("Name", s.payer),
        ("Paid from", f"EUR balance - {group_iban(_online_payer_iban(s, 'BE'))}"),
        ("Date", f"{en_date(s.execution_date)}, {s.execution_time:%H:%M} CET"),
        ("Transaction ID", f"#{number}"),
    ]:
        page.text(LEFT, y, label, size=8, grey=True)
        page.text(LEFT, y + 12, value)
        y += 30
    y = _extra(page, s, y + 6)
    page.text(LEFT, 770, f"{name}, Avenue Louise 54, 1050 Brussels, Belgium.", size=7, grey=True)
    page.text(
        LEFT,
        780,
        "Authorised by the National Bank of Belgium as a payment institution. "
        "This receipt is not a tax invoice.",
        size=7,
        grey=True,
    )


def _online_neo(page: _Page, s: ReceiptSpec) -> None:
    """A mobile bank's booking detail: `-EUR 24.40` in the header, `EUR 1,234.56` in the rows."""
    name = s.bank or "Kestrel Bank AG"
    fee = _fee(s, "0")
    page.band(40, 40, (0.13, 0.16, 0.2))
    page.text(LEFT, 56, "KESTREL", size=16, bold=True, white=True)
    page.right(RIGHT, 56, "Transaction details", size=9, white=True)
    page.text(LEFT, 110, "Outgoing transfer", size=14, bold=True)
    page.right(RIGHT, 110, f"-EUR {en_amount(s.amount)}", size=14, bold=True)
    page.text(LEFT, 126, s.beneficiary, grey=True)
    rows = [
        ("Status", "Booked"),
        ("Recipient", s.beneficiary),
        ("IBAN", group_iban(s.beneficiary_iban)),
        ("Reference", s.causale),
        ("Amount", f"EUR {en_amount(s.amount)}"),
        ("Fee", f"EUR {en_amount(fee)}"),
        ("Total", f"EUR {en_amount(s.amount + fee)}"),
        ("Booking date", en_date(s.execution_date)),
        ("Value date", en_date(s.value_date)),
        ("Account holder", s.payer),
        ("Account", group_iban(_online_payer_iban(s, "DE"))),
        ("Transaction ID", _transaction_id(s)),
    ]
    y = 160.0
    for label, value in rows:
        page.text(LEFT, y, label, size=9, grey=True)
        y = page.wrapped(LEFT + 130, y, value, width=62, step=13) + 7
    y = _extra(page, s, y + 8)
    page.text(LEFT, y + 12, "Spending category: Services", size=8, grey=True)
    page.rule(766)
    page.text(
        LEFT,
        778,
        f"{name}, Klosterstrasse 62, 10179 Berlin - Amtsgericht Charlottenburg HRB 214871 B",
        size=7,
        grey=True,
    )
    page.text(LEFT, 788, "Supervised by BaFin and the European Central Bank.", size=7, grey=True)


_Drawer = Callable[[_Page, ReceiptSpec], None]
LAYOUT_DRAWERS: dict[str, _Drawer] = {
    "intesa": _intesa,
    "unicredit": _unicredit,
    "poste_bonifico": _poste_bonifico,
    "bpm": _bpm,
    "fineco": _fineco,
    "english": _english,
    "bollettino": _bollettino,
}
TRICKY_DRAWERS: dict[str, _Drawer] = {
    "table_fees": _table_fees,
    "bollettino_td123": _bollettino_td123,
    "bpm_bic_inline": partial(_bpm, bic_inline=True),
    "fineco_capital": partial(_fineco, capital=True),
}
ONLINE_DRAWERS: dict[str, _Drawer] = {
    "online_app": _online_app,
    "online_transfer": _online_transfer,
    "online_neo": _online_neo,
}
LAYOUTS: tuple[str, ...] = tuple(LAYOUT_DRAWERS)
TRICKY_LAYOUTS: tuple[str, ...] = tuple(TRICKY_DRAWERS)
ONLINE_LAYOUTS: tuple[str, ...] = tuple(ONLINE_DRAWERS)
BANK_LAYOUTS: tuple[str, ...] = tuple(name for name in LAYOUTS if name != "bollettino")


def make_receipt_pdf(spec: ReceiptSpec, layout: str) -> bytes:
    """One A4 page drawn as text (not an image), so pdfplumber reads it; bytes are stable."""
    drawer = LAYOUT_DRAWERS.get(layout) or TRICKY_DRAWERS.get(layout) or ONLINE_DRAWERS.get(layout)
    if drawer is None:
        known = ", ".join(LAYOUTS + TRICKY_LAYOUTS + ONLINE_LAYOUTS)
        raise ValueError(f"unknown layout {layout!r} (known: {known})")
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    english = layout == "english" or layout in ONLINE_DRAWERS
    pdf.setTitle("Payment confirmation" if english else "Contabile")
    pdf.setAuthor(spec.bank or layout)
    pdf.setCreator("docgen")
    drawer(_Page(pdf), spec)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
