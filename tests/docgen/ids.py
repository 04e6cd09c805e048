"""Identity documents as customers send them: carta d'identità elettronica (CIE 3.0), passport
data page, EU driving licence; as PDFs at real size, as flatbed scans, as phone photos.

Cards are 85.6 x 54 mm, the passport data page 125 x 88 mm. Every label is the bilingual one
the Ministry prints; the machine readable zone (TD1 on the CIE back, TD3 on the passport) comes
from the `mrz` package, so its check digits are right, in Courier (no OCR-B font is installed).
What a careful reader meets: the card number, the 6-digit CAN, the codice fiscale under its
barcode, three dates (birth, issue, expiry) in the CIE's `dd.mm.yyyy`, the passport's
`14 MAG/MAY 2031`, the licence's `dd/mm/yyyy` and its category table full of dates on the back.
The CIE and the licence expire on the holder's birthday, as the rules say.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from mrz.base.errors import LengthError
from mrz.generator.td1 import TD1CodeGenerator
from mrz.generator.td3 import TD3CodeGenerator
from PIL import Image, ImageFilter
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from tests.docgen import scans
from tests.docgen.orders import MUNICIPALITIES, OrderSpec, make_tax_code
from tests.docgen.paperwork import _worded
from tests.docgen.receipts import _digits

KINDS: tuple[str, ...] = ("cie", "passaporto", "patente")
SIDES: tuple[str, ...] = ("both", "front", "back")
CARD = (85.6, 54.0)  # mm, ID-1
PASSPORT_PAGE = (125.0, 88.0)  # mm, ID-3
_RED = (0.75, 0.1, 0.12)
_LABEL = (0.25, 0.3, 0.4)


@dataclass(frozen=True)
class IdentitySpec:
    """The holder and the document; names as the customer writes them (printed in capitals)."""

    kind: str
    last_name: str
    first_name: str
    sex: str
    birth_date: date
    birth_place: str
    birth_province: str
    tax_code: str
    address: str
    number: str
    issued: date
    expires: date
    municipality: str  # the comune that issued the CIE: where the holder lives
    height_cm: int = 175


@dataclass(frozen=True)
class IdentityFacts:
    """What a correct reader concludes from the document."""

    kind: str  # cie, passaporto, patente
    last_name: str  # as printed: upper case
    first_name: str
    expires: date
    number: str
    tax_code: str  # printed on the CIE back only; given for the others too
    mrz: tuple[str, ...]  # 3 lines (CIE), 2 (passport), none (licence)


# --- the spec -------------------------------------------------------------------------------


def _birthday(year: int, born: date) -> date:
    """The holder's birthday in `year` (28 February for those born on the 29th)."""
    try:
        return born.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def _number(kind: str, seed: str) -> str:
    digits = _digits(seed + kind, 12)
    letters = "".join(chr(ord("A") + int(d) * 2 + 1) for d in digits[7:11])
    if kind == "cie":
        return f"CA{digits[:5]}{letters[:2]}"
    if kind == "passaporto":
        return f"Y{letters[0]}{digits[:7]}"
    return f"U1{letters[0]}{digits[:6]}{letters[1]}"


def identity_spec(
    kind: str,
    last_name: str,
    first_name: str,
    *,
    expires: date | None = None,
    birth_date: date = date(1980, 1, 1),
    sex: str = "M",
    birth_place: str = "Roma",
    address: str = "Via Appia Nuova 112",
    issued_before: date = date(2026, 11, 20),
) -> IdentitySpec:
    """A document for the holder; without `expires`, issued a few years before
    `issued_before` and valid as the rules say (CIE and licence: to the birthday after ten
    years; passport: ten years less a day). Pass a past `expires` for an expired document."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    seed = f"{kind}|{last_name}|{first_name}|{birth_date}"
    code, province, _ = MUNICIPALITIES.get(birth_place, ("H501", "RM", "06"))
    if expires is None:
        issued = issued_before - timedelta(days=200 + int(_digits(seed, 4)) % 2000)
        if kind == "passaporto":
            expires = _birthday(issued.year + 10, issued) - timedelta(days=1)
        else:
            expires = _birthday(issued.year + 10, birth_date)
            if expires < _birthday(issued.year + 10, issued):
                expires = _birthday(issued.year + 11, birth_date)
    elif kind == "passaporto":
        issued = _birthday(expires.year - 10, expires + timedelta(days=1))
    else:
        issued = _birthday(expires.year - 10, expires) - timedelta(days=int(_digits(seed, 3)) % 300)
    municipality = birth_place.upper()
    return IdentitySpec(
        kind=kind,
        last_name=last_name,
        first_name=first_name,
        sex=sex,
        birth_date=birth_date,
        birth_place=municipality,
        birth_province=province,
        tax_code=make_tax_code(last_name, first_name, birth_date, sex, code),
        address=f"{address.upper()} {municipality} ({province})",
        number=_number(kind, seed),
        issued=issued,
        expires=expires,
        municipality=municipality,
        height_cm=160 + int(_digits(seed + "h", 2)) % 30,
    )


def identity_spec_for(order: OrderSpec, kind: str, expires: date | None = None) -> IdentitySpec:
    """The order applicant's document (a renewal has no applicant: Mario Rossi stands in)."""
    ordered = datetime.fromisoformat(order.created_at).date()
    return identity_spec(
        kind,
        order.last_name or "Rossi",
        order.first_name or "Mario",
        expires=expires,
        birth_date=date.fromisoformat(order.birth_date) if order.birth_date else date(1980, 1, 1),
        sex=order.sex or "M",
        birth_place=order.birth_municipality or "Roma",
        issued_before=ordered,
    )


def _yymmdd(day: date) -> str:
    return f"{day:%y%m%d}"


def _mrz_code(spec: IdentitySpec, last: str, first: str) -> str:
    if spec.kind == "cie":
        birth, expiry = _yymmdd(spec.birth_date), _yymmdd(spec.expires)
        return str(
            TD1CodeGenerator("C", "ITA", spec.number, birth, spec.sex, expiry, "ITA", last, first)
        )
    return str(
        TD3CodeGenerator(
            "P",
            "ITA",
            last,
            first,
            spec.number,
            "ITA",
            _yymmdd(spec.birth_date),
            spec.sex,
            _yymmdd(spec.expires),
        )
    )


def mrz_lines(spec: IdentitySpec) -> tuple[str, ...]:
    """The machine readable zone: TD1 (3 x 30) for the CIE, TD3 (2 x 44) for the passport, none
    for the licence. Names too long for the zone are cut as ICAO 9303 says: the given names
    first, then the surname."""
    if spec.kind not in ("cie", "passaporto"):
        return ()
    last, first = spec.last_name, spec.first_name
    while True:
        try:
            return tuple(_mrz_code(spec, last, first).split("\n"))
        except LengthError:
            if len(first) > 1:
                first = first[:-1].rstrip()
            else:
                last = last[:-1].rstrip()


def facts(spec: IdentitySpec) -> IdentityFacts:
    """What the document says, for judging a reader: kind, names as printed, expiry, MRZ."""
    return IdentityFacts(
        kind=spec.kind,
        last_name=spec.last_name.upper(),
        first_name=spec.first_name.upper(),
        expires=spec.expires,
        number=spec.number,
        tax_code=spec.tax_code,
        mrz=mrz_lines(spec),
    )


# --- drawing --------------------------------------------------------------------------------


class _Card:
    """Drawing in millimetres from a document's top-left corner, at `scale` times real size."""

    def __init__(
        self, pdf: canvas.Canvas, left: float, top: float, scale: float, seed: str
    ) -> None:
        self.pdf, self.left, self.top, self.k = pdf, left, top, scale
        self.chance = random.Random(int(_digits(seed, 12)))

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * mm * self.k, self.top - y * mm * self.k

    def text(
        self,
        x: float,
        y: float,
        value: str,
        size: float = 6.0,
        font: str = "Helvetica-Bold",
        rgb: tuple[float, float, float] = (0.05, 0.05, 0.08),
        align: str = "left",
    ) -> None:
        self.pdf.setFont(font, size * self.k)
        self.pdf.setFillColorRGB(*rgb)
        draw = {
            "left": self.pdf.drawString,
            "right": self.pdf.drawRightString,
            "center": self.pdf.drawCentredString,
        }[align]
        draw(*self.xy(x, y), value)

    def label(self, x: float, y: float, value: str, size: float = 3.4) -> None:
        self.text(x, y, value, size=size, font="Helvetica", rgb=_LABEL)

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: tuple[float, float, float] | None = None,
        stroke: tuple[float, float, float] | None = None,
        radius: float = 0.0,
    ) -> None:
        left, top = self.xy(x, y)
        if fill:
            self.pdf.setFillColorRGB(*fill)
        if stroke:
            self.pdf.setStrokeColorRGB(*stroke)
            self.pdf.setLineWidth(0.3 * self.k)
        self.pdf.roundRect(
            left,
            top - h * mm * self.k,
            w * mm * self.k,
            h * mm * self.k,
            radius * mm * self.k,
            stroke=int(bool(stroke)),
            fill=int(bool(fill)),
        )

    def guilloche(self, w: float, h: float, rgb: tuple[float, float, float]) -> None:
        """The fine wavy security print under the data."""
        self.pdf.setStrokeColorRGB(*rgb)
        self.pdf.setLineWidth(0.15 * self.k)
        phase = self.chance.uniform(0, math.pi)
        for n in range(0, int(h), 3):
            path = self.pdf.beginPath()
            for step in range(0, int(w * 2) + 1):
                x = step / 2
                y = n + 1.2 * math.sin(x / 4 + phase + n / 5)
                point = self.xy(x, min(max(y, 0.5), h - 0.5))
                path.moveTo(*point) if step == 0 else path.lineTo(*point)
            self.pdf.drawPath(path, stroke=1, fill=0)

    def ellipse(self, cx: float, cy: float, rx: float, ry: float) -> None:
        x0, y0 = self.xy(cx - rx, cy + ry)
        x1, y1 = self.xy(cx + rx, cy - ry)
        self.pdf.ellipse(x0, y0, x1, y1, stroke=0, fill=1)

    def photo(self, x: float, y: float, w: float, h: float, light: float = 0.72) -> None:
        """A grey portrait: background, head and shoulders, clipped to the frame."""
        self.rect(x, y, w, h, fill=(light, light, light + 0.02))
        self.pdf.saveState()
        left, top = self.xy(x, y)
        frame = self.pdf.beginPath()
        frame.rect(left, top - h * mm * self.k, w * mm * self.k, h * mm * self.k)
        self.pdf.clipPath(frame, stroke=0, fill=0)
        self.pdf.setFillGray(light - 0.4)
        self.ellipse(x + w / 2, y + h * 0.4, w * 0.21, h * 0.2)
        self.ellipse(x + w / 2, y + h * 1.06, w * 0.48, h * 0.36)
        self.pdf.restoreState()

    def signature(self, x: float, y: float, w: float, h: float, name: str) -> None:
        """A handwritten scribble from the name: loops and a trailing stroke, in blue ink."""
        chance = random.Random(name)
        self.pdf.setStrokeColorRGB(0.1, 0.15, 0.45)
        self.pdf.setLineWidth(0.35 * self.k)
        path = self.pdf.beginPath()
        path.moveTo(*self.xy(x, y + h * 0.7))
        steps = 6
        for n in range(steps):
            x0 = x + w * (n + 0.3) / steps
            x1 = x + w * (n + 0.7) / steps
            x2 = x + w * (n + 1) / steps
            path.curveTo(
                *self.xy(x0, y + chance.uniform(0, h * 0.3)),
                *self.xy(x1, y + chance.uniform(h * 0.6, h)),
                *self.xy(x2, y + chance.uniform(h * 0.3, h * 0.8)),
            )
        self.pdf.drawPath(path, stroke=1, fill=0)

    def star(self, cx: float, cy: float, r: float, rgb: tuple[float, float, float]) -> None:
        self.pdf.setFillColorRGB(*rgb)
        path = self.pdf.beginPath()
        for n in range(10):
            radius = r if n % 2 == 0 else r * 0.4
            angle = math.pi / 2 + n * math.pi / 5
            point = self.xy(cx + radius * math.cos(angle), cy - radius * math.sin(angle))
            path.moveTo(*point) if n == 0 else path.lineTo(*point)
        path.close()
        self.pdf.drawPath(path, stroke=0, fill=1)

    def mrz(self, x: float, y: float, lines: tuple[str, ...], pitch: float = 4.4) -> None:
        """OCR zone: Courier at 2.54 mm a character (ICAO's ten to the inch)."""
        for n, line in enumerate(lines):
            self.text(x, y + n * pitch, line, size=12.0, font="Courier-Bold", rgb=(0, 0, 0))


def _ddmmyyyy(day: date, sep: str = ".") -> str:
    return f"{day:%d}{sep}{day:%m}{sep}{day:%Y}"


def _card_base(
    c: _Card, tint: tuple[float, float, float], wave: tuple[float, float, float]
) -> None:
    """The card's rounded outline and tint, the security print kept inside the corners."""
    c.rect(0, 0, *CARD, fill=tint, stroke=(0.6, 0.6, 0.6), radius=3.2)
    c.pdf.saveState()
    left, top = c.xy(0, 0)
    outline = c.pdf.beginPath()
    outline.roundRect(
        left, top - CARD[1] * mm * c.k, CARD[0] * mm * c.k, CARD[1] * mm * c.k, 3.2 * mm * c.k
    )
    c.pdf.clipPath(outline, stroke=0, fill=0)
    c.guilloche(CARD[0], CARD[1], wave)
    c.pdf.restoreState()


def _cie_front(c: _Card, s: IdentitySpec) -> None:
    _card_base(c, (0.97, 0.93, 0.93), (0.9, 0.8, 0.84))
    c.star(6.5, 6.5, 3.6, (0.55, 0.55, 0.6))
    c.text(12, 5.2, "REPUBBLICA ITALIANA", size=6.5)
    c.text(12, 8.4, "MINISTERO DELL'INTERNO", size=4.6, font="Helvetica")
    c.text(12, 12.2, "CARTA DI IDENTITÀ / IDENTITY CARD", size=5.6)
    c.text(83, 5.6, s.number, size=8.5, font="Courier-Bold", rgb=_RED, align="right")
    c.photo(3, 15, 22, 28)
    c.label(3, 46.6, "FIRMA DEL TITOLARE / HOLDER'S SIGNATURE", size=2.8)
    c.signature(4, 47.5, 20, 5, s.last_name + s.first_name)
    fields = [
        (28, 16.5, "COMUNE DI / MUNICIPALITY", s.municipality),
        (28, 23.0, "COGNOME / SURNAME", s.last_name.upper()),
        (28, 29.5, "NOME / NAME", s.first_name.upper()),
        (
            28,
            36.0,
            "LUOGO E DATA DI NASCITA / PLACE AND DATE OF BIRTH",
            f"{s.birth_place} ({s.birth_province}) {_ddmmyyyy(s.birth_date)}",
        ),
        (28, 42.5, "SESSO / SEX", s.sex),
        (42, 42.5, "STATURA / HEIGHT", str(s.height_cm)),
        (58, 42.5, "CITTADINANZA / NATIONALITY", "ITA"),
        (28, 49.0, "EMISSIONE / ISSUING", _ddmmyyyy(s.issued)),
        (54, 49.0, "SCADENZA / EXPIRY", _ddmmyyyy(s.expires)),
    ]
    for x, y, label, value in fields:
        c.label(x, y, label)
        c.text(x, y + 3.3, value, size=6.4)
    c.photo(73, 16, 9, 11.5, light=0.86)  # the ghost image
    c.text(83, 52.2, _digits(s.number + "can", 6), size=5.5, font="Courier-Bold", align="right")


def _cie_back(c: _Card, s: IdentitySpec) -> None:
    _card_base(c, (0.93, 0.95, 0.97), (0.8, 0.86, 0.9))
    c.label(3, 4.5, "COGNOME E NOME DEI GENITORI O DI CHI NE FA LE VECI / PARENTS OR GUARDIAN")
    c.label(3, 10.5, "CODICE FISCALE / FISCAL CODE")
    c.text(3, 14.2, s.tax_code, size=7.0, font="Courier-Bold")
    barcode = Code128(s.tax_code, barHeight=6 * mm * c.k, barWidth=0.155 * mm * c.k, quiet=False)
    barcode.drawOn(c.pdf, *c.xy(47, 15.5))
    c.label(3, 18.5, "INDIRIZZO DI RESIDENZA / RESIDENCE")
    c.text(3, 21.8, s.address, size=5.6)
    c.label(3, 25.5, "ESTREMI ATTO DI NASCITA")
    c.text(3, 28.6, f"{_digits(s.tax_code, 5)} 1 A {s.birth_date.year}", size=5.6)
    c.rect(0, 32.5, CARD[0], 21.5, fill=(1, 1, 1))
    c.rect(0, 32.5, CARD[0], 21.5, stroke=(0.6, 0.6, 0.6), radius=0)
    c.mrz(4.2, 38.0, mrz_lines(s))


def _passport_page(c: _Card, s: IdentitySpec) -> None:
    w, h = PASSPORT_PAGE
    c.rect(0, 0, w, h, fill=(0.94, 0.95, 0.92), stroke=(0.6, 0.6, 0.6), radius=1.5)
    c.guilloche(w, 62, (0.82, 0.87, 0.8))
    c.star(9, 7, 4, (0.5, 0.55, 0.5))
    c.text(40, 6.0, "REPUBBLICA ITALIANA", size=8.5)
    c.text(40, 10.5, "PASSAPORTO     PASSPORT     PASSEPORT", size=6.0, font="Helvetica")
    c.photo(4, 14, 31, 40)
    c.label(4, 57.5, "10. Firma del titolare. Holder's signature. Signature du titulaire.")
    c.signature(6, 58.5, 28, 5, s.last_name + s.first_name)
    fields = [
        (40, 15.0, "Tipo. Type. Type.", "P"),
        (56, 15.0, "Codice Paese. Code of Issuing State. Code de l'État émetteur.", "ITA"),
        (98, 15.0, "Passaporto N. Passport No. Passeport N°.", s.number),
        (40, 21.5, "1. Cognome. Surname. Nom.", s.last_name.upper()),
        (40, 28.0, "2. Nome. Given Names. Prénoms.", s.first_name.upper()),
        (40, 34.5, "3. Cittadinanza. Nationality. Nationalité.", "ITALIANA"),
        (86, 34.5, "4. Data di nascita. Date of birth.", _worded(s.birth_date)),
        (40, 41.0, "5. Sesso. Sex. Sexe.", s.sex),
        (
            62,
            41.0,
            "6. Luogo di nascita. Place of birth. Lieu de naissance.",
            f"{s.birth_place} ({s.birth_province})",
        ),
        (40, 47.5, "7. Data di rilascio. Date of issue.", _worded(s.issued)),
        (86, 47.5, "8. Autorità. Authority. Autorité.", "MINISTRO AFFARI ESTERI"),
        (40, 54.0, "9. Data di scadenza. Date of expiry.", _worded(s.expires)),
    ]
    for x, y, label, value in fields:
        c.label(x, y, label)
        c.text(x, y + 3.4, value, size=7.0)
    c.rect(0, 66, w, 22, fill=(1, 1, 1))
    c.mrz(6.5, 74.0, mrz_lines(s), pitch=6.0)


_CATEGORIES = ("AM", "A1", "A2", "A", "B1", "B", "C1", "C", "D1", "D", "BE", "C1E", "CE", "D1E",
               "DE")  # fmt: skip


def _patente_front(c: _Card, s: IdentitySpec) -> None:
    _card_base(c, (0.98, 0.9, 0.91), (0.93, 0.78, 0.82))
    c.rect(3, 3, 11, 8.5, fill=(0.0, 0.2, 0.6))
    for n in range(12):
        angle = n * math.pi / 6
        c.star(8.5 + 3 * math.cos(angle), 7.25 + 3 * math.sin(angle), 0.45, (1.0, 0.85, 0.0))
    c.text(8.5, 8.4, "I", size=7, rgb=(1, 1, 1), align="center")
    c.text(17, 7.0, "PATENTE DI GUIDA", size=9.5)
    c.text(17, 10.6, "REPUBBLICA ITALIANA", size=5.5, font="Helvetica")
    c.photo(3, 14, 22, 28)
    dob = f"{s.birth_date:%d/%m/%y} {s.birth_place} ({s.birth_province})"
    rows = [
        ("1.", s.last_name.upper()),
        ("2.", s.first_name.upper()),
        ("3.", dob),
        ("4a.", f"{_ddmmyyyy(s.issued, '/')}     4c. MIT-UCO"),
        ("4b.", _ddmmyyyy(s.expires, "/")),
        ("5.", s.number),
        ("7.", ""),
        ("8.", s.address),
        ("9.", "AM/B1/B"),
    ]
    y = 16.5
    for key, value in rows:
        c.text(28, y, key, size=5.0, font="Helvetica", rgb=_LABEL)
        c.text(33, y, value, size=6.0 if key != "8." else 4.6)
        if key == "7.":
            c.signature(33, y - 3.2, 18, 4, s.last_name + s.first_name)
        y += 4.4


def _patente_back(c: _Card, s: IdentitySpec) -> None:
    _card_base(c, (0.98, 0.92, 0.93), (0.93, 0.8, 0.84))
    xs = (3, 14, 33, 52)
    for x, head in zip(xs, ("9.", "10.", "11.", "12."), strict=True):
        c.text(x, 4.5, head, size=4.5, font="Helvetica", rgb=_LABEL)
    held = {"AM": s.issued, "B1": s.issued, "B": s.issued}
    for n, category in enumerate(_CATEGORIES):
        y = 7.8 + n * 2.75
        c.pdf.setStrokeColorRGB(0.7, 0.6, 0.62)
        c.pdf.setLineWidth(0.15 * c.k)
        c.pdf.line(*c.xy(2, y + 0.7), *c.xy(70, y + 0.7))
        c.text(xs[0], y, category, size=4.2)
        if category in held:
            c.text(xs[1], y, _ddmmyyyy(held[category], "/"), size=4.2, font="Helvetica")
            c.text(xs[2], y, _ddmmyyyy(s.expires, "/"), size=4.2, font="Helvetica")
        if category == "B":
            c.text(xs[3], y, "01", size=4.2)  # corrective lenses
    c.text(3, 52, "13.", size=4.5, font="Helvetica", rgb=_LABEL)
    c.text(40, 52, "14.", size=4.5, font="Helvetica", rgb=_LABEL)


def _size(kind: str) -> tuple[float, float]:
    return PASSPORT_PAGE if kind == "passaporto" else CARD


def _draw(c: _Card, spec: IdentitySpec, side: str) -> None:
    if spec.kind == "passaporto":
        _passport_page(c, spec)
    elif spec.kind == "cie":
        (_cie_front if side == "front" else _cie_back)(c, spec)
    else:
        (_patente_front if side == "front" else _patente_back)(c, spec)


def _sides(spec: IdentitySpec, side: str) -> list[str]:
    if side not in SIDES:
        raise ValueError(f"side is one of {', '.join(SIDES)}, got {side!r}")
    if spec.kind == "passaporto":
        return ["front"]
    return ["front", "back"] if side == "both" else [side]


def identity_pdf(spec: IdentitySpec, *, side: str = "both", sheet: bool | None = None) -> bytes:
    """The document at real size. On an A4 `sheet` (the default for both sides and for the
    passport) as a photocopy or flatbed scan shows it, the sides one above the other near the
    top-left corner; otherwise a page the size of the card, one side."""
    sides = _sides(spec, side)
    sheet = (len(sides) > 1 or spec.kind == "passaporto") if sheet is None else sheet
    w, h = _size(spec.kind)
    page = A4 if sheet else (w * mm, h * mm)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=page, invariant=True, pageCompression=1)
    pdf.setTitle("Documento di identità")
    pdf.setCreator("docgen")
    for n, name in enumerate(sides):
        left, top = (18 * mm, page[1] - 18 * mm - n * (h + 12) * mm) if sheet else (0, page[1])
        _draw(_Card(pdf, left, top, 1.0, f"{spec.number}|{name}"), spec, name)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _enlarged_pdf(spec: IdentitySpec, side: str, scale: float) -> bytes:
    """The sides `scale` times real size with a thin margin: what fills a phone's frame."""
    sides = _sides(spec, side)
    w, h = _size(spec.kind)
    gap = 6.0
    size = ((w + 2 * gap) * mm * scale, (len(sides) * (h + gap) + gap) * mm * scale)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=True)
    pdf.setFillGray(0.35)
    pdf.rect(0, 0, *size, stroke=0, fill=1)  # the dark table top around the card
    for n, name in enumerate(sides):
        top = size[1] - (gap + n * (h + gap)) * mm * scale
        _draw(_Card(pdf, gap * mm * scale, top, scale, f"{spec.number}|{name}"), spec, name)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _dim(jpeg: bytes, seed: int) -> bytes:
    """Evening light and a cheap phone: smaller, darker, warmer, flatter, noisier, blurred,
    compressed hard. Tesseract's confidence drops; the MRZ stays legible to a patient reader."""
    image = Image.open(io.BytesIO(jpeg)).convert("RGB")
    image = image.resize((image.width * 6 // 10, image.height * 6 // 10), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels * np.array([0.5, 0.45, 0.34], dtype=np.float32) + 18
    rng = np.random.default_rng(seed)
    pixels += rng.standard_normal(pixels.shape, dtype=np.float32) * 8
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    shot = shot.filter(ImageFilter.GaussianBlur(1.3))
    buffer = io.BytesIO()
    shot.save(buffer, "JPEG", quality=35)
    return buffer.getvalue()


def identity_image(
    spec: IdentitySpec,
    *,
    form: str = "photo",
    side: str = "both",
    quality: str = "good",
    seed: int | None = None,
) -> bytes:
    """A scan (PNG, the A4 sheet at 300 dpi, a little speckled) or a phone photo (JPEG: the
    document on a table, turned, lit from one side); `quality="poor"` is a small, dark,
    blurred photo."""
    if form not in ("scan", "photo") or quality not in ("good", "poor"):
        raise ValueError(f"form scan/photo and quality good/poor, got {form!r}, {quality!r}")
    seed = int(_digits(f"{spec.number}|{form}|{side}|{quality}", 6)) if seed is None else seed
    if form == "scan":
        return scans.scan_png(
            identity_pdf(spec, side=side, sheet=True), dpi=300, noise=0.0004, seed=seed
        )
    scale = (1.8 if side == "both" else 2.2) if quality == "good" else 1.8
    if spec.kind == "passaporto" and quality == "good":
        scale *= 0.8
    skew = ((seed % 11) - 5) * 0.8
    shot = scans.photo(_enlarged_pdf(spec, side, scale), skew=skew, seed=seed, quality=85)
    return shot if quality == "good" else _dim(shot, seed)


def identity_document(
    spec: IdentitySpec,
    *,
    form: str = "pdf",
    side: str = "both",
    quality: str = "good",
    seed: int | None = None,
) -> tuple[bytes, IdentityFacts]:
    """The document as the customer sends it (`pdf`, `scan` or `photo`) and what it says."""
    if form == "pdf":
        return identity_pdf(spec, side=side), facts(spec)
    return identity_image(spec, form=form, side=side, quality=quality, seed=seed), facts(spec)
