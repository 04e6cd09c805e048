"""How fast `pecflow orders import` takes a large export, and in how much memory.

    .venv/bin/python bench/import_bench.py [--rows 50000] [--postgres URL] [--repeat N]

Generates a realistic export (tests/docgen/orders.py: valid codici fiscali, totals computed
apart from pecflow's own arithmetic; purchases and renewals, every product and payment
method, applicants born in ten comuni, unique addresses), then times the real
`pecflow orders import` on it twice: into an empty database (every row created) and again
(every row unchanged). SQLite by default; with `--postgres
postgresql+psycopg://postgres@127.0.0.1:5432/postgres` also on a database of its own created
on that server and dropped after. Each run is a fresh process, as ops run it; its peak memory
is the largest resident set of it and of the worker processes it starts, taken with
resource.getrusage by a wrapper process of its own (so that earlier runs do not count).
Prints the command's own start (on a file of its header only), then a table of seconds,
rows/s, CPU seconds (of all its processes) and peak MB against the targets (import < 15 s,
re-import < 5 s, < 300 MB); with `--repeat N`, N rounds on new databases, the median and the
range (this machine's timings drift from run to run). Exits 1 when a run fails or the median
misses a target.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.scratch_database import scratch_database
from tests.docgen.orders import MUNICIPALITIES, PRODUCT_NET, OrderSpec, make_order, orders_csv

PECFLOW = Path(sys.executable).with_name("pecflow")
NOW = "2026-11-26T12:00:00+01:00"
TARGETS = {"import": 15.0, "re-import": 5.0}
MEMORY_TARGET_MB = 300.0

LAST_NAMES = (
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Mancini",
    "Costa",
    "Giordano",
    "Rizzo",
    "Lombardi",
    "Moretti",
    "Barbieri",
    "Fontana",
    "Santoro",
    "Mariani",
    "Rinaldi",
    "Caruso",
    "Ferrara",
    "Galli",
    "Martini",
    "Leone",
    "Longo",
    "Gentile",
    "Vitale",
    "Serra",
    "De Luca",
    "D'Angelo",
    "Di Stefano",
    "Dell'Acqua",
    "Lo Russo",
)
FIRST_NAMES = {
    "M": (
        "Mario",
        "Luca",
        "Marco",
        "Andrea",
        "Giuseppe",
        "Francesco",
        "Alessandro",
        "Nicolò",
        "Matteo",
        "Lorenzo",
    ),
    "F": (
        "Giulia",
        "Sara",
        "Chiara",
        "Francesca",
        "Anna",
        "Martina",
        "Laura",
        "Elena",
        "Valentina",
        "Alessia",
    ),
}
METHODS = ("bonifico", "bonifico", "bonifico", "bollettino", "carta", "prepagato")
CATEGORIES = ("privato", "privato", "professionista", "azienda", "pa")
MAIL_DOMAINS = ("gmail.com", "libero.it", "outlook.it", "virgilio.it", "tiscali.it", "alice.it")


def make_export(rows: int, seed: int = 20261126) -> list[OrderSpec]:
    """`rows` orders with distinct ids, as varied as a year of the portal's."""
    rnd = random.Random(seed)  # noqa: S311 (test data)
    orders = []
    for order_id in rnd.sample(range(1_000_001, 9_999_999), rows):
        sex = rnd.choice("MF")
        first, last = rnd.choice(FIRST_NAMES[sex]), rnd.choice(LAST_NAMES)
        product = rnd.choice(tuple(PRODUCT_NET))
        handle = "".join(c for c in f"{first}.{last}".lower() if c.isascii() and c not in " '")
        handle = f"{handle}{order_id % 10_000}"
        day = date(2026, 1, 1) + timedelta(days=rnd.randrange(330))
        orders.append(
            make_order(
                str(order_id),
                last_name=last,
                first_name=first,
                sex=sex,
                product=product,
                net=PRODUCT_NET[product],
                payment_method=rnd.choice(METHODS),
                order_type="rinnovo" if rnd.random() < 0.2 else "acquisto",
                birth_municipality=rnd.choice(tuple(MUNICIPALITIES)),
                birth_date=date(1940, 1, 1) + timedelta(days=rnd.randrange(26_000)),
                customer_category=rnd.choice(CATEGORIES),
                created_at=f"{day.isoformat()}T{rnd.randrange(8, 20):02d}:"
                f"{rnd.randrange(60):02d}:00+01:00",
                email=f"{handle}@{rnd.choice(MAIL_DOMAINS)}",
                mailbox=f"{handle}@legalmail.it",
                mobile=rnd.choice(("", f"3{rnd.randrange(10**8, 10**9)}")),
            )
        )
    return orders


@dataclass
class Run:
    database: str
    what: str
    rows: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    code: int


def summary(runs: list[Run]) -> tuple[str, bool]:
    """One table row for the runs of one kind: the median, the range, and the verdict."""
    first, target = runs[0], TARGETS[runs[0].what]
    seconds = sorted(run.seconds for run in runs)
    median = statistics.median(seconds)
    peak = max(run.peak_mb for run in runs)
    ok = all(run.code == 0 for run in runs) and median < target and peak < MEMORY_TARGET_MB
    spread = f" ({seconds[0]:.1f}–{seconds[-1]:.1f})" if len(runs) > 1 else ""
    return (
        f"| {first.database} | {first.what} | {first.rows:,} | {median:.1f}{spread} "
        f"| < {target:.0f} | {first.rows / median:,.0f} "
        f"| {statistics.median(run.cpu_seconds for run in runs):.1f} | {peak:.0f} "
        f"| {'ok' if ok else 'MISSED'} |"
    ), ok


def _pecflow(env: dict[str, str], *args: str) -> tuple[int, float, float, float, str]:
    """Run the console script in a wrapper process of its own: exit code, wall seconds, CPU
    seconds and peak RSS (MB) of it and its worker processes, and what it printed."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "seconds = time.perf_counter() - start\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(done.returncode, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)\n"
        "print(done.stdout.strip() + ' ' + done.stderr.strip()[-300:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", wrapper, str(PECFLOW), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=True,
    )
    first, _, said = done.stdout.partition("\n")
    code, seconds, cpu, peak_kb = first.split()
    return int(code), float(seconds), float(cpu), int(peak_kb) / 1024, said.strip()


def bench(label: str, server: str | None, export: Path, rows: int) -> list[Run]:
    """Into a new database: `pecflow db upgrade`, then the import, then the same again."""
    with tempfile.TemporaryDirectory() as tmp, scratch_database(server, Path(tmp)) as url:
        folder = Path(tmp)
        config = folder / "pecflow.toml"
        config.write_text('[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n', encoding="utf-8")
        env = {**os.environ, "PECFLOW_CONFIG": str(config), "PECFLOW_DATABASE__URL": url}
        code, *_, said = _pecflow(env, "db", "upgrade")
        if code != 0:
            raise SystemExit(f"{label}: `pecflow db upgrade` failed: {said}")
        runs = []
        for what, expected in (("import", "created"), ("re-import", "unchanged")):
            code, seconds, cpu, peak, said = _pecflow(
                env, "orders", "import", str(export), "--now", NOW
            )
            if code != 0 or f"{expected} {rows}" not in said:
                print(f"{label} {what}: exit {code}: {said}", file=sys.stderr)
                code = code or 1
            runs.append(Run(label, what, rows, seconds, cpu, peak, code))
        return runs


def start_only(export: Path) -> float:
    """Seconds of `pecflow orders import` on the header alone: the command's own start."""
    header = export.with_name("header.csv")
    header.write_bytes(export.read_bytes().split(b"\r\n", 1)[0] + b"\r\n")
    with tempfile.TemporaryDirectory() as tmp, scratch_database(None, Path(tmp)) as url:
        config = Path(tmp) / "pecflow.toml"
        config.write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
        env = {**os.environ, "PECFLOW_CONFIG": str(config), "PECFLOW_DATABASE__URL": url}
        _pecflow(env, "db", "upgrade")
        return min(_pecflow(env, "orders", "import", str(header))[1] for _ in range(3))


def pace() -> float:
    """Seconds of a plain Python loop: these machines' speed drifts, so figures from different
    runs compare through it."""
    started = time.perf_counter()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the export")
    parser.add_argument("--postgres", help="also on a database of its own on this server")
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds, each on a new database (median shown)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    orders = make_export(args.rows)
    databases = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    with tempfile.TemporaryDirectory() as tmp:
        export = Path(tmp) / "ordini.csv"
        export.write_bytes(orders_csv(orders).encode("utf-8"))
        size_mb = export.stat().st_size / 2**20
        print(f"export: {args.rows:,} rows, {size_mb:.1f} MB, made in "
              f"{time.perf_counter() - started:.0f} s; {os.cpu_count()} cores")  # fmt: skip
        print(f"the command's own start (a file of its header only): {start_only(export):.1f} s")
        print(f"this machine's pace now: a 10-million-step Python loop in {pace():.2f} s")
        runs = [
            run
            for _ in range(max(1, args.repeat))
            for label, server in databases
            for run in bench(label, server, export, args.rows)
        ]
    print("| database | run | rows | seconds | target | rows/s | CPU s | peak MB (< 300) | |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    verdicts = []
    for label, _ in databases:
        for what in TARGETS:
            line, ok = summary([r for r in runs if (r.database, r.what) == (label, what)])
            print(line)
            verdicts.append(ok)
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
