"""What a start loads (issue 15: a command starts and ends within 0.3 s): each command imports
what it uses, not the parsers, the mail edges, the charts or the settings' machinery it does
not need. Checked by the modules a real process loaded, never by the clock (see
bench/start_bench.py for the times)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_pecflow
from tests.docgen.orders import make_order, orders_csv

pytestmark = pytest.mark.integration  # programs of their own

# What only reading mail, sealing, sending, importing or reporting needs.
HEAVY = (
    "numpy",
    "PIL",
    "pdfplumber",
    "pypdfium2",
    "asn1crypto",
    "pebble",
    "cryptography",
    "email_validator",
    "imapclient",
    "reportlab",
    "matplotlib",
    "jinja2",
)
# Python code that runs pecflow's main() with the arguments after it and, as the process
# ends, writes the names of the modules it loaded to the file named by LOADED.
LOADING = (
    "import atexit, json, os, pathlib, sys\n"
    "record = pathlib.Path(os.environ['LOADED'])\n"
    "atexit.register(lambda: record.write_text(json.dumps(list(sys.modules))))\n"
    "from jobs.cli import main\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installation on SQLite with one order, an empty drop folder and no IMAP host."""
    folder = tmp_path_factory.mktemp("office")
    (folder / "orders.csv").write_text(orders_csv([make_order("3454898")]), encoding="utf-8")
    for args in (("init", "."), ("orders", "import", "orders.csv")):
        done = run_pecflow(*args, cwd=folder)
        assert done.returncode == 0, done.stderr
    return folder


def _loaded(folder: Path, *args: str) -> set[str]:
    """The top-level packages a `pecflow` process with these arguments loaded."""
    record = folder / "loaded.json"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    done = subprocess.run(
        [sys.executable, "-c", LOADING, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=folder,
        env={**clean, "LOADED": str(record)},
    )
    assert done.returncode in (0, 1), done.stderr
    return {name.split(".")[0] for name in json.loads(record.read_text(encoding="utf-8"))}


def test_the_command_line_alone_loads_typer_and_nothing_of_the_work() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, jobs.cli; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    assert "typer" in loaded
    assert loaded.isdisjoint({"rich", "pydantic", "config", "sqlalchemy", "pipeline", *HEAVY})


def test_help_loads_neither_the_settings_nor_the_database(office: Path) -> None:
    loaded = _loaded(office, "--help")
    assert loaded.isdisjoint({"pydantic", "config", "sqlalchemy", "pipeline", *HEAVY})


@pytest.mark.parametrize(
    "args",
    [("review", "list"), ("orders", "show", "LM3454898"), ("sla", "late"), ("run", "--once")],
    ids=["review list", "orders show", "sla late", "run --once"],
)
def test_a_command_loads_what_it_uses(office: Path, args: tuple[str, ...]) -> None:
    """Nothing to read in the drop folder, no mailbox, nothing to send: no parser, no IMAP
    client, no cryptography; nor the export's checkers, the charts or the templates."""
    loaded = _loaded(office, *args)
    assert {"sqlalchemy", "pydantic"} <= loaded  # the database and the settings it uses
    assert loaded.isdisjoint(HEAVY)
