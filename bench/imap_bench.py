"""IMAP benchmark on a private Dovecot (loopback): `.venv/bin/python bench/imap_bench.py`.

Prints:
- the peak memory (max RSS of the pecflow process and its parser children) while one
  `pecflow run --once` ingests 2,000 new messages with PDF attachments (target < 300 MB);
- the time of a poll over 5,000 already processed messages with none new, and how many
  message bodies it fetched (target < 1 s, none).

It needs Dovecot (`apt-get install dovecot-imapd`) and runs as root like the tests. Every loop
is bounded; the Dovecot instance and the temporary workspace are removed at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from imapclient import IMAPClient  # noqa: E402

from jobs.edges import mail_edges  # noqa: E402
from mailer.outbound.writer import MailWriter  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.docgen.messages import make_email  # noqa: E402
from tests.docgen.orders import make_order, orders_csv  # noqa: E402
from tests.docgen.receipts import LAYOUTS, default_spec, make_receipt_pdf  # noqa: E402
from tests.dovecot import PASSWORD, USER, Dovecot  # noqa: E402

PLAIN, WITH_PDF = 3000, 2000


def append_all(port: int, messages: list[bytes]) -> None:
    when = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    with IMAPClient("127.0.0.1", port=port, ssl=False, timeout=30) as client:
        client.login(USER, PASSWORD)
        for raw in messages:
            client.append("INBOX", raw, msg_time=when)


def _pecflow(env: dict[str, str], *args: str) -> tuple[int, float]:
    """Run the console script; returns its exit code and the peak RSS (MB) of it or any of
    its children, measured by a wrapper process of its own so earlier runs do not count."""
    wrapper = (
        "import resource, subprocess, sys\n"
        "code = subprocess.run(sys.argv[1:], capture_output=True).returncode\n"
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(Path(sys.executable).with_name("pecflow")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
        check=True,
    )
    code, peak_kb = done.stdout.split()
    return int(code), int(peak_kb) / 1024


class _Discard:
    """An SMTP sink: customer e-mails are accepted and dropped, so runs end cleanly."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="pecflow-bench-"))
    dovecot = Dovecot().start()
    smtp_port = free_port()
    sink = Controller(_Discard(), hostname="127.0.0.1", port=smtp_port)
    sink.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
        env.update(
            dovecot.pecflow_env(),
            PECFLOW_CONFIG=str(work / "pecflow.toml"),
            PECFLOW_IMAP__AFTER="flag",
            PECFLOW_SMTP__PORT=str(smtp_port),
        )
        assert _pecflow(env, "init", str(work))[0] == 0
        orders = [make_order(f"35{n:05d}", net="20.00") for n in range(WITH_PDF)]
        (work / "orders.csv").write_text(orders_csv(orders), encoding="utf-8")
        _pecflow(env, "orders", "import", str(work / "orders.csv"))

        started = time.monotonic()
        append_all(
            dovecot.port,
            [
                make_email(sender=f"c{n}@example.it", subject=f"domanda {n}", body="Buongiorno?")
                for n in range(PLAIN)
            ],
        )
        code, _ = _pecflow(env, "run", "--once")
        print(
            f"setup: {PLAIN} plain messages appended and processed in "
            f"{time.monotonic() - started:.0f} s (exit {code})"
        )

        pdfs = [
            make_receipt_pdf(
                default_spec([o.code], Decimal(o.total_amount)), LAYOUTS[n % len(LAYOUTS)]
            )
            for n, o in enumerate(orders)
        ]
        append_all(
            dovecot.port,
            [
                make_email(
                    sender=o.email,
                    subject=f"Pagamento {o.code}",
                    body="In allegato.",
                    attachments=[("contabile.pdf", "application/pdf", pdf)],
                )
                for o, pdf in zip(orders, pdfs, strict=True)
            ],
        )
        started = time.monotonic()
        code, peak_mb = _pecflow(env, "run", "--once")
        elapsed = time.monotonic() - started
        print(
            f"ingest: {WITH_PDF} new messages with a PDF each, fetched, parsed, matched and "
            f"mailed in {elapsed:.0f} s ({WITH_PDF / elapsed:.0f}/s, exit {code}); peak memory "
            f"{peak_mb:.0f} MB (max RSS of the pecflow process or any parser child; "
            "target < 300 MB)"
        )

        os.environ.update(env)
        from config import load_settings
        from mailer.inbound import imap as imap_source
        from pipeline.services.run import Runner
        from pipeline.store.db import open_store

        fetched: list[int] = []
        original = imap_source.ImapMailbox.fetch

        def counting(self: imap_source.ImapMailbox, uids: list[int]):  # type: ignore[no-untyped-def]
            for item in original(self, uids):
                fetched.append(item.uid)
                yield item

        imap_source.ImapMailbox.fetch = counting  # type: ignore[method-assign]
        settings = load_settings(None)
        store = open_store(settings.database_url, renderer=MailWriter())
        runner = Runner(store, settings, datetime.now(UTC), edges=mail_edges())
        runner.start("run")
        times = []
        for _ in range(5):
            started = time.perf_counter()
            runner.take(runner.sources[0])
            times.append(time.perf_counter() - started)
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=30) as client:
            client.login(USER, PASSWORD)
            total = client.select_folder("INBOX", readonly=True)[b"EXISTS"]
        print(
            f"poll: {total} processed messages in the folder, none new: best "
            f"{min(times) * 1000:.0f} ms, worst {max(times) * 1000:.0f} ms over 5 polls "
            f"(connect, login, select, search); bodies fetched: {len(fetched)} "
            "(target < 1 s, none)"
        )
        store.engine.dispose()
    finally:
        sink.stop()
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
