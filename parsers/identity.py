"""What an identity document says of itself that matters here: until when it is valid."""

from __future__ import annotations

from datetime import date

from parsers.codes import normalise
from parsers.labels import dates_in, has_date, labelled_value
from parsers.mrz_zone import find_mrz
from parsers.vocabulary import vocabulary


def expiry_date(text: str) -> date | None:
    """The expiry in the MRZ, whose check digit vouches for it; else the date after the expiry
    label (on its line or below it). Where issue and expiry dates share the value, the later
    one is the expiry."""
    text = normalise(text)
    machine = find_mrz(text)
    if machine is not None:
        return machine.expires
    value = labelled_value(
        text.splitlines(), vocabulary().labels_for("expiry", text.lower()), has_date
    )
    dates = dates_in(value)
    return max(dates) if dates else None
