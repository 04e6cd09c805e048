"""How fast the ops console answers, page by page, on an office's worth of data.

    .venv/bin/python bench/console_bench.py [--orders 5000] [--receipts 60] [--postgres URL]

Builds an installation of its own: `--orders` generated orders imported (as in
import_bench.py), then `--receipts` receipt PDFs in the drop folder, a third naming no order
(each a review item), the rest paying their order, read by a real `pecflow run --once` that
mails an SMTP sink; an operator is added. Then every page of the console is asked for in this
process (the ASGI application, no network), five times after one warm-up, and the median and
the worst are printed against the target (200 ms). Document pages (a PDF drawn to PNG in the
sandbox) and the chart are listed apart: they are images the page loads after it.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from bench.import_bench import make_export
from bench.scratch_database import scratch_database
from tests.docgen.orders import orders_csv
from tests.docgen.receipts import LAYOUTS, default_spec, make_receipt_pdf

NOW = "2026-11-20T10:30:00+01:00"
TARGET_MS = 200.0


class _Discard:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(*args: str, stdin: str | None = None) -> str:
    from typer.testing import CliRunner

    from jobs.cli import app

    done = CliRunner().invoke(app, list(args), input=stdin)
    logging.basicConfig(level=logging.WARNING, force=True)  # its handler wrote to the runner
    if done.exception is not None and not isinstance(done.exception, SystemExit):
        raise done.exception
    if done.exit_code not in (0, 1):
        raise SystemExit(f"pecflow {' '.join(args)}: exit {done.exit_code}\n{done.output}")
    return done.output


def build(work: Path, orders: int, receipts: int) -> None:
    export = make_export(orders)
    (work / "orders.csv").write_text(orders_csv(export), encoding="utf-8")
    started = time.perf_counter()
    _cli("db", "upgrade")
    _cli("orders", "import", str(work / "orders.csv"))
    rng = random.Random(7)  # noqa: S311 (which orders get a receipt)
    for n, order in enumerate(rng.sample(export, receipts)):
        codes = [] if n % 3 == 0 else [f"LM{order.order_id}"]
        layout = LAYOUTS[n % len(LAYOUTS)]
        pdf = make_receipt_pdf(default_spec(codes, Decimal(order.total_amount)), layout)
        (work / "drop" / f"ricevuta-{n}.pdf").write_bytes(pdf)
    _cli("run", "--once", "--now", NOW)
    _cli("users", "add", "anna", "--role", "operator", "--password-stdin", stdin="anna-password-1")
    print(f"built: {orders} orders, {receipts} receipts in {time.perf_counter() - started:.0f} s")


def timed(client: TestClient, path: str, rounds: int = 5) -> tuple[float, float, int]:
    client.get(path)  # warm-up
    times, status = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        status = client.get(path).status_code
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--receipts", type=int, default=60)
    parser.add_argument("--postgres", help="a PostgreSQL server URL, to bench on it instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pecflow-console-bench-"))
    (work / "drop").mkdir()
    sink_port = _free_port()
    sink = Controller(_Discard(), hostname="127.0.0.1", port=sink_port)
    sink.start()
    try:
        with scratch_database(args.postgres, work) as url:
            (work / "pecflow.toml").write_text(
                f'[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
                f'[smtp]\nhost = "127.0.0.1"\nport = {sink_port}\n',
                encoding="utf-8",
            )
            os.environ.update(PECFLOW_CONFIG=str(work / "pecflow.toml"), PECFLOW_DATABASE__URL=url)
            os.chdir(work)
            build(work, args.orders, args.receipts)
            return measure(work)
    finally:
        sink.stop()


def measure(work: Path) -> int:
    from config import load_settings
    from jobs.edges import mail_edges
    from mailer.outbound.writer import MailWriter
    from pipeline.store.db import open_store
    from web.app import Console, create_app

    settings = load_settings(work / "pecflow.toml")
    store = open_store(settings.database_url, renderer=MailWriter())
    clock = datetime.fromisoformat(NOW)
    app = create_app(Console(store, settings, mail_edges(), clock=lambda: clock))
    with TestClient(app, base_url="https://testserver") as client:
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post("/login", data={"name": "anna", "password": "anna-password-1",
                                    "csrf": token.group(1)})  # fmt: skip
        review = client.get("/review").text
        item = re.search(r'href="/review/(\d+)"', review)
        code = re.search(r'href="/orders/(LM\d{7})"', client.get("/outbox").text)
        shown = client.get(f"/review/{item.group(1)}").text if item else ""
        document = re.search(r"/documents/(\d+)/pages", shown)
        pages = ["/", "/review", "/orders?q=rossi", "/orders?pronti=1", "/batches", "/batches/2",
                 "/outbox", "/outbox?stato=sent", "/outbox/1",
                 "/?arrivo=2026-11-20T17:50"]  # fmt: skip
        if item:
            pages.append(f"/review/{item.group(1)}")
        if code:
            pages += [f"/orders/{code.group(1)}", f"/orders?q={code.group(1)}"]
        images = ["/today/chart.png"]
        if document:
            number = document.group(1)
            images += [f"/documents/{number}", f"/documents/{number}/pages/1.png"]
        worst_page = 0.0
        print(f"{'page':44} {'median ms':>10} {'worst ms':>9} status")
        for path in pages:
            median, worst, status = timed(client, path)
            worst_page = max(worst_page, median)
            print(f"{path:44} {median:10.1f} {worst:9.1f} {status}")
        print("images and document pages (loaded after the page):")
        for path in images:
            median, worst, status = timed(client, path)
            print(f"{path:44} {median:10.1f} {worst:9.1f} {status}")
    store.engine.dispose()
    ok = worst_page < TARGET_MS
    verdict = "met" if ok else "MISSED"
    print(f"slowest page (median): {worst_page:.1f} ms, target < {TARGET_MS:.0f} ms: {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
