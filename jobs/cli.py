"""The `pecflow` command. Exit codes: 0 ok; 1 the work ran and something in it failed;
2 the command could not start (usage, settings, schema, not found); 3 an internal error."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer

# Each command imports what it uses: a start loads typer and this module, and `pecflow --help`
# or `review list` does not pay for the settings' validators, the parsers or the mail edges.
if TYPE_CHECKING:
    from rich.console import Console

    from config import Settings
    from pipeline.services.run import Progress, RunReport
    from pipeline.store.db import Store

T = TypeVar("T")
log = logging.getLogger("pecflow")
app = typer.Typer(
    help="pecflow: the unattended back office of a PEC reseller.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
orders_app = typer.Typer(help="Orders from the portal export.", no_args_is_help=True)
batches_app = typer.Typer(help="Runs and their per-item outcomes.", no_args_is_help=True)
review_app = typer.Typer(help="What waits for a human decision.", no_args_is_help=True)
outbox_app = typer.Typer(help="Customer e-mails.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
mailbox_app = typer.Typer(help="The amministrazione IMAP mailbox.", no_args_is_help=True)
users_app = typer.Typer(help="Who may log in to the web console.", no_args_is_help=True)
sla_app = typer.Typer(
    help="The business-hour promises: due times and what is late.", no_args_is_help=True
)
for sub, name in (
    (orders_app, "orders"),
    (batches_app, "batches"),
    (review_app, "review"),
    (outbox_app, "outbox"),
    (db_app, "db"),
    (config_app, "config"),
    (mailbox_app, "mailbox"),
    (sla_app, "sla"),
    (users_app, "users"),
):
    app.add_typer(sub, name=name)


@cache
def console(stderr: bool = False) -> Console:
    """Standard output (200 columns when it is not a terminal) or standard error."""
    from rich.console import Console

    return Console(stderr=True) if stderr else Console(width=None if sys.stdout.isatty() else 200)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NowOpt = Annotated[
    str | None,
    typer.Option(
        "--now", envvar="PECFLOW_NOW", help="Set the clock (ISO 8601), for tests/replays."
    ),
]


class UserError(Exception):
    """Stops the command with one line on stderr and exit code 2."""


class _State:
    config: Path | None = None
    settings: Settings | None = None  # the last loaded, for main() to explain an error with


@app.callback()
def _main(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="PECFLOW_CONFIG", help="The TOML settings file."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False,
) -> None:
    from pipeline.private_files import PRIVATE_UMASK

    _State.config = config
    # What pecflow writes is for the service user alone, whatever umask ops start it with.
    os.umask(PRIVATE_UMASK)
    level = logging.DEBUG if verbose else logging.INFO
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler = RichHandler(console=console(stderr=True), show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)


def settings() -> Settings:
    from config import ConfigError, load_settings

    try:
        _State.settings = load_settings(_State.config)
    except ConfigError as exc:
        raise UserError(f"config: {exc}") from None
    return _State.settings


def parse_now(value: str | None, zone: ZoneInfo | None = None, what: str = "--now") -> datetime:
    """An ISO 8601 time (now when empty); without an offset it is refused, or taken in
    `zone` when one is given."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{what}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        if zone is None:
            raise UserError(f"{what}: needs a UTC offset, e.g. 2026-11-20T10:00:00+01:00")
        parsed = parsed.replace(tzinfo=zone)
    return parsed


@contextmanager
def opening(cfg: Settings) -> Iterator[None]:
    """Opening the data folder and the database: what stops it is one line (exit 2), in the
    words of pipeline/services/error_lines.py; an unknown file error stays an internal error."""
    from pipeline.store.db import SchemaOutOfDate

    try:
        yield
    except SchemaOutOfDate as exc:
        raise UserError(str(exc)) from None
    except Exception as exc:
        from pipeline.services.error_lines import error_line

        line = error_line(exc, cfg, connecting=True)
        if line is None and isinstance(exc, OSError):
            raise
        raise UserError(line or f"database: cannot connect ({type(exc).__name__})") from None


@contextmanager
def store(cfg: Settings, dry_run: bool = False) -> Iterator[Store]:
    from mailer.outbound.writer import MailWriter
    from pipeline.private_files import make_private
    from pipeline.store.db import open_store

    with opening(cfg):
        make_private(cfg)
        opened = open_store(cfg.database_url, dry_run=dry_run, renderer=MailWriter())
    try:
        yield opened
    finally:
        opened.close()
        opened.engine.dispose()


def ops_call(use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call a use case; what it refuses is the command's one line."""
    from pipeline.services.errors import NotFound, Refused

    try:
        return use_case(*args, **kwargs)
    except (NotFound, Refused) as exc:
        raise UserError(str(exc)) from None


def emit(
    rows: list[dict[str, Any]] | dict[str, Any],
    as_json: bool,
    title: str = "",
    columns: list[str] | None = None,
) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    from rich.table import Table

    items = rows if isinstance(rows, list) else [rows]
    if not items:
        console().print(f"{title}: none" if title else "none")
        return
    names = columns or list(items[0].keys())
    table = Table(title=title or None, show_lines=False)
    for name in names:
        table.add_column(name, overflow="fold")
    for row in items:
        table.add_row(*("" if row.get(n) is None else str(row.get(n)) for n in names))
    console().print(table)


@contextmanager
def progress_bars() -> Iterator[Progress]:
    """Rich bars per stage on a terminal; elsewhere the log lines tell the progress."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield lambda _stage, _done, _total: None
        return
    from rich.progress import Progress as RichProgress
    from rich.progress import TaskID

    tasks: dict[str, TaskID] = {}
    with RichProgress(console=err, transient=True) as bars:

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


# --- init, config, db -----------------------------------------------------------------------


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write pecflow.toml.")] = Path("."),
    force: Annotated[bool, typer.Option(help="Overwrite an existing pecflow.toml.")] = False,
) -> None:
    """Write a commented pecflow.toml, create the data and drop folders and the database."""
    target = directory / "pecflow.toml"
    if target.exists() and not force:
        typer.echo(f"{target} exists: kept (use --force to overwrite)")
    else:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(__file__).parent.parent / "config" / "pecflow.example.toml", target)
        typer.echo(f"wrote {target}")
    _State.config = _State.config or target
    cfg = settings()
    for folder in (cfg.paths.data_dir, cfg.paths.drop_folder):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    _upgrade(cfg)


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """The effective settings (file + environment), secrets masked."""
    from config import masked_settings

    data = masked_settings(settings())
    if as_json:
        emit(data, True)
        return
    rows = [
        {"key": f"{section}.{key}", "value": value}
        for section, values in data.items()
        for key, value in values.items()
    ]
    emit(rows, False, "settings")


def _upgrade(cfg: Settings) -> None:
    from pipeline.private_files import make_private
    from pipeline.store.db import make_engine, upgrade

    with opening(cfg):
        make_private(cfg)
        engine = make_engine(cfg.database_url)
        try:
            engine.connect().close()
        except Exception:
            engine.dispose()
            raise
    try:
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(
        f"database schema: {before or 'empty'} -> {after}"
        if before != after
        else f"database schema: already at {after}"
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema to this version of pecflow (Alembic migrations)."""
    _upgrade(settings())


# --- orders ---------------------------------------------------------------------------------


@orders_app.command("import")
def orders_import(
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines export of the portal.")],
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import orders; bad rows are reported and skipped; exit 1 when any row was rejected.
    A file that cannot be read as an export at all (not UTF-8, no header) is refused whole,
    nothing imported: one line on stderr saying which row and what to do, exit 2."""
    from pipeline.rules.orders_import import ExportUnreadable
    from pipeline.services.imports import WorkerLost, import_orders

    cfg = settings()
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise UserError(f"{file}: {exc.strerror}") from None
    with store(cfg) as st, progress_bars() as progress:
        try:
            report = import_orders(st, data, file.name, parse_now(now), progress=progress)
        except (ExportUnreadable, WorkerLost) as exc:
            raise UserError(str(exc)) from None
    if as_json:
        emit(
            {
                "batch": report.batch_id,
                "counts": report.counts,
                "errors": [str(e) for e in report.errors],
            },
            True,
        )
    else:
        for error in report.errors:
            typer.echo(f"rejected: {error}", err=True)
        counts = ", ".join(f"{k} {v}" for k, v in report.counts.items()) or "no rows"
        typer.echo(f"batch {report.batch_id}: {counts}")
    if report.errors:
        raise typer.Exit(1)


@orders_app.command("list")
def orders_list(
    state: Annotated[str | None, typer.Option(help="Only orders in this state.")] = None,
    ready: Annotated[
        bool, typer.Option("--ready", help="Only orders ready for activation.")
    ] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Orders on a page (50).")] = None,
    after: Annotated[
        str | None, typer.Option(help="The page after this order (LM1234567).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Orders with their state (and the label the portal shows), in code order, a page at a
    time: the line under a full page says how to ask for the next."""
    from pipeline.services import queries as views

    page = limit or views.ORDERS_PAGE
    after_id = None
    if after:
        from pipeline.services import ops

        after_id = ops_call(ops.parsed_code, after)
    with store(settings()) as st:
        rows = views.read(st, views.list_orders, state, ready=ready, after=after_id, limit=page)
    emit(
        rows,
        as_json,
        "orders",
        ["code", "type", "customer", "payment_method", "total", "state", "label"],
    )
    if len(rows) == page and not as_json:
        typer.echo(f"next page: --after {rows[-1]['code']}")


@orders_app.command("show")
def orders_show(
    code: Annotated[str, typer.Argument(help="LM1234567")], as_json: JsonOpt = False
) -> None:
    """One order and its whole story: events, payments, documents, e-mails."""
    from pipeline.services import ops

    with store(settings()) as st:
        story = ops_call(ops.order_story, st, code)
    if as_json:
        emit(story, True)
        return
    events = story.pop("story")
    emit([{"field": k, "value": v} for k, v in story.items()], False, code.upper())
    emit(events, False, "story")


@orders_app.command("activate")
def orders_activate(
    code: Annotated[str, typer.Argument(help="LM1234567")],
    user_id: Annotated[
        str | None,
        typer.Option("--user-id", help="The user-id the provider gave the new mailbox."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the mailbox's password from standard input (never as an argument), to "
            "send it to the customer; without it the provider sends it.",
        ),
    ] = False,
    now: NowOpt = None,
    by: Annotated[str, typer.Option("--by", envvar="USER", help="Who activates.")] = "ops",
) -> None:
    """Activate a ready order: the activation e-mail (and the password's) go out at once, the
    order becomes fulfilled. With `fulfilment.provisioner = "local"` pecflow makes the user-id
    and password itself (and activates ready orders on its own in every run)."""
    from jobs.edges import mail_edges
    from pipeline.services import ops

    cfg = settings()
    password = sys.stdin.readline().strip() if password_stdin else None
    if password_stdin and not password:
        raise UserError("--password-stdin: standard input held no password")
    provisioner = ops_call(ops.activation_provisioner, cfg, user_id, password)
    with store(cfg) as st:
        done = ops_call(
            ops.activate_order,
            st,
            cfg,
            mail_edges(),
            code,
            provisioner,
            user_id=user_id,
            actor=f"ops:{by}",
            now=parse_now(now, cfg.zone),
        )
    if done.already:
        typer.echo(f"{done.code} is already activated (user-id {done.user_id})")
        return
    typer.echo(f"{done.code}: activated, user-id {done.user_id}; fulfilled")
    if done.mail_failed:
        typer.echo("the activation e-mails are queued: see `pecflow outbox list`", err=True)
        raise typer.Exit(1)


# --- run and batches ------------------------------------------------------------------------


# A catch-up batch holds thousands of messages: the terminal shows the first rows of each table
# and the counts; `batches show` and `run --json` have them all.
RUN_ROWS = 50


def _print_report(st: Store, report: RunReport, as_json: bool) -> None:
    from pipeline.services import queries as views

    rows = views.read(st, views.run_rows, report.batch_id, report.message_ids)
    messages, items, orders = rows["messages"], rows["items"], rows["orders"]
    data = {
        "batch": report.batch_id,
        "status": report.status,
        "dry_run": report.dry_run,
        "counts": report.counts,
        "messages": messages,
        "orders": orders,
        "items": items,
    }
    if as_json:
        emit(data, True)
        return
    emails = [i for i in items if i["type"] == "email"]
    tables = (
        (messages, "messages", ["id", "ref", "received_at", "outcome", "reason"]),
        (orders, "orders touched", ["code", "customer", "total", "state", "label"]),
        (emails, "e-mails", ["ref", "outcome", "detail"]),
    )
    for shown, title, columns in tables:
        batch = f" (batch {report.batch_id})" if title == "messages" else ""
        emit(shown[:RUN_ROWS], False, title + batch, columns)
        if len(shown) > RUN_ROWS:
            typer.echo(
                f"... and {len(shown) - RUN_ROWS} more {title.split()[0]}: "
                f"pecflow batches show {report.batch_id}"
            )
    dry = " (dry run: nothing was kept)" if report.dry_run else ""
    counts = ", ".join(f"{k} {v}" for k, v in report.counts.items()) or "nothing to do"
    typer.echo(f"batch {report.batch_id} {report.status}: {counts}{dry}")


@app.command()
def run(
    once: Annotated[
        bool, typer.Option("--once", help="One pass over the sources, then exit.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would happen; keep nothing.")
    ] = False,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Poll the drop folder, process what arrived, send the outbox; exit 1 if any item failed."""
    from jobs.edges import mail_edges
    from pipeline.services import ops

    if not once:
        raise UserError("only `run --once` exists for now; the scheduler runs it periodically")
    cfg = settings()
    with store(cfg, dry_run) as st:
        with progress_bars() as progress:
            report = ops.run_now(
                st, cfg, mail_edges(), actor="system", now=parse_now(now), progress=progress
            )
        _print_report(st, report, as_json)
    if report.status != "succeeded":
        raise typer.Exit(1)


@batches_app.command("list")
def batches_list(as_json: JsonOpt = False) -> None:
    """The latest batches, newest first."""
    from pipeline.services import queries as views

    with store(settings()) as st:
        emit(views.read(st, views.list_batches), as_json, "batches")


@batches_app.command("show")
def batches_show(batch_id: int, as_json: JsonOpt = False) -> None:
    """One batch and the outcome of each of its items."""
    from pipeline.services import queries as views

    with store(settings()) as st:
        batch = views.read(st, views.batch_detail, batch_id)
    if batch is None:
        raise UserError(f"no batch {batch_id}")
    if as_json:
        emit(batch, True)
        return
    items = batch.pop("items")
    emit(batch, False, f"batch {batch_id}")
    emit(items, False, "items")


@batches_app.command("rerun")
def batches_rerun(
    batch_id: int,
    failed_only: Annotated[
        bool, typer.Option("--failed-only", help="Only the failed items.")
    ] = False,
    now: NowOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Retry what a batch left failed or unfinished, as a new batch linked to it."""
    from jobs.edges import mail_edges
    from pipeline.services import ops

    cfg = settings()
    with store(cfg) as st:
        with progress_bars() as progress:
            report = ops_call(
                ops.rerun_batch, st, cfg, mail_edges(), batch_id,
                failed_only=failed_only, actor="ops", now=parse_now(now), progress=progress,
            )  # fmt: skip
        _print_report(st, report, as_json)
    if report.status != "succeeded":
        raise typer.Exit(1)


# --- review and outbox ----------------------------------------------------------------------


@review_app.command("list")
def review_list(
    all_items: Annotated[bool, typer.Option("--all", help="Include resolved items.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Items waiting for a human, oldest first."""
    from pipeline.services import queries as views

    with store(settings()) as st:
        emit(
            views.read(st, views.list_reviews, all_items),
            as_json,
            "review",
            ["id", "reason", "status", "proposed_order", "detail", "created_at"],
        )


@review_app.command("show")
def review_show(item_id: int, as_json: JsonOpt = False) -> None:
    """One review item with the message, payment facts and document behind it."""
    from pipeline.services import ops

    with store(settings()) as st:
        detail = ops_call(ops.review_detail, st, item_id)
    if as_json:
        emit(detail, True)
        return
    emit([{"field": k, "value": v} for k, v in detail.items()], False, f"review item {item_id}")


@review_app.command("resolve")
def review_resolve(
    item_id: int,
    order: Annotated[
        list[str] | None,
        typer.Option("--order", help="LM… the item is about (repeat for a payment of several)."),
    ] = None,
    reject_why: Annotated[
        str | None, typer.Option("--reject", help="Close with no effect, giving the reason.")
    ] = None,
    by: Annotated[str, typer.Option("--by", envvar="USER", help="Who decides.")] = "ops",
    now: NowOpt = None,
) -> None:
    """Decide an item: --order confirms its payment (or attaches its document), as a match would."""
    from pipeline.services import ops

    cfg = settings()
    with store(cfg) as st:
        outcome = ops_call(
            ops.decide_review,
            st,
            cfg,
            item_id,
            orders=order or [],
            reject_why=reject_why,
            actor=f"ops:{by}",
            now=parse_now(now),
        )
    typer.echo(f"review item {item_id}: {outcome}")
    if order:
        typer.echo("customer e-mails, if any, go out with the next `pecflow run --once`")


@outbox_app.command("list")
def outbox_list(
    status: Annotated[str | None, typer.Option(help="pending, sent or failed.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Customer e-mails and whether they were sent."""
    from pipeline.services import queries as views

    with store(settings()) as st:
        emit(
            views.read(st, views.list_outbox, status),
            as_json,
            "outbox",
            ["id", "kind", "order", "to", "status", "attempts", "sent_at", "last_error"],
        )


@outbox_app.command("show")
def outbox_show(outbox_id: int, as_json: JsonOpt = False) -> None:
    """One e-mail: status, headers, attachments and its plain text."""
    from pipeline.services import ops

    with store(settings()) as st:
        detail = ops_call(ops.outbox_detail, st, outbox_id)
    if as_json:
        emit(detail, True)
        return
    text = detail.pop("text")
    detail["attachments"] = ", ".join(
        f"{a['filename']} ({a['type']}, {a['bytes']} bytes)" for a in detail["attachments"]
    )
    emit([{"field": k, "value": v} for k, v in detail.items()], False, f"e-mail {outbox_id}")
    console().print(text, markup=False, highlight=False)


@outbox_app.command("preview")
def outbox_preview(
    outbox_id: int,
    eml: Annotated[
        Path | None, typer.Option("--eml", help="Write the whole message to this .eml file.")
    ] = None,
) -> None:
    """The e-mail exactly as it would be sent (MIME, attachments), on the terminal or as .eml."""
    from jobs.edges import mail_edges
    from pipeline.services import ops

    cfg = settings()
    with store(cfg) as st:
        message = ops_call(ops.outbox_message, st, cfg, mail_edges(), outbox_id, datetime.now(UTC))
    if eml is None:
        typer.echo(message.as_string())
        return
    eml.write_bytes(message.as_bytes())
    typer.echo(f"{eml}: {len(message.as_bytes())} bytes")


@outbox_app.command("retry")
def outbox_retry(outbox_id: int) -> None:
    """Make an unsent (failed, unsure or waiting) e-mail due now; the next run sends it."""
    from pipeline.services import ops

    with store(settings()) as st:
        ops_call(ops.retry_email, st, outbox_id)
    typer.echo(f"e-mail {outbox_id} is due: the next `pecflow run --once` sends it")


@mailbox_app.command("check")
def mailbox_check(as_json: JsonOpt = False) -> None:
    """Connect and show the folder, its UIDVALIDITY, how many messages and how many are new;
    the login method, and the server's capabilities that matter with what pecflow does
    without each."""
    from jobs.edges import mail_edges
    from pipeline.services import ops

    cfg = settings()
    with store(cfg) as st:
        row = ops_call(ops.check_mailbox, st, cfg, mail_edges())
    if as_json:
        emit(row, as_json)
        return
    emit({k: v for k, v in row.items() if k != "capabilities"}, as_json, "mailbox")
    emit(row["capabilities"], as_json, "capabilities")


@mailbox_app.command("login")
def mailbox_login(
    refresh_token_stdin: Annotated[
        bool,
        typer.Option(
            "--refresh-token-stdin", help="Google: read the consent's refresh token from stdin."
        ),
    ] = False,
) -> None:
    """Give pecflow the mailbox's OAuth2 consent once (Microsoft: a device code to enter in a
    browser, signed in as the mailbox; Google: the refresh token on stdin). App-only
    credentials need none: this then checks that a token can be had."""
    from mailer.oauth2 import OAuth2Error, mailbox_login

    cfg = settings()
    logins = [login for login in (cfg.imap, cfg.smtp) if login.auth == "oauth2"]
    if not logins:
        raise UserError('neither imap.auth nor smtp.auth is "oauth2": there is nothing to log in')
    refresh_token = sys.stdin.readline().strip() if refresh_token_stdin else None
    try:
        done = mailbox_login(cfg.oauth2, logins[0].username, typer.echo, refresh_token)
    except OAuth2Error as exc:
        raise UserError(str(exc)) from None
    typer.echo(done)


# --- scheduler, report ------------------------------------------------------------------------


@app.command()
def scheduler() -> None:
    """Run the jobs unattended (poll, confirm, send, SLA watchdog, report, purge) until SIGTERM.
    Exit 2 when another scheduler already runs on the same database."""
    from jobs.scheduler import LockLost, serve
    from pipeline.store.single_instance import AlreadyRunning

    cfg = settings()
    with store(cfg) as st:
        try:
            serve(st, cfg)
        except AlreadyRunning as exc:
            raise UserError(str(exc)) from None
        except LockLost as exc:
            typer.echo(f"pecflow: {exc}", err=True)
            raise typer.Exit(1) from None


@app.command()
def report(
    day: Annotated[
        str | None, typer.Option("--date", help="The day (YYYY-MM-DD); default: yesterday.")
    ] = None,
    now: NowOpt = None,
) -> None:
    """Make the nightly report of a day by hand: HTML, CSV and chart files, and its e-mail to
    ops (queued once per day; the next run or the scheduler sends it)."""
    from pipeline.services.report import (  # its charts cost a second to import
        make_report,
        yesterday,
    )

    cfg = settings()
    moment = parse_now(now)
    try:
        when = date.fromisoformat(day) if day else yesterday(cfg, moment)
    except ValueError:
        raise UserError(f"--date: not a date (YYYY-MM-DD): {day!r}") from None
    with store(cfg) as st:
        files = make_report(st, cfg, when, moment)
    typer.echo(f"{files.html}\n{files.csv}\n{files.chart}")
    if files.emailed_to:
        typer.echo(f"e-mail to {files.emailed_to} queued")


@app.command()
def purge(now: NowOpt = None) -> None:
    """Apply retention now (the scheduler does it nightly): old archived bytes, old reports."""
    from jobs.edges import mail_edges
    from pipeline.services.scheduled import Jobs

    cfg = settings()
    moment = parse_now(now)
    with store(cfg) as st:
        Jobs(st, cfg, lambda: moment, mail_edges()).purge()


# --- sla --------------------------------------------------------------------------------------

TimeArg = Annotated[
    str, typer.Argument(help="Arrival, ISO 8601; without an offset, the office's local time.")
]


@sla_app.command("payment-due")
def sla_payment_due(time: TimeArg, as_json: JsonOpt = False) -> None:
    """When a receipt arriving at TIME is due (and, with --json, from when it may be confirmed)."""
    from pipeline.rules.promises import due_times

    cfg = settings()
    due = due_times(cfg, parse_now(time, cfg.zone, "TIME"))
    if as_json:
        emit(
            {"not_before": due.not_before.isoformat(), "due_by": due.payment_due.isoformat()}, True
        )
    else:
        typer.echo(due.payment_due.isoformat())


@sla_app.command("documents-due")
def sla_documents_due(time: TimeArg, as_json: JsonOpt = False) -> None:
    """When an order whose documents were complete at TIME must be fulfilled (72 working
    hours by default; --json adds the warning time)."""
    from pipeline.rules.promises import due_times

    cfg = settings()
    due = due_times(cfg, parse_now(time, cfg.zone, "TIME"))
    if as_json:
        emit(
            {"warning": due.documents_warning.isoformat(), "due_by": due.documents_due.isoformat()},
            True,
        )
    else:
        typer.echo(due.documents_due.isoformat())


@sla_app.command("late")
def sla_late(now: NowOpt = None, as_json: JsonOpt = False) -> None:
    """Payments and documents late or at risk; exit 1 when anything is late."""
    from pipeline.rules.promises import LATE
    from pipeline.services import queries as views
    from pipeline.sla import sla_items

    cfg = settings()
    with store(cfg) as st:
        items = views.read(st, sla_items, cfg, parse_now(now))
    rows = [
        {
            "kind": i.kind,
            "ref": i.ref,
            "status": i.status,
            "due_by": i.due_by.astimezone(cfg.zone).isoformat(),
            "detail": i.detail,
        }
        for i in items
    ]
    emit(rows, as_json, "late or at risk")
    if any(i.status == LATE for i in items):
        raise typer.Exit(1)


# --- the web console and its users -----------------------------------------------------------

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (scripts)."),
]


def _new_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="viewer (reads) or operator (also acts).")] = "viewer",
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a console user; the password is asked twice (never an argument)."""
    from pipeline.services.users import add_user

    cfg = settings()
    password = _new_password(password_stdin)
    with store(cfg) as st:
        user = ops_call(add_user, st, name, password, role, datetime.now(UTC))
    typer.echo(f"user {user.name} added ({user.role})")


@users_app.command("list")
def users_list(as_json: JsonOpt = False) -> None:
    """The console's users, their roles and whether they may log in."""
    from pipeline.services.users import list_users

    with store(settings()) as st:
        rows = [{"name": u.name, "role": u.role, "active": u.active} for u in list_users(st)]
    emit(rows, as_json, "users")


@users_app.command("disable")
def users_disable(name: str) -> None:
    """The user can no longer log in; their open sessions end at once."""
    from pipeline.services.users import disable_user

    with store(settings()) as st:
        ops_call(disable_user, st, name, datetime.now(UTC))
    typer.echo(f"user {name} disabled")


@users_app.command("passwd")
def users_passwd(name: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password (and enable the user again); their other sessions end."""
    from pipeline.services.users import set_password

    cfg = settings()
    password = _new_password(password_stdin)
    with store(cfg) as st:
        ops_call(set_password, st, name, password, datetime.now(UTC))
    typer.echo(f"password of {name} changed")


@app.command()
def web(
    bind: Annotated[
        str | None, typer.Option(help="host:port to listen on (default: web.bind).")
    ] = None,
) -> None:
    """Serve the ops console (uvicorn), behind a reverse proxy that terminates TLS."""
    import uvicorn

    from jobs.edges import mail_edges
    from web.app import Console, create_app

    cfg = settings()
    host, _, port = (bind or cfg.web.bind).rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--bind: not host:port: {bind!r}")
    with store(cfg) as st:
        application = create_app(Console(st, cfg, mail_edges()))
        uvicorn.run(
            application,
            host=host.strip("[]"),
            port=int(port),
            proxy_headers=True,
            forwarded_allow_ips=cfg.web.trusted_proxies,
            server_header=False,
            log_level="info",
        )


def main() -> None:
    try:
        app()
    except UserError as exc:
        typer.echo(f"pecflow: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("pecflow: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        from pipeline.services.error_lines import error_line

        line = error_line(exc, _State.settings)  # a full disk, a data folder gone read-only…
        if line is not None:
            log.debug("%s", line, exc_info=True)
            typer.echo(f"pecflow: {line}", err=True)
            sys.exit(2)
        log.debug("internal error", exc_info=True)
        typer.echo(
            f"pecflow: internal error: {type(exc).__name__} (run with -v for details)", err=True
        )
        sys.exit(3)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
