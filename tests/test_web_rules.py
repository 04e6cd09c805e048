"""The console's pure parts: the log-in throttle, where a log in may send back to, the safe
name of an upload, and an Italian word for every reason and status pecflow has."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.rules.matching import ReviewReason
from pipeline.rules.statuses import BatchStatus, MessageOutcome, OutboxStatus, ReviewStatus
from web.app import _safe_name
from web.guard import Throttle
from web.italian import REVIEW_REASONS, word
from web.pages import _next_url


def test_the_throttle_stops_a_name_or_an_address_after_its_failures() -> None:
    throttle = Throttle(attempts=3, window_seconds=60)
    keys = ["name:anna", "addr:10.0.0.1"]
    for _ in range(3):
        assert throttle.wait_seconds(keys) == 0
        throttle.failed(keys)
    assert 0 < throttle.wait_seconds(keys) <= 61
    assert throttle.wait_seconds(["name:anna", "addr:10.0.0.2"]) > 0  # the name is stopped
    assert throttle.wait_seconds(["name:vito", "addr:10.0.0.1"]) > 0  # and the address
    assert throttle.wait_seconds(["name:vito", "addr:10.0.0.2"]) == 0
    throttle.succeeded(["name:anna"])
    assert throttle.wait_seconds(["name:anna", "addr:10.0.0.2"]) == 0


def test_the_throttle_forgets_failures_older_than_its_window() -> None:
    throttle = Throttle(attempts=1, window_seconds=0)
    throttle.failed(["name:anna"])
    assert throttle.wait_seconds(["name:anna"]) == 0


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        ("/review/3", "/review/3"),
        ("/orders?q=rossi", "/orders?q=rossi"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_a_log_in_sends_back_only_to_a_page_of_this_site(asked: str | None, sent_to: str) -> None:
    assert _next_url(asked) == sent_to


@given(st.text())
def test_an_uploaded_name_is_short_printable_and_has_no_folder(name: str) -> None:
    safe = _safe_name(name)
    assert safe and len(safe) <= 100 and safe.isprintable()
    assert "/" not in safe and "\\" not in safe


def test_every_reason_and_status_has_an_italian_word() -> None:
    assert set(REVIEW_REASONS) == set(ReviewReason)
    for enum in (BatchStatus, MessageOutcome, OutboxStatus, ReviewStatus):
        for value in enum:
            assert word(value) != value.value, value
