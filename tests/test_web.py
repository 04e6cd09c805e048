"""The ops console over HTTP: every page and action, and every refusal (no session, the wrong
role, a missing CSRF token, a second click, a stale page), on both databases."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import Mailbox, Workspace
from tests.console import NOW, OPERATOR, VIEWER, Office, office_of


@pytest.fixture
def office(ws_mail: tuple[Workspace, Mailbox], monkeypatch: pytest.MonkeyPatch) -> Iterator[Office]:
    with office_of(ws_mail[0], monkeypatch) as made:
        yield made


@pytest.fixture
def client(office: Office) -> Iterator[TestClient]:
    # https: the session cookie is Secure, so a client sends it over HTTPS only.
    with TestClient(office.app(), base_url="https://testserver", follow_redirects=False) as made:
        yield made


def _log_in(client: TestClient, who: tuple[str, str]) -> None:
    page = client.get("/login")
    token = _csrf(page.text)
    done = client.post("/login", data={"name": who[0], "password": who[1], "csrf": token})
    assert done.status_code == 303, done.text


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def _review_status(office: Office) -> str:
    items = json.loads(office.ws.cli("review", "list", "--all", "--json").stdout)
    return {i["id"]: i["status"] for i in items}[office.review_id]


def test_without_a_session_every_page_sends_to_log_in(client: TestClient, office: Office) -> None:
    for path in ("/", "/review", f"/review/{office.review_id}", "/orders", "/batches",
                 "/outbox", f"/documents/{office.document_id}/file",
                 f"/documents/{office.document_id}/pages/1.png"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next=")
    posted = client.post(f"/review/{office.review_id}/confirm", data={"order": "LM3454898"})
    assert posted.status_code == 401
    assert _review_status(office) == "open"


def test_log_in_sets_a_strict_cookie_and_security_headers(client: TestClient) -> None:
    page = client.get("/login")
    for header, value in (
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
    ):
        assert page.headers[header] == value
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    done = client.post(
        "/login", data={"name": OPERATOR[0], "password": OPERATOR[1], "csrf": _csrf(page.text)}
    )
    cookie = done.headers["set-cookie"].lower()
    for flag in ("httponly", "secure", "samesite=strict", "max-age=28800"):
        assert flag in cookie
    assert client.get("/").status_code == 200


def test_wrong_passwords_are_refused_then_throttled(client: TestClient) -> None:
    token = _csrf(client.get("/login").text)
    codes = [
        client.post(
            "/login", data={"name": "anna", "password": "wrong-one!", "csrf": token}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # Throttled even with the right password, until the window has passed.
    right = client.post("/login", data={"name": "anna", "password": OPERATOR[1], "csrf": token})
    assert right.status_code == 429


def test_a_log_in_form_without_its_token_is_refused(client: TestClient) -> None:
    client.get("/login")
    done = client.post("/login", data={"name": OPERATOR[0], "password": OPERATOR[1]})
    assert done.status_code == 403


def test_every_page_answers_in_italian(client: TestClient, office: Office) -> None:
    _log_in(client, VIEWER)
    pages = {
        "/": "In ritardo o a rischio",
        "/review": "Nessun codice ordine",
        f"/review/{office.review_id}": "Ordini possibili",
        f"/documents/{office.document_id}": "Documento",
        "/orders?q=rossi": "LM3454898",
        "/orders?q=LM3454898": "LM3454898",
        "/orders?pronti=1": "Pronti",
        "/orders/LM3454898": "Storia",
        "/batches": "Esecuzioni",
        "/batches/1": "Esecuzione 1",
        "/outbox": "Email ai clienti",
    }
    for path, text in pages.items():
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert text in answer.text, path
        assert re.search(r"<title>[^<]*· pecflow</title>", answer.text), path  # a plain title
        assert answer.headers["cache-control"] == "no-store"
    review = client.get(f"/review/{office.review_id}").text
    # The candidate of the same amount is offered; a viewer sees no button.
    assert "LM3454898" in review and "/confirm" not in review
    chart = client.get("/today/chart.png")
    assert chart.headers["content-type"] == "image/png" and chart.content[:4] == b"\x89PNG"


def test_the_ready_orders_come_a_page_at_a_time(
    client: TestClient, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same query as `orders list --ready`, a page at a time after the last code shown."""
    from datetime import datetime

    from sqlalchemy import update

    from pipeline.store.models import Order

    with office.store.unit() as session:  # both paid with their papers: the page only reads
        ready = datetime.fromisoformat(NOW)
        session.execute(update(Order).values(state="processing", ready_at=ready))
    monkeypatch.setattr("web.pages.ITEMS_SHOWN", 1)
    _log_in(client, VIEWER)
    first = client.get("/orders?pronti=1").text
    assert 'href="/orders/LM3385660"' in first and "LM3454898" not in first
    assert "/orders?pronti=1&amp;dopo=LM3385660" in first
    second = client.get("/orders?pronti=1&dopo=LM3385660").text
    assert 'href="/orders/LM3454898"' in second and "LM3385660" not in second
    assert "Nessun ordine trovato" in client.get("/orders?pronti=1&dopo=LM3454898").text
    assert client.get("/orders?pronti=1&dopo=rubbish").text == first


def test_documents_are_images_or_typed_downloads(client: TestClient, office: Office) -> None:
    _log_in(client, VIEWER)
    page = client.get(f"/documents/{office.document_id}/pages/1.png")
    assert page.status_code == 200 and page.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.headers["content-type"] == "image/png"
    assert client.get(f"/documents/{office.document_id}/pages/9.png").status_code == 404
    download = client.get(f"/documents/{office.document_id}/file")
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == (
        f'attachment; filename="documento-{office.document_id}.pdf"'
    )
    assert download.content.startswith(b"%PDF")


def test_confirming_moves_the_order_once_and_mails_once(
    client: TestClient, office: Office, ws_mail: tuple[Workspace, Mailbox]
) -> None:
    _log_in(client, OPERATOR)
    page = client.get(f"/review/{office.review_id}")
    token = _csrf(page.text)
    url = f"/review/{office.review_id}/confirm"
    first = client.post(url, data={"order": "LM3454898", "csrf": token})
    assert first.status_code == 303
    assert "LM3454898" in client.get(first.headers["location"]).text
    second = client.post(url, data={"order": "LM3454898", "csrf": token})
    assert second.status_code == 409 and "Nessuna modifica" in second.text
    story = json.loads(office.ws.cli("orders", "show", "LM3454898", "--json").stdout)
    assert story["state"] == "processing"
    assert any(row["actor"] == "web:anna" for row in story["story"])
    office.ws.cli("run", "--once", "--now", NOW)
    office.ws.cli("run", "--once", "--now", NOW)
    assert len(ws_mail[1].messages) == 1


def test_rejecting_needs_a_reason_and_changes_no_order(client: TestClient, office: Office) -> None:
    _log_in(client, OPERATOR)
    token = _csrf(client.get(f"/review/{office.review_id}").text)
    url = f"/review/{office.review_id}/reject"
    assert client.post(url, data={"why": " ", "csrf": token}).status_code == 409
    assert _review_status(office) == "open"
    assert client.post(url, data={"why": "bonifico di un altro", "csrf": token}).status_code == 303
    assert _review_status(office) == "rejected"
    orders = json.loads(office.ws.cli("orders", "list", "--json").stdout)
    assert {o["code"]: o["state"] for o in orders}["LM3454898"] == "awaiting_payment"


def test_a_form_without_its_csrf_token_changes_nothing(client: TestClient, office: Office) -> None:
    _log_in(client, OPERATOR)
    for token in (None, "forged"):
        data = {"order": "LM3454898", **({"csrf": token} if token else {})}
        answer = client.post(f"/review/{office.review_id}/confirm", data=data)
        assert answer.status_code == 403
    assert _review_status(office) == "open"


def test_a_viewer_reads_but_cannot_act(client: TestClient, office: Office) -> None:
    _log_in(client, VIEWER)
    token = _csrf(client.get("/").text)
    for url, data in (
        (f"/review/{office.review_id}/confirm", {"order": "LM3454898"}),
        (f"/review/{office.review_id}/reject", {"why": "no"}),
        ("/orders/LM3454898/activate", {"user_id": "x"}),
        ("/batches/1/rerun", {"reruns": "0"}),
        ("/outbox/1/retry", {}),
    ):
        answer = client.post(url, data={**data, "csrf": token})
        assert answer.status_code == 403, url
        assert "consultazione" in answer.text
    assert _review_status(office) == "open"
    batches = json.loads(office.ws.cli("batches", "list", "--json").stdout)
    assert all(b["parent"] is None for b in batches)


def test_a_rerun_from_a_stale_page_is_refused(client: TestClient, office: Office) -> None:
    batches = json.loads(office.ws.cli("batches", "list", "--json").stdout)
    run = next(b["id"] for b in batches if b["kind"] == "run")
    _log_in(client, OPERATOR)
    token = _csrf(client.get(f"/batches/{run}").text)
    first = client.post(f"/batches/{run}/rerun", data={"reruns": "0", "csrf": token})
    assert first.status_code == 303
    stale = client.post(f"/batches/{run}/rerun", data={"reruns": "0", "csrf": token})
    assert stale.status_code == 409 and "rerun meanwhile" in stale.text
    batches = json.loads(office.ws.cli("batches", "list", "--json").stdout)
    assert [b["parent"] for b in batches].count(run) == 1


def test_activation_takes_the_password_once_and_never_shows_it(
    client: TestClient, office: Office, ws_mail: tuple[Workspace, Mailbox]
) -> None:
    _log_in(client, OPERATOR)
    token = _csrf(client.get("/").text)
    answer = client.post(
        "/orders/LM3454898/activate",
        data={"user_id": "pec01", "password": "s3cret-Pw", "csrf": token},
    )
    assert answer.status_code == 409  # not ready: no payment, no papers
    assert "s3cret-Pw" not in answer.text


def test_outbox_preview_and_retry(client: TestClient, office: Office) -> None:
    _log_in(client, OPERATOR)
    token = _csrf(client.get(f"/review/{office.review_id}").text)
    client.post(f"/review/{office.review_id}/confirm", data={"order": "LM3454898", "csrf": token})
    office.ws.cli("run", "--once", "--now", NOW)
    mails = json.loads(office.ws.cli("outbox", "list", "--json").stdout)
    assert [m["status"] for m in mails] == ["sent"]
    mail_id = mails[0]["id"]
    shown = client.get(f"/outbox/{mail_id}")
    assert shown.status_code == 200 and "Anteprima" in shown.text and "LM3454898" in shown.text
    retried = client.post(f"/outbox/{mail_id}/retry", data={"csrf": token})
    assert retried.status_code == 409 and "nothing to retry" in retried.text  # sent already


def test_a_disabled_user_is_logged_out_at_once(client: TestClient, office: Office) -> None:
    _log_in(client, OPERATOR)
    assert client.get("/").status_code == 200
    assert office.ws.cli("users", "disable", "anna").exit_code == 0
    assert client.get("/").status_code == 303


def test_orders_are_imported_from_an_uploaded_export(client: TestClient, office: Office) -> None:
    from tests.docgen.orders import make_order, orders_csv

    _log_in(client, OPERATOR)
    token = _csrf(client.get("/orders").text)
    export = orders_csv([make_order("3460001")]).encode()
    done = client.post(
        "/orders/import",
        data={"csrf": token},
        files={"export": ("../../etc/ordini\x07.csv", export, "text/csv")},
    )
    assert done.status_code == 200 and "Nessuna riga scartata" in done.text
    assert "LM3460001" in client.get("/orders?q=LM3460001").text
    batches = json.loads(office.ws.cli("batches", "list", "--json").stdout)
    assert batches[0]["kind"] == "import"
    empty = client.post("/orders/import", data={"csrf": token})
    assert empty.status_code == 409


def test_a_run_started_from_the_console_is_a_batch_of_the_user(
    client: TestClient, office: Office
) -> None:
    _log_in(client, OPERATOR)
    token = _csrf(client.get("/batches").text)
    done = client.post("/batches/run", data={"csrf": token})
    assert done.status_code == 303
    batch_id = int(done.headers["location"].rpartition("/")[2])
    shown = json.loads(office.ws.cli("batches", "show", str(batch_id), "--json").stdout)
    assert shown["kind"] == "run"


def test_today_answers_due_times_and_other_days(client: TestClient) -> None:
    _log_in(client, VIEWER)
    # Friday 20 November 2026, 17:50: the payment is due the next working day (Monday).
    due = client.get("/?arrivo=2026-11-20T17:50")
    assert due.status_code == 200 and "23/11/2026" in due.text
    assert "Il 19/11/2026" in client.get("/?giorno=2026-11-19").text
    chart = client.get("/today/chart.png?giorno=2026-11-19")
    assert chart.content[:4] == b"\x89PNG"


def test_the_mailbox_check_says_when_no_mailbox_is_configured(client: TestClient) -> None:
    _log_in(client, VIEWER)
    answer = client.get("/mailbox")
    assert answer.status_code == 409 and "imap.host is empty" in answer.text
