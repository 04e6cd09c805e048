"""Reading the portal's export: every row checked, every problem named by row and column.

Pure: bytes in, typed records and row errors out. The file is read in two passes: the first
decodes it, finds the header and its delimiter and collects each row's order id (so that an id
given twice is refused on every row that carries it); the second checks each row in turn,
except a row whose values hash as the order's row did when it was last imported: that one is
`Unchanged` at once (a re-import of 50,000 rows is mostly such rows).
A file that cannot be read as an export at all (not UTF-8, no header, broken CSV) raises
`ExportUnreadable` before any row is checked: nothing of it is imported.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.it import codicefiscale

from pipeline.rules.export_columns import AMOUNT_DIGITS, TEXT_LENGTHS
from pipeline.rules.money import expected_total
from pipeline.rules.statuses import OrderType

COLUMNS: tuple[str, ...] = (
    "order_id",
    "order_type",
    "product",
    "created_at",
    "customer_category",
    "last_name",
    "first_name",
    "sex",
    "birth_date",
    "tax_code",
    "birth_municipality",
    "birth_province",
    "citizenship",
    "email",
    "phone",
    "mobile",
    "mailbox",
    "mailbox_option_2",
    "mailbox_option_3",
    "mailbox_description",
    "payment_method",
    "net_amount",
    "vat_rate",
    "total_amount",
    "payment_status",
)
_COLUMN_SET = frozenset(COLUMNS)
ORDER_TYPES = {t.value for t in OrderType}
PRODUCTS = {"standard", "standard_plus", "standard_pro", "bronze", "silver", "gold"}
CATEGORIES = {"privato", "professionista", "azienda", "pa"}
PAYMENT_METHODS = {"prepagato", "carta", "bonifico", "bollettino"}
PAYMENT_STATUSES = {"pending", "paid"}
# The applicant's columns (Dati Richiedente): a new mailbox needs them, a renewal may omit them.
APPLICANT_REQUIRED = COLUMNS[COLUMNS.index("customer_category") : COLUMNS.index("email")]
# Excel writes `,` (or `;` where the decimal mark is a comma, as in Italy); "Testo" is tab.
DELIMITERS: tuple[str, ...] = (",", ";", "\t")
JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
# Rows checked (and, by the import, written) together.
CHUNK_ROWS = 1000

# What the store holds (it makes its columns from these): characters for text, digits for amounts.
MAX_LENGTH: dict[str, int] = dict(TEXT_LENGTHS)
_LIMITS = tuple(MAX_LENGTH.items())
# The columns whose stored value may differ from the one read (upper case, e-mail addresses).
_NORMALISED = (
    "tax_code",
    "birth_province",
    "email",
    "mailbox",
    "mailbox_option_2",
    "mailbox_option_3",
)
MAX_AMOUNT: dict[str, Decimal] = {
    column: Decimal(10) ** (digits - scale) - Decimal(10) ** -scale
    for column, (digits, scale) in AMOUNT_DIGITS.items()
}

SAVE_AS_UTF8 = (
    'save it as UTF-8 (Excel: "Salva con nome" > "CSV UTF-8 (delimitato da virgole)"; '
    'LibreOffice: "Salva con nome", "Modifica impostazioni filtro", Set di caratteri '
    '"Unicode (UTF-8)") and import it again'
)

# ASCII only: Python's \d also matches Arabic-Indic and full-width digits, which int() accepts.
_ORDER_ID = re.compile(r"[0-9]{7}")
_AMOUNT = re.compile(r"[0-9]{1,9}(?:[.,][0-9]{1,2})?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ITALIAN_DATE = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_PROVINCE = re.compile(r"[A-Za-z]{2}")
# Control characters (a line break, a NUL) and lone surrogates (from JSON escapes) belong in no
# column, and PostgreSQL refuses NUL and lone surrogates outright.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_SEP_LINE = re.compile(r"sep=(.)", re.IGNORECASE)
# The plain addresses nearly every row holds: checked by email-validator once per domain.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*")
_PLAIN_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")


class ExportUnreadable(ValueError):
    """The file cannot be read as an export at all; the message is one line an operator can
    act on (which row, and what to do). Nothing of the file is imported."""


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str
    order_id: str | None = None

    def __str__(self) -> str:
        order = f" (order {self.order_id})" if self.order_id else ""
        return f"row {self.row}{order}, column {self.column}: {self.message}"


@dataclass(frozen=True)
class OrderRecord:
    """One valid row, typed; `fields` holds exactly the portal-owned columns."""

    row: int
    order_id: int
    fields: dict[str, Any]
    # What an unchanged re-import is recognised by: computed from `fields` when not given.
    fingerprint: str = field(default="", repr=False, compare=False)
    # The hash of the row's values as read (see row_hash_of); empty when not read from a row.
    row_hash: str = field(default="", repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.fingerprint:
            object.__setattr__(self, "fingerprint", fingerprint_of(self.fields))


class Stored(NamedTuple):
    """What an order keeps of the export row it was last imported from."""

    fingerprint: str
    row_hash: str | None


@dataclass(frozen=True)
class Unchanged:
    """A row whose order is stored just as the row reads: nothing to write but, when given,
    the row's hash (the stored one differs: the same order saved another way)."""

    row: int
    order_id: int
    row_hash: str | None = None


# json.dumps(fields, sort_keys=True, default=str), made once rather than per row.
_CANONICAL = json.JSONEncoder(sort_keys=True, default=str)


def fingerprint_of(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(_CANONICAL.encode(fields).encode()).hexdigest()


def row_hash_of(values: Mapping[str, str]) -> str:
    """A row's values as read (stripped, in the export's column order), hashed: the same
    whatever the delimiter or the order of the columns, and cheap beside checking them."""
    return hashlib.sha256(
        "\x1f".join(values[c] for c in COLUMNS).encode(errors="surrogatepass")
    ).hexdigest()


Outcome = OrderRecord | RowError | Unchanged


@dataclass(frozen=True)
class Chunk:
    """Consecutive data rows: where they lie in the text, and the number of the first record
    there (blank records count, as a spreadsheet shows them)."""

    start: int
    end: int
    first_record: int
    rows: int
    ids: tuple[int, ...] = ()  # the order ids its rows give (those of 7 digits)


@dataclass(frozen=True)
class Export:
    """A decoded export, how it is laid out, and what the first pass over it found."""

    filename: str
    text: str
    json_lines: bool
    delimiter: str = ","
    header: tuple[str, ...] = ()
    rows: int = 0  # data rows: each gets one outcome
    chunks: tuple[Chunk, ...] = ()
    # Order ids given on more than one row, with those rows.
    duplicates: Mapping[str, tuple[int, ...]] = field(default_factory=dict)

    def order_ids(self) -> list[int]:
        """Every order id of 7 digits the rows give, in the file's order."""
        return [order_id for chunk in self.chunks for order_id in chunk.ids]


def _duplicate_message(number: int, rows: tuple[int, ...]) -> str:
    others = [str(r) for r in rows if r != number]
    plural = "s" if len(others) > 1 else ""
    return (
        f"the same order appears also in row{plural} {', '.join(others)}, "
        "so none of its rows is imported"
    )


def check_chunk(
    export: Export, chunk: Chunk, stored: Mapping[int, Stored] | None = None
) -> list[Outcome]:
    """The outcomes of one chunk's rows, an id given twice refused on each of its rows, a row
    that hashes as its order's `stored` row Unchanged; chunks can be checked apart (in other
    processes)."""
    known = stored or {}
    return [_checked(n, values, export.duplicates, known) for n, values in _rows_in(export, chunk)]


class _RowInvalid(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


# --- reading ---------------------------------------------------------------------------------


def read_export(data: bytes, filename: str, chunk_rows: int = CHUNK_ROWS) -> Export:
    """Decode the file, find its header and delimiter, and collect every row's order id.

    Raises ExportUnreadable when the file is not UTF-8, has no header of the export, or is
    not readable as CSV: then nothing of it may be imported."""
    json_lines = filename.lower().endswith(JSON_SUFFIXES)
    text = _decode(data, filename, json_lines)
    scan = _Scan(chunk_rows)
    if json_lines:
        export = Export(filename, text, True)
        _scan_json(text, scan)
    else:
        export = _scan_csv(filename, text, scan)
    duplicates = {oid: tuple(rows) for oid, rows in scan.rows_of.items() if len(rows) > 1}
    return replace(export, rows=scan.rows, chunks=tuple(scan.chunks), duplicates=duplicates)


class _Scan:
    """What the first pass collects: the rows each order id is on, and the chunks."""

    def __init__(self, chunk_rows: int) -> None:
        self.chunk_rows = max(1, chunk_rows)
        self.rows = 0
        self.rows_of: dict[str, list[int]] = {}
        self.chunks: list[Chunk] = []
        self.begin(0, 1)

    def begin(self, offset: int, record: int) -> None:
        self._start, self._first, self._in_chunk = offset, record, 0
        self._ids: list[int] = []

    def _close(self, end: int) -> None:
        self.chunks.append(Chunk(self._start, end, self._first, self._in_chunk, tuple(self._ids)))

    def row(self, number: int, order_id: str, end: int) -> None:
        self.rows += 1
        order_id = order_id.strip()
        if _ORDER_ID.fullmatch(order_id):
            self.rows_of.setdefault(order_id, []).append(number)
            self._ids.append(int(order_id))
        self._in_chunk += 1
        if self._in_chunk == self.chunk_rows:
            self._close(end)
            self.begin(end, number + 1)

    def end(self, offset: int) -> None:
        if self._in_chunk:
            self._close(offset)


# A line with its end (\r\n, \r or \n, as io.StringIO(newline="") cuts them for csv), or the
# last line without one.
_CSV_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
# JSON Lines end at "\n" only: U+2028 and the like may stand inside a JSON string.
_JSON_LINE = re.compile(r"[^\n]*\n|[^\n]+")


class _Lines:
    """The lines of text[start:end] as csv.reader takes them, and how far it has read."""

    def __init__(self, text: str, start: int, end: int) -> None:
        self._matches = _CSV_LINE.finditer(text, start, end)
        self.offset = start

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        match = next(self._matches)
        self.offset = match.end()
        return match.group()


def _blank(record: list[str]) -> bool:
    """A blank line, or one of delimiters only (the empty rows Excel may save): nothing in
    it but spaces (and byte order marks)."""
    return not "".join(record).replace("\ufeff", "").strip()


def _scan_csv(filename: str, text: str, scan: _Scan) -> Export:
    sep, header_line = _lines_until_header(text)
    if header_line is None:
        raise ExportUnreadable(f"{filename}: the file is empty, not even the header row is there")
    delimiter, known = _delimiter_of(header_line)
    if sep in DELIMITERS and _known_names(header_line, sep) == known:
        delimiter = sep  # Excel's own word for it, when it reads the header as well
    lines = _Lines(text, 0, len(text))
    reader = csv.reader(lines, delimiter=delimiter, strict=False)
    number = 0
    names: list[str] = []
    id_at = 0
    try:
        for record in reader:
            number += 1
            if names:
                if not _blank(record):
                    scan.row(number, record[id_at] if id_at < len(record) else "", lines.offset)
                continue
            if _blank(record) or _SEP_LINE.fullmatch(delimiter.join(record).strip()):
                continue  # what stands before the header
            names = _header(filename, number, record)
            id_at = names.index("order_id")
            scan.begin(lines.offset, number + 1)
    except csv.Error as exc:
        raise ExportUnreadable(
            f"{filename}: row {number + 1} is not readable as CSV ({exc}; a quote opened and "
            "never closed?)"
        ) from None
    scan.end(len(text))
    return Export(filename, text, False, delimiter, tuple(names))


def _header(filename: str, number: int, record: list[str]) -> list[str]:
    names = [_column_name(value) for value in record]
    missing = [c for c in COLUMNS if c not in names]
    if len(missing) == len(COLUMNS):
        raise ExportUnreadable(
            f"{filename}: row {number} is not the header of the orders export: it must name the "
            f"columns ({', '.join(COLUMNS[:3])}, …) separated by commas, semicolons or tabs"
        )
    if missing:
        raise ExportUnreadable(
            f"{filename}: the header (row {number}) lacks the column(s) {', '.join(missing)}"
        )
    return names


def _column_name(value: str) -> str:
    return value.strip().strip("\ufeff").strip().lower()


def _scan_json(text: str, scan: _Scan) -> None:
    for number, match in enumerate(_JSON_LINE.finditer(text), start=1):
        line = match.group()
        if not line.strip():
            continue
        raw = _json_raw(line)
        scan.row(number, raw.get("order_id", ""), match.end())
    scan.end(len(text))


def _rows_in(export: Export, chunk: Chunk) -> Iterator[tuple[int, dict[str, str]]]:
    if export.json_lines:
        lines = _JSON_LINE.finditer(export.text, chunk.start, chunk.end)
        for number, match in enumerate(lines, start=chunk.first_record):
            if match.group().strip():
                yield number, _json_raw(match.group())
        return
    names = export.header
    width = len(names)
    at = [(column, names.index(column)) for column in COLUMNS]  # the first of a name given twice
    # Lines cut as _Lines cuts them (the first pass's chunks end where its records end).
    text = io.StringIO(export.text[chunk.start : chunk.end], newline="")
    reader = csv.reader(text, delimiter=export.delimiter, strict=False)
    number = chunk.first_record - 1
    try:
        for record in reader:
            number += 1
            if _blank(record):
                continue
            if len(record) > width and not _blank(record[width:]):
                yield (
                    number,
                    {
                        "__error__": f"has {len(record)} values but the header has {width} "
                        f"columns (a {_shown(export.delimiter)} inside a value that is not quoted?)"
                    },
                )
                continue
            if len(record) < width:  # trailing empty values left out
                record += [""] * (width - len(record))
            yield number, {column: record[i].strip() for column, i in at}
    except csv.Error as exc:  # the first pass read the same text without one
        raise ExportUnreadable(
            f"{export.filename}: row {number + 1} is not readable as CSV ({exc})"
        ) from None


def _json_raw(line: str) -> dict[str, str]:
    try:
        obj = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
        return {"__error__": f"not valid JSON ({message})"}
    if not isinstance(obj, dict):
        return {"__error__": "not a JSON object"}
    raw: dict[str, str] = {}
    for key, value in obj.items():
        name = _column_name(key)
        if name in raw or name not in _COLUMN_SET:
            continue
        if isinstance(value, dict | list):
            return {"__error__": "holds a JSON object or list, not a value", "__column__": name}
        raw[name] = "" if value is None else str(value).strip()
    return {column: raw.get(column, "") for column in COLUMNS}


def _decode(data: bytes, filename: str, json_lines: bool) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportUnreadable(
            f'{filename}: row 1 is not UTF-8 text but UTF-16 (Excel\'s "Testo Unicode"): '
            + SAVE_AS_UTF8
        )
    body = data.removeprefix(b"\xef\xbb\xbf")  # Excel's "CSV UTF-8" starts with a BOM
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = _row_at(body, exc.start, json_lines)
        byte = body[exc.start]
        seen = bytes([byte]).decode("cp1252", errors="ignore")
        guess = f', "{seen}" as Windows writes it' if seen.isprintable() and seen else ""
        raise ExportUnreadable(
            f"{filename}: row {row} is not UTF-8 text (byte 0x{byte:02X}{guess}): " + SAVE_AS_UTF8
        ) from None


def _row_at(data: bytes, offset: int, json_lines: bool) -> int:
    """The row (numbered as the reader numbers them) holding the byte at `offset`."""
    before = data[:offset].decode("utf-8", errors="replace")
    if json_lines:
        return before.count("\n") + 1
    delimiter = _delimiter_of(_lines_until_header(before)[1] or "")[0]
    # A stand-in for the bad byte, so that it lands in the record that holds the byte.
    text = before + "x"
    reader = csv.reader(_Lines(text, 0, len(text)), delimiter=delimiter, strict=False)
    count = 0
    try:
        for _ in reader:
            count += 1
    except csv.Error:
        count += 1
    return max(count, 1)


def _lines_until_header(text: str) -> tuple[str | None, str | None]:
    """Excel's optional `sep=;` line and the header line: the first lines that are not blank."""
    sep: str | None = None
    for match in _CSV_LINE.finditer(text):
        line = match.group().rstrip("\r\n")
        if not line.strip().strip("\ufeff"):
            continue
        directive = _SEP_LINE.fullmatch(line)
        if sep is None and directive:
            sep = directive.group(1)
            continue
        return sep, line
    return sep, None


def _header_names(line: str, delimiter: str) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=delimiter, strict=False), [])
    except csv.Error:
        return []
    return [_column_name(name) for name in fields]


def _known_names(line: str, delimiter: str) -> int:
    return len(set(COLUMNS).intersection(_header_names(line, delimiter)))


def _delimiter_of(line: str) -> tuple[str, int]:
    """The delimiter that splits the header line into the most known column names."""
    scored = [(_known_names(line, d), d) for d in DELIMITERS]
    best = max(score for score, _ in scored)
    return next(d for score, d in scored if score == best), best


def _shown(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}.get(delimiter, repr(delimiter))


# --- checking --------------------------------------------------------------------------------


def _checked(
    number: int,
    values: dict[str, str],
    duplicates: Mapping[str, tuple[int, ...]],
    stored: Mapping[int, Stored],
) -> Outcome:
    """The outcome of a row read by _rows_in: every column there, its value stripped."""
    if "__error__" in values:
        return RowError(number, values.get("__column__", "(row)"), values["__error__"])
    try:
        _check_order_id(values["order_id"])
        rows = duplicates.get(values["order_id"])
        if rows:
            raise _RowInvalid("order_id", _duplicate_message(number, rows))
        row_hash = row_hash_of(values)
        order_id = int(values["order_id"])
        known = stored.get(order_id)
        if known and known.row_hash == row_hash:
            return Unchanged(number, order_id)
        fields = _typed_fields(values)
    except _RowInvalid as exc:
        given = values["order_id"]
        shown = given if given.isprintable() and len(given) <= 20 else _quoted(given)
        return RowError(number, exc.column, exc.message, shown or None)
    return OrderRecord(number, order_id, fields, row_hash=row_hash)


def _check_order_id(value: str) -> None:
    if not _ORDER_ID.fullmatch(value):
        hint = ""
        if value.isascii() and value.isdigit() and len(value) < 7:
            hint = " (a spreadsheet drops leading zeros: keep the column as text)"
        raise _RowInvalid("order_id", f"must be exactly 7 digits 0-9, got {_quoted(value)}{hint}")
    if value == "0000000":
        raise _RowInvalid("order_id", "0000000 is not an order number")


def _typed_fields(raw: dict[str, str]) -> dict[str, Any]:
    _check_characters(raw)
    for column, limit in _LIMITS:
        if len(raw[column]) > limit:
            _check_length(column, raw[column], limit)
    _choice(raw, "order_type", ORDER_TYPES)
    _choice(raw, "product", PRODUCTS)
    _choice(raw, "payment_method", PAYMENT_METHODS)
    _choice(raw, "payment_status", PAYMENT_STATUSES)
    renewal = raw["order_type"] == OrderType.RENEWAL
    if not renewal:
        for column in APPLICANT_REQUIRED:
            if not raw[column]:
                raise _RowInvalid(column, "is required for a new mailbox (acquisto)")
    if raw["customer_category"]:
        _choice(raw, "customer_category", CATEGORIES)
    if raw["sex"] and raw["sex"] not in {"M", "F"}:
        raise _RowInvalid("sex", f"must be M or F, got {_quoted(raw['sex'])}")
    if raw["tax_code"]:
        _check_tax_code(raw["tax_code"].upper())
    if raw["birth_province"] and not _PROVINCE.fullmatch(raw["birth_province"]):
        raise _RowInvalid("birth_province", "must be a two-letter province code")
    typed: dict[str, Any] = {
        c: (raw[c] or None)
        for c in COLUMNS
        if c
        not in {"order_id", "created_at", "birth_date", "net_amount", "vat_rate", "total_amount"}
    }
    typed["order_id"] = raw["order_id"]
    typed["tax_code"] = raw["tax_code"].upper() or None
    typed["birth_province"] = raw["birth_province"].upper() or None
    typed["created_at"] = _timestamp(raw["created_at"])
    typed["birth_date"] = _date(raw["birth_date"]) if raw["birth_date"] else None
    typed["email"] = _email(raw, "email", required=True)
    typed["mailbox"] = _email(raw, "mailbox", required=True)
    typed["mailbox_option_2"] = _email(raw, "mailbox_option_2", required=False)
    typed["mailbox_option_3"] = _email(raw, "mailbox_option_3", required=False)
    net, vat, total = (_amount(raw, c) for c in ("net_amount", "vat_rate", "total_amount"))
    expected = _expected_total(net, vat, raw["payment_method"])
    if total != expected:
        fee = " including the 1.80 % card fee" if raw["payment_method"] == "carta" else ""
        raise _RowInvalid(
            "total_amount", f"{total} does not match net and VAT: expected {expected}{fee}"
        )
    typed.update(net_amount=net, vat_rate=vat, total_amount=total)
    # What is stored, after normalising (upper case, an address's domain), fits its column too.
    for column in _NORMALISED:
        if typed[column] is not None:
            _check_length(column, typed[column], MAX_LENGTH[column])
    return typed


def _check_characters(raw: dict[str, str]) -> None:
    if not _FORBIDDEN.search("".join(raw.values())):
        return
    for column in COLUMNS:
        found = _FORBIDDEN.search(raw[column])
        if found is None:
            continue
        char = found.group()
        if char in "\r\n":
            lines = len(_CSV_LINE.findall(raw[column]))
            raise _RowInvalid(
                column,
                f"holds a line break and runs over {lines} lines of the file (a quote opened "
                "and never closed?)",
            )
        raise _RowInvalid(column, f"holds the control character U+{ord(char):04X}")


def _quoted(value: str, limit: int = 40) -> str:
    """A value read, for a message: quoted, escaped (one line), cut when long."""
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}… ({len(value)} characters)"


def _check_length(column: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise _RowInvalid(column, f"{len(value)} characters, at most {limit}")


_expected_total = functools.lru_cache(maxsize=4096)(expected_total)


def _choice(raw: dict[str, str], column: str, allowed: set[str]) -> None:
    if raw[column] not in allowed:
        choices = ", ".join(sorted(allowed))
        raise _RowInvalid(
            column, f"unknown value {_quoted(raw[column])} (expected one of {choices})"
        )


def _check_tax_code(value: str) -> None:
    if len(value) != 16:
        raise _RowInvalid("tax_code", "a codice fiscale has 16 characters")
    try:
        codicefiscale.validate(value)
    except StdnumError as exc:
        if isinstance(exc, InvalidChecksum):
            raise _RowInvalid("tax_code", "check character is wrong") from None
        raise _RowInvalid("tax_code", f"not a valid codice fiscale ({exc})") from None


def _timestamp(value: str) -> datetime:
    try:
        if not value.isascii():
            raise ValueError(value)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RowInvalid("created_at", f"not an ISO 8601 time: {_quoted(value)}") from None
    if parsed.tzinfo is None:
        raise _RowInvalid("created_at", "needs a UTC offset, e.g. +01:00")
    try:
        parsed.astimezone(UTC)
    except OverflowError:
        raise _RowInvalid("created_at", f"out of range: {_quoted(value)}") from None
    return parsed


def _date(value: str) -> date:
    """YYYY-MM-DD as the portal writes it, or DD/MM/YYYY as an Italian Excel saves it."""
    italian = _ITALIAN_DATE.fullmatch(value)
    try:
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
        if italian:
            day, month, year = (int(part) for part in italian.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise _RowInvalid("birth_date", f"not a YYYY-MM-DD (or DD/MM/YYYY) date: {_quoted(value)}")


def _email(raw: dict[str, str], column: str, *, required: bool) -> str | None:
    value = raw[column]
    if not value:
        if required:
            raise _RowInvalid(column, "is required")
        return None
    try:
        return normalized_email(value)
    except EmailNotValidError as exc:
        raise _RowInvalid(column, f"not a valid e-mail address ({exc})") from None


def normalized_email(value: str) -> str:
    """email-validator's normalised address (raises EmailNotValidError as it does).

    A plain address (ASCII letters, digits, `._%+-` before the @, an ASCII domain) needs only
    its domain checked, and a domain recurs on thousands of rows: that check is made once per
    domain by email-validator itself. Anything else goes to email-validator whole."""
    local, at, domain = value.partition("@")
    if (
        at
        and _PLAIN_LOCAL.fullmatch(local)
        and _PLAIN_DOMAIN.fullmatch(domain)
        and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES
    ):
        known = _checked_domain(domain)
        if known is not None:
            normalized, ascii_domain = f"{local}@{known[0]}", f"{local}@{known[1]}"
            longest = max(len(value), len(normalized.encode()), len(ascii_domain))
            if longest <= EMAIL_MAX_LENGTH:
                return normalized
    return validate_email(value, check_deliverability=False).normalized


@functools.lru_cache(maxsize=4096)
def _checked_domain(domain: str) -> tuple[str, str] | None:
    """A domain's normalised and ASCII forms, or None when email-validator refuses it."""
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError:
        return None
    return checked.domain, checked.ascii_domain


def _amount(raw: dict[str, str], column: str) -> Decimal:
    return _parsed_amount(column, raw[column])


@functools.lru_cache(maxsize=4096)  # a price list has few amounts: each is read once
def _parsed_amount(column: str, value: str) -> Decimal:
    """A dot decimal as the portal writes it, or a comma decimal as an Italian Excel saves it
    (no thousands separator either way, so `1,50` is one euro fifty)."""
    if not _AMOUNT.fullmatch(value):
        raise _RowInvalid(
            column, f"must be a number such as 24.40 (or 24,40), got {_quoted(value)}"
        )
    try:
        amount = Decimal(value.replace(",", ".")).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise _RowInvalid(column, f"not a number: {_quoted(value)}") from None
    limit = MAX_AMOUNT.get(column)
    if limit is not None and amount > limit:
        raise _RowInvalid(column, f"{amount} is too large, at most {limit}")
    return amount
