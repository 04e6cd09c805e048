"""What an identity document says of itself that matters here: until when it is valid."""

from __future__ import annotations

from datetime import date

from parsers.codes import normalise
from parsers.labels import dates_in, has_date, labelled_value
from parsers.vocabulary import vocabulary


def expiry_date(text: str) -> date | None:
    """The date after the expiry label (on its line or below it). Where issue and expiry
    dates share the value, the later one is the expiry."""
    text = normalise(text)
    value = labelled_value(
        text.splitlines(), vocabulary().labels_for("expiry", text.lower()), has_date
    )
    dates = dates_in(value)
    return max(dates) if dates else None
