"""Reading the portal's export: every row checked, every problem named by row and column."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from email_validator import EmailNotValidError, validate_email
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.it import codicefiscale

from pipeline.money import expected_total

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
ORDER_TYPES = {"acquisto", "rinnovo"}
PRODUCTS = {"standard", "standard_plus", "standard_pro", "bronze", "silver", "gold"}
CATEGORIES = {"privato", "professionista", "azienda", "pa"}
PAYMENT_METHODS = {"prepagato", "carta", "bonifico", "bollettino"}
PAYMENT_STATUSES = {"pending", "paid"}
# The applicant's columns (Dati Richiedente): a new mailbox needs them, a renewal may omit them.
APPLICANT_REQUIRED = COLUMNS[COLUMNS.index("customer_category") : COLUMNS.index("email")]

_AMOUNT = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


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

    @property
    def fingerprint(self) -> str:
        canonical = json.dumps(self.fields, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()


class _RowInvalid(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def read_rows(data: bytes, filename: str) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of a CSV or JSON Lines export, numbered as a spreadsheet shows them."""
    text = data.decode("utf-8-sig")
    if filename.lower().endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, {"__error__": f"not valid JSON ({exc.msg})"}
                continue
            if not isinstance(obj, dict):
                yield number, {"__error__": "not a JSON object"}
                continue
            yield number, {k: "" if v is None else str(v) for k, v in obj.items()}
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        yield 1, {"__error__": f"header lacks column(s) {', '.join(missing)}"}
        return
    for number, row in enumerate(reader, start=2):
        yield number, {k: (v or "") for k, v in row.items() if k is not None}


def validate_row(number: int, raw: dict[str, str]) -> OrderRecord | RowError:
    if "__error__" in raw:
        return RowError(number, "(row)", raw["__error__"])
    order_id = raw.get("order_id", "").strip() or None
    try:
        fields = _typed_fields({c: raw.get(c, "").strip() for c in COLUMNS})
    except _RowInvalid as exc:
        return RowError(number, exc.column, exc.message, order_id)
    return OrderRecord(number, int(fields["order_id"]), fields)


def _typed_fields(raw: dict[str, str]) -> dict[str, Any]:
    if not re.fullmatch(r"\d{7}", raw["order_id"]):
        raise _RowInvalid("order_id", f"must be exactly 7 digits, got {raw['order_id']!r}")
    _choice(raw, "order_type", ORDER_TYPES)
    _choice(raw, "product", PRODUCTS)
    _choice(raw, "payment_method", PAYMENT_METHODS)
    _choice(raw, "payment_status", PAYMENT_STATUSES)
    renewal = raw["order_type"] == "rinnovo"
    if not renewal:
        for column in APPLICANT_REQUIRED:
            if not raw[column]:
                raise _RowInvalid(column, "is required for a new mailbox (acquisto)")
    if raw["customer_category"]:
        _choice(raw, "customer_category", CATEGORIES)
    if raw["sex"] and raw["sex"] not in {"M", "F"}:
        raise _RowInvalid("sex", f"must be M or F, got {raw['sex']!r}")
    if raw["tax_code"]:
        _check_tax_code(raw["tax_code"].upper())
    if raw["birth_province"] and not re.fullmatch(r"[A-Za-z]{2}", raw["birth_province"]):
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
    expected = expected_total(net, vat, raw["payment_method"])
    if total != expected:
        fee = " including the 1.80 % card fee" if raw["payment_method"] == "carta" else ""
        raise _RowInvalid(
            "total_amount", f"{total} does not match net and VAT: expected {expected}{fee}"
        )
    typed.update(net_amount=net, vat_rate=vat, total_amount=total)
    return typed


def _choice(raw: dict[str, str], column: str, allowed: set[str]) -> None:
    if raw[column] not in allowed:
        choices = ", ".join(sorted(allowed))
        raise _RowInvalid(column, f"unknown value {raw[column]!r} (expected one of {choices})")


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
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _RowInvalid("created_at", f"not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise _RowInvalid("created_at", "needs a UTC offset, e.g. +01:00")
    return parsed


def _date(value: str) -> date:
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _RowInvalid("birth_date", f"not a YYYY-MM-DD date: {value!r}")


def _email(raw: dict[str, str], column: str, *, required: bool) -> str | None:
    value = raw[column]
    if not value:
        if required:
            raise _RowInvalid(column, "is required")
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise _RowInvalid(column, f"not a valid e-mail address ({exc})") from None


def _amount(raw: dict[str, str], column: str) -> Decimal:
    value = raw[column]
    if not _AMOUNT.fullmatch(value):
        raise _RowInvalid(column, f"must be a number with a dot decimal, e.g. 24.40, got {value!r}")
    try:
        return Decimal(value).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise _RowInvalid(column, f"not a number: {value!r}") from None
