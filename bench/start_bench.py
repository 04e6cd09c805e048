"""How fast pecflow starts: five commands ops type, each a new process (issue 15: < 0.3 s).

    .venv/bin/python bench/start_bench.py [--quick]

Builds an installation of its own in a temporary folder (`pecflow init`: SQLite, the schema
upgraded; an export of 1,000 orders imported, 100 with --quick; an empty drop folder; no IMAP
host) and times the real console script beside this Python, with PYTHONPATH the repository
this bench lives in: `--help`, `review list`, `orders show` of an imported order, `sla late`,
and `run --once` with nothing to do. Each runs once to warm up, then 7 times (3 with --quick),
in turns with `python -c pass`, the floor measured in the same run; a row gives the median wall
seconds of each. One more row times the import of the libraries every command that reads the
store needs (SQLAlchemy's ORM, pydantic-settings) and nothing else: no command that reads
the store can start faster than that on this machine. Bytecode is cached as in an installed
pecflow: the processes keep theirs under the temporary folder (PYTHONPYCACHEPREFIX), whatever
PYTHONDONTWRITEBYTECODE says here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.import_bench import make_export  # noqa: E402
from bench.speed_rows import Row, print_rows  # noqa: E402
from tests.docgen.orders import orders_csv  # noqa: E402

PECFLOW = Path(sys.executable).with_name("pecflow")
TARGET = 0.3  # seconds
LIBRARIES = "import sqlalchemy.orm, pydantic_settings"


def pecflow_environment(folder: Path) -> dict[str, str]:
    """This environment but pecflow's own settings, and bytecode kept under `folder` as an
    installed pecflow keeps its own (a bench must not time the compiling of our modules)."""
    kept = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PECFLOW_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    return {**kept, "PYTHONPATH": str(ROOT), "PYTHONPYCACHEPREFIX": str(folder / "pycache")}


def _run(command: list[str], folder: Path, env: dict[str, str]) -> float:
    """Wall seconds of one run; exit 1 (something late, failed) is an answer, 2 and 3 are not."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def _install(folder: Path, env: dict[str, str], orders: int) -> str:
    """An installation with `orders` orders imported; returns the code of one of them."""
    export = make_export(orders)
    (folder / "orders.csv").write_text(orders_csv(export), encoding="utf-8")
    for args in (["init", "."], ["orders", "import", "orders.csv"]):
        _run([str(PECFLOW), *args], folder, env)
    return f"LM{export[0].order_id}"


def measure(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="pecflow-start-") as tmp:
        folder = Path(tmp)
        env = pecflow_environment(folder)
        code = _install(folder, env, 100 if quick else 1000)
        pecflow = str(PECFLOW)
        commands = {
            "pecflow --help": [pecflow, "--help"],
            "pecflow review list": [pecflow, "review", "list"],
            f"pecflow orders show {code}": [pecflow, "orders", "show", code],
            "pecflow sla late": [pecflow, "sla", "late"],
            "pecflow run --once (nothing to do)": [pecflow, "run", "--once"],
            # what any command that reads the store imports before its first line of ours runs
            "import sqlalchemy.orm, pydantic_settings": [sys.executable, "-c", LIBRARIES],
        }
        floor = [sys.executable, "-c", "pass"]
        times: dict[str, list[float]] = {name: [] for name in [*commands, "floor"]}
        for round_ in range(1 + (3 if quick else 7)):  # the first warms up (and writes bytecode)
            if round_:
                times["floor"].append(_run(floor, folder, env))
            for name, argv in commands.items():
                seconds = _run(argv, folder, env)
                if round_:
                    times[name].append(seconds)
    bare = statistics.median(times.pop("floor"))
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    return [
        Row(f"start: {name}", s, bare, "s", "python -c pass", f"< {TARGET} s", s < TARGET)
        for name, s in medians.items()
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 orders, 3 runs a command")
    print_rows(measure(parser.parse_args().quick))
