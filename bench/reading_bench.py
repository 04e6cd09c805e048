"""How right pecflow's reading and matching are, over the whole generated set.

    .venv/bin/python bench/reading_bench.py [--quick] [--postgres URL]

The set (tests/docgen/evaluation.py): every kind of mail the amministrazione mailbox gets, as
text PDFs, scans, phone photos and whole e-mails, each case with orders of its own. They go
through a real `pecflow orders import` and `pecflow run --once` (SQLite by default; with
`--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres`, on a database of its own
created on that server and dropped after), with a throw-away SMTP server on loopback
and the test CA as the signatures' trust root; each case's outcome is compared with the one it
should have. Prints a table of right/total per group and form, the targets of issue 11, every
payment confirmed wrongly (there must be none), every miss, and how long the run took. Needs
the dev extras (aiosmtpd).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch_database import scratch_database
from pipeline.store.db import make_engine
from tests.conftest import free_port
from tests.docgen.evaluation import FULL, QUICK, Scorecard, build, judge
from tests.docgen.orders import orders_csv
from tests.docgen.signatures import root_pem

PECFLOW = Path(sys.executable).with_name("pecflow")
NOW = "2026-11-20T10:30:00+01:00"
TEXT = ("receipt", "english", "statement")  # the receipts of the text-receipt target
SCANNED = ("receipt", "english", "statement", "bollettino")


def targets(card: Scorecard) -> list[str]:
    return [
        f"text receipts (statements included) confirmed: {card.share(TEXT, ('text',)):.1%}"
        " (target 98 %)",
        "scans and photos (bollettini included) confirmed: "
        f"{card.share(SCANNED, ('scan', 'photo')):.1%} (target 92 %)",
        f"adversarial in review: {card.share(('adversarial',)):.1%} (target 100 %)",
        f"bundled, each part filed: {card.share(('bundled',)):.1%}",
        f"identity photos recognised with expiry: {card.share(('identity',)):.1%} (target 90 %)",
        f"signed contracts filed with their verdict: {card.share(('signed',)):.1%}",
        f"noise ignored, quiet: {card.share(('noise',)):.1%} (target 100 %); decorated mail "
        f"decided on its documents: {card.share(('decorated',)):.1%}",
        f"wrong confirmations: {len(card.wrong_confirmations)} (target 0)",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the test suite's smaller set")
    parser.add_argument("--postgres", help="a PostgreSQL server's URL to run on, not SQLite")
    args = parser.parse_args()
    started = time.monotonic()
    evaluation = build(QUICK if args.quick else FULL)
    print(f"generated {len(evaluation.cases)} cases in {time.monotonic() - started:.0f} s")
    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            scratch_database(args.postgres, Path(folder)) as url,
        ):
            root = Path(folder)
            (root / "drop").mkdir()
            (root / "roots.pem").write_bytes(root_pem())
            config = root / "pecflow.toml"
            config.write_text(
                f'[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
                f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n'
                f'[signatures]\ntrust_roots = "roots.pem"\n',
                encoding="utf-8",
            )
            env = {**os.environ, "PECFLOW_CONFIG": str(config), "PECFLOW_DATABASE__URL": url}

            def pecflow(*command: str) -> None:
                subprocess.run([str(PECFLOW), *command], env=env, check=False, capture_output=True)

            pecflow("db", "upgrade")
            (root / "orders.csv").write_text(orders_csv(evaluation.orders), encoding="utf-8")
            pecflow("orders", "import", str(root / "orders.csv"))
            for case in evaluation.cases:
                (root / "drop" / case.name).write_bytes(case.data)
            started = time.monotonic()
            pecflow("run", "--once", "--now", NOW)
            seconds = time.monotonic() - started
            engine = make_engine(url)
            card = judge(engine, evaluation.cases)
            engine.dispose()
    finally:
        smtp.stop()
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(*card.table(), sep="\n")
    print(*targets(card), sep="\n")
    print(*card.wrong_confirmations, sep="\n")
    print(f"misses: {len(card.misses)}")
    print(*card.misses, sep="\n")
    print(f"`pecflow run --once` over {len(evaluation.cases)} messages: {seconds:.0f} s")
    return 1 if card.wrong_confirmations else 0


if __name__ == "__main__":
    sys.exit(main())
