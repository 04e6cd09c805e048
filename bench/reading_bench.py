"""How right pecflow's reading and matching are, over the whole generated set.

    .venv/bin/python bench/reading_bench.py [--quick]

The set (tests/docgen/evaluation.py): receipts in every bank layout and the bollettino as text
PDFs, as scans (upright, on their side, on their head in an image-only PDF) and as phone photos,
each paying an order of its own; one case per review reason; hostile files. They go through a
real `pecflow orders import` and `pecflow run --once` on SQLite, with a throw-away SMTP server
on loopback, and each case's outcome is compared with the one it should have. Prints, per
group, how many ended right, every payment confirmed for a wrong order (there must be none),
every miss, and how long the run took. Needs the dev extras (aiosmtpd).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.store.db import make_engine
from tests.conftest import free_port
from tests.docgen.evaluation import build, judge
from tests.docgen.orders import orders_csv

PECFLOW = Path(sys.executable).with_name("pecflow")
NOW = "2026-11-20T10:30:00+01:00"


def main() -> int:
    quick = "--quick" in sys.argv
    started = time.monotonic()
    evaluation = build(scan_layouts=("intesa", "bollettino")) if quick else build()
    print(f"generated {len(evaluation.cases)} cases in {time.monotonic() - started:.0f} s")
    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            (root / "drop").mkdir()
            config = root / "pecflow.toml"
            config.write_text(
                f'[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
                f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\n',
                encoding="utf-8",
            )
            env = {**os.environ, "PECFLOW_CONFIG": str(config)}

            def pecflow(*args: str) -> None:
                subprocess.run([str(PECFLOW), *args], env=env, check=False, capture_output=True)

            pecflow("db", "upgrade")
            (root / "orders.csv").write_text(orders_csv(evaluation.orders), encoding="utf-8")
            pecflow("orders", "import", str(root / "orders.csv"))
            for case in evaluation.cases:
                (root / "drop" / case.name).write_bytes(case.data)
            started = time.monotonic()
            pecflow("run", "--once", "--now", NOW)
            seconds = time.monotonic() - started
            engine = make_engine(f"sqlite:///{root / 'data' / 'pecflow.db'}")
            card = judge(engine, evaluation.cases)
            engine.dispose()
    finally:
        smtp.stop()
    print(*card.lines(), sep="\n")
    print(f"scans and photos together: {card.share('scan', 'photo'):.1%} right")
    print(f"wrong confirmations: {len(card.wrong_confirmations)}")
    print(*card.wrong_confirmations, sep="\n")
    print(f"misses: {len(card.misses)}")
    print(*card.misses, sep="\n")
    print(f"`pecflow run --once` over {len(evaluation.cases)} messages: {seconds:.0f} s")
    return 1 if card.wrong_confirmations else 0


if __name__ == "__main__":
    sys.exit(main())
