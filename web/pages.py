"""The console's pages: each reads the request, calls one use case, renders the answer."""

from __future__ import annotations

import logging
from datetime import date, datetime

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.rules.statuses import OutboxStatus, Role
from pipeline.services import documents, ops
from pipeline.services import queries as q
from pipeline.services.errors import NotFound, Refused
from pipeline.services.users import log_in
from web import guard
from web.app import Call, Console, page
from web.italian import word

log = logging.getLogger(__name__)
OPERATOR = Role.OPERATOR
ITEMS_SHOWN = 200  # a batch's items on one page


# --- log in and out ---------------------------------------------------------------------------


def _next_url(value: str | None) -> str:
    """Only a path of this site: never an address elsewhere (`//evil`, `https://…`)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


async def login(request: Request) -> Response:
    console: Console = request.app.state.console
    target = _next_url(request.query_params.get("next"))

    def answer(error: str | None = None, status: int = 200) -> Response:
        context: dict[str, object] = {"user": None, "flashes": [], "next": target}
        context.update(error=error, csrf=guard.csrf_token(request))
        return console.templates.TemplateResponse(request, "login.html", context, status)

    if request.method == "GET":
        return answer()
    form = await request.form()
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    if not guard.csrf_ok(request, form.get("csrf")):
        return answer("Modulo scaduto: riprova.", 403)
    client = request.client.host if request.client else "?"
    keys = [f"name:{name.strip().lower()}", f"addr:{client}"]
    wait = console.throttle.wait_seconds(keys)
    if wait:
        return answer(
            f"Troppi tentativi falliti: riprova tra {max(1, round(wait / 60))} minuti.", 429
        )
    user = await run_in_threadpool(log_in, console.store, name, password)
    if user is None:
        console.throttle.failed(keys)
        # Not the name typed: it may be a password typed in the wrong field.
        log.warning("console: a failed log in from %s", client)
        return answer("Nome o password non validi, o utente disattivato.", 401)
    console.throttle.succeeded(keys[:1])
    log.info("console: %s logged in from %s", user.name, client)
    guard.start_session(request, user)
    return RedirectResponse(target, status_code=303)


@page()
def logout(call: Call) -> Response:
    call.request.session.clear()
    return RedirectResponse("/login", status_code=303)


# --- today ------------------------------------------------------------------------------------


def _day(call: Call) -> date | None:
    """The day asked for (?giorno=YYYY-MM-DD), or None for today."""
    try:
        return date.fromisoformat(call.request.query_params.get("giorno", ""))
    except ValueError:
        return None


def _arrival(call: Call) -> datetime | None:
    """The arrival time asked for (?arrivo=…, the office's local time), or None."""
    try:
        moment = datetime.fromisoformat(call.request.query_params.get("arrivo", ""))
    except ValueError:
        return None
    zone = call.console.settings.zone
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


@page()
def today(call: Call) -> Response:
    from pipeline.rules.promises import due_times
    from pipeline.services.report import figures
    from pipeline.sla import sla_items

    store, settings, now, day = call.console.store, call.console.settings, call.now, _day(call)
    late = q.read(store, sla_items, settings, now)
    arrival = _arrival(call)
    return call.page(
        "today.html",
        late=late,
        counts=figures(store, settings, day, now),
        day=day,
        arrival=arrival,
        due=due_times(settings, arrival) if arrival else None,
    )


@page()
def today_chart(call: Call) -> Response:
    from pipeline.services.report import figures_chart

    console = call.console
    png = figures_chart(console.store, console.settings, _day(call), call.now)
    return Response(png, media_type="image/png")


@page()
def mailbox(call: Call) -> Response:
    console = call.console
    return call.page(
        "mailbox.html", box=ops.check_mailbox(console.store, console.settings, console.edges)
    )


# --- review -----------------------------------------------------------------------------------


@page()
def review_list(call: Call) -> Response:
    closed = call.request.query_params.get("tutti") == "1"
    console = call.console
    items = q.read(console.store, q.review_queue, console.settings, call.now, closed)
    return call.page("review_list.html", items=items, closed=closed)


@page()
def review_item(call: Call) -> Response:
    item_id = int(call.request.path_params["item_id"])
    item = ops.review_detail(call.console.store, item_id)
    return call.page("review_item.html", item=item)


@page(OPERATOR)
def review_confirm(call: Call) -> Response:
    item_id = int(call.request.path_params["item_id"])
    code = call.form.get("order", "").strip()
    if not code:
        raise Refused("scegli l'ordine")
    outcome = ops.decide_review(
        call.console.store, call.console.settings, item_id,
        orders=[code], reject_why=None, actor=call.actor, now=call.now,
    )  # fmt: skip
    return call.done(f"/review/{item_id}", f"Elemento {item_id}: {outcome} per {code.upper()}.")


@page(OPERATOR)
def review_reject(call: Call) -> Response:
    item_id = int(call.request.path_params["item_id"])
    why = call.form.get("why", "").strip()
    if not why:
        raise Refused("scrivi il motivo del rifiuto")
    ops.decide_review(
        call.console.store, call.console.settings, item_id,
        orders=[], reject_why=why, actor=call.actor, now=call.now,
    )  # fmt: skip
    return call.done(f"/review/{item_id}", f"Elemento {item_id} respinto.")


# --- documents --------------------------------------------------------------------------------


@page()
def document(call: Call) -> Response:
    document_id = int(call.request.path_params["document_id"])
    shown = documents.document_view(call.console.store, document_id)
    return call.page("document.html", document=shown)


@page()
def document_page(call: Call) -> Response:
    console = call.console
    document_id = int(call.request.path_params["document_id"])
    number = int(call.request.path_params["page"])
    assert console.sandbox is not None, "the sandbox starts with the application"
    png = documents.page_png(console.store, console.settings, console.sandbox, document_id, number)
    headers = {"content-disposition": f'inline; filename="documento-{document_id}-{number}.png"'}
    return Response(png, media_type="image/png", headers=headers)


@page()
def document_file(call: Call) -> Response:
    document_id = int(call.request.path_params["document_id"])
    stored = documents.document_file(call.console.store, call.console.settings, document_id)
    headers = {"content-disposition": f'attachment; filename="{stored.name}"'}
    return Response(stored.data, media_type=stored.media_type, headers=headers)


# --- orders -----------------------------------------------------------------------------------


@page()
def orders(call: Call) -> Response:
    text = call.request.query_params.get("q", "")
    ready = call.request.query_params.get("pronti") == "1"
    after = _order_after(call.request.query_params.get("dopo")) if ready else None
    store = call.console.store
    if ready:  # a page of them, in code order
        found = q.read(store, q.list_orders, ready=True, after=after, limit=ITEMS_SHOWN)
    else:
        found = q.read(store, q.search_orders, text)
    more = ready and len(found) == ITEMS_SHOWN
    return call.page("orders.html", orders=found, q=text, ready=ready, after=after, more=more)


def _order_after(code: str | None) -> int | None:
    """The order a page of orders starts after (?dopo=LM1234567), or None: the first page."""
    try:
        return ops.parsed_code(code) if code else None
    except Refused:
        return None


@page()
def order(call: Call) -> Response:
    code = call.request.path_params["code"]
    story = ops.order_story(call.console.store, code)
    manual = call.console.settings.fulfilment.provisioner == "manual"
    return call.page("order.html", order=story, manual=manual)


@page(OPERATOR)
def orders_import(call: Call) -> Response:
    from pipeline.rules.orders_import import ExportUnreadable
    from pipeline.services.imports import import_orders

    upload = call.upload
    if upload is None or not upload[1]:
        raise Refused("scegli il file esportato dal portale (CSV o JSON Lines)")
    name, data = upload
    try:
        # In this process: a web server's threads and forked workers do not mix.
        report = import_orders(call.console.store, data, name, call.now, call.actor, workers=1)
    except ExportUnreadable as exc:
        raise Refused(str(exc)) from None
    return call.page("imported.html", report=report, errors=[str(e) for e in report.errors[:100]])


@page(OPERATOR)
def order_activate(call: Call) -> Response:
    console, code = call.console, call.request.path_params["code"]
    user_id = call.form.get("user_id", "").strip() or None
    password = call.form.get("password") or None
    provisioner = ops.activation_provisioner(console.settings, user_id, password)
    done = ops.activate_order(
        console.store, console.settings, console.edges, code, provisioner,
        user_id=user_id, actor=call.actor, now=call.now,
    )  # fmt: skip
    if done.already:
        raise Refused(f"{done.code} è già attivato (user-id {done.user_id})")
    note = " Le e-mail sono in coda: vedi Email." if done.mail_failed else ""
    return call.done(f"/orders/{done.code}", f"{done.code} attivato, user-id {done.user_id}.{note}")


# --- batches ----------------------------------------------------------------------------------


@page()
def batches(call: Call) -> Response:
    return call.page("batches.html", batches=q.read(call.console.store, q.list_batches))


@page()
def batch(call: Call) -> Response:
    batch_id = int(call.request.path_params["batch_id"])
    at = _number(call.request.query_params.get("da"))
    shown = q.read(call.console.store, q.batch_detail, batch_id, ITEMS_SHOWN, at)
    if shown is None:
        raise NotFound(f"no batch {batch_id}")
    return call.page("batch.html", batch=shown, at=at, shown=ITEMS_SHOWN)


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@page(OPERATOR)
def batches_run(call: Call) -> Response:
    console = call.console
    report = ops.run_now(
        console.store, console.settings, console.edges, actor=call.actor, now=call.now
    )
    return call.done(
        f"/batches/{report.batch_id}", f"Esecuzione {report.batch_id}: {word(report.status)}."
    )


@page(OPERATOR)
def batch_rerun(call: Call) -> Response:
    console = call.console
    batch_id = int(call.request.path_params["batch_id"])
    seen = call.form.get("reruns", "")
    report = ops.rerun_batch(
        console.store, console.settings, console.edges, batch_id,
        failed_only=True, actor=call.actor, now=call.now,
        reruns_seen=int(seen) if seen.isdigit() else None,
    )  # fmt: skip
    return call.done(
        f"/batches/{report.batch_id}",
        f"Ripetuti i falliti dell'esecuzione {batch_id}: esecuzione {report.batch_id}, "
        f"{report.status}.",
    )


# --- outbox -----------------------------------------------------------------------------------


@page()
def outbox(call: Call) -> Response:
    status = call.request.query_params.get("stato") or None
    if status not in (None, *OutboxStatus):
        status = None
    rows = q.read(call.console.store, q.list_outbox, status, newest=ITEMS_SHOWN)
    return call.page("outbox.html", mails=rows, shown=status, statuses=list(OutboxStatus))


@page()
def outbox_item(call: Call) -> Response:
    console = call.console
    outbox_id = int(call.request.path_params["outbox_id"])
    detail = ops.outbox_detail(console.store, outbox_id)
    preview = ops.outbox_preview(
        console.store, console.settings, console.edges, outbox_id, call.now
    )
    return call.page("outbox_item.html", mail=detail, preview=preview)


@page(OPERATOR)
def outbox_retry(call: Call) -> Response:
    outbox_id = int(call.request.path_params["outbox_id"])
    ops.retry_email(call.console.store, outbox_id)
    again = f"E-mail {outbox_id} di nuovo in coda: parte con la prossima esecuzione."
    return call.done(f"/outbox/{outbox_id}", again)


ROUTES = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/", today),
    Route("/today/chart.png", today_chart),
    Route("/mailbox", mailbox),
    Route("/review", review_list),
    Route("/review/{item_id:int}", review_item),
    Route("/review/{item_id:int}/confirm", review_confirm, methods=["POST"]),
    Route("/review/{item_id:int}/reject", review_reject, methods=["POST"]),
    Route("/documents/{document_id:int}", document),
    Route("/documents/{document_id:int}/pages/{page:int}.png", document_page),
    Route("/documents/{document_id:int}/file", document_file),
    Route("/orders", orders),
    Route("/orders/import", orders_import, methods=["POST"]),
    Route("/orders/{code}", order),
    Route("/orders/{code}/activate", order_activate, methods=["POST"]),
    Route("/batches", batches),
    Route("/batches/run", batches_run, methods=["POST"]),
    Route("/batches/{batch_id:int}", batch),
    Route("/batches/{batch_id:int}/rerun", batch_rerun, methods=["POST"]),
    Route("/outbox", outbox),
    Route("/outbox/{outbox_id:int}", outbox_item),
    Route("/outbox/{outbox_id:int}/retry", outbox_retry, methods=["POST"]),
]
