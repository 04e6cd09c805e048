"""What an identity document says of itself that matters here: until when it is valid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from parsers.codes import normalise
from parsers.labels import dates_in, has_date, labelled_value
from parsers.mrz_zone import find_mrz
from parsers.vocabulary import vocabulary


@dataclass(frozen=True)
class Expiry:
    day: date
    read_from: str  # mrz (its check digit vouches for it), label, latest date


LATEST_DATE = "latest date"


def expiry(text: str) -> Expiry | None:
    """The expiry in the MRZ, whose check digit vouches for it; else the date after the expiry
    label (on its line or below it; where issue and expiry dates share the value, the later
    one); else, the label lost in a poor photo, the latest date on the document: birth and
    issue always come before the expiry."""
    text = normalise(text)
    machine = find_mrz(text)
    if machine is not None:
        return Expiry(machine.expires, "mrz")
    value = labelled_value(
        text.splitlines(), vocabulary().labels_for("expiry", text.lower()), has_date
    )
    labelled = dates_in(value)
    if labelled:
        return Expiry(max(labelled), "label")
    anywhere = dates_in(text)
    return Expiry(max(anywhere), LATEST_DATE) if anywhere else None
