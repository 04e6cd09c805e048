"""Every speed scenario of issue 15 in one run, each beside its floor measured in that run.

    .venv/bin/python bench/speed.py [--quick] [--only NAME ...] [--markdown FILE]

Scenarios (each module's `measure(quick)`; run one alone with `python bench/NAME.py`):
- backlog_bench: a backlog caught up end to end (IMAP, archive, read, decide, commit, file,
  send) against reading alone, a bare FETCH and bare Tesseract; the memory of every process.
- start_bench: the start of the commands ops type, against `python -c pass`.
- idle_bench: a poll of a 100,000-message folder with nothing new, against a bare SELECT and
  SEARCH; the scheduler's memory over many polls.
- store_bench: the read commands on 100,000 orders and 500,000 messages, SQLite and
  PostgreSQL, against bare SQL.

Prints one table (pecflow's figure, the floor, the ratio, the target, met) and, with
`--markdown FILE`, writes it as the Markdown table the README shows. Exits 1 when a target is
missed. Needs Dovecot, Tesseract and PostgreSQL as the tests do (scripts/test.sh installs
them); no timing is asserted anywhere else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.speed_rows import Row

SCENARIOS = ("start_bench", "idle_bench", "store_bench", "backlog_bench")


def _figure(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | pecflow | floor | floor is | ratio | target | met |",
        "| --- | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {_figure(r.figure)} {r.unit} | {_figure(r.floor)} {r.unit} | "
            f"{r.floor_name} | {r.ratio:.2f} | {r.target} | {'yes' if r.met else '**no**'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a rough look")
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    options = parser.parse_args()
    rows: list[Row] = []
    for name in options.only:
        started = time.monotonic()
        module = importlib.import_module(f"bench.{name}")
        found = module.measure(quick=options.quick)
        rows.extend(found)
        print(f"{name}: {len(found)} row(s) in {time.monotonic() - started:.0f} s", flush=True)
    print(table(rows))
    if options.markdown:
        options.markdown.write_text(table(rows) + "\n", encoding="utf-8")
    return 0 if all(r.met for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
