"""The command line: help everywhere, JSON listings, clear refusals, the real console script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from jobs.cli import app
from pipeline.store.db import head_revision
from tests.conftest import Workspace, run_pecflow


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


ALL = _commands(typer.main.get_command(app))


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) or "pecflow" for p in ALL])
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.stdout


LISTINGS = [
    ("orders", "list"),
    ("batches", "list"),
    ("review", "list"),
    ("outbox", "list"),
    ("config", "show"),
]


@pytest.mark.parametrize("path", LISTINGS, ids=[" ".join(p) for p in LISTINGS])
def test_every_listing_speaks_json(workspace: Workspace, path: tuple[str, ...]) -> None:
    result = workspace.cli(*path, "--json")
    assert result.exit_code == 0, result.stdout
    json.loads(result.stdout)


@pytest.mark.integration  # the console script, in a subprocess
def test_a_command_on_an_empty_database_says_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    done = run_pecflow("--config", str(tmp_path / "pecflow.toml"), "orders", "list")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"pecflow: the database schema is empty, this pecflow needs {head_revision()}: "
        "run `pecflow db upgrade`"
    )


@pytest.mark.integration  # the console script, in a subprocess
def test_init_writes_a_config_and_a_current_database(tmp_path: Path) -> None:
    done = run_pecflow("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pecflow.toml").exists()
    assert (tmp_path / "drop").is_dir()
    listing = run_pecflow("orders", "list", "--json", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout) == []


def test_an_unknown_order_code_is_a_clear_refusal(workspace: Workspace) -> None:
    result = workspace.cli("orders", "show", "LM0000001")
    assert result.exit_code == 2
    assert "no order LM0000001" in str(result.exception)


def test_import_rejects_exactly_the_bad_rows_and_exits_1(workspace: Workspace) -> None:
    from tests.test_orders_import import BIANCHI, HEADER, ROSSI

    bad_cf = ROSSI.replace("3454898", "3454801").replace("H501U", "H501X")
    bad_total = ROSSI.replace("3454898", "3454802").replace("24.40,pending", "25.00,pending")
    bad_product = ROSSI.replace("3454898", "3454803").replace(",standard,", ",platinum,")
    path = workspace.root / "orders.csv"
    path.write_text(
        "\n".join([HEADER, ROSSI, bad_cf, bad_total, bad_product, BIANCHI]) + "\n", encoding="utf-8"
    )
    result = workspace.cli("orders", "import", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [e.split(":")[0] for e in report["errors"]] == [
        "row 3 (order 3454801), column tax_code",
        "row 4 (order 3454802), column total_amount",
        "row 5 (order 3454803), column product",
    ]
    listed = json.loads(workspace.cli("orders", "list", "--json").stdout)
    assert [o["code"] for o in listed] == ["LM3385660", "LM3454898"]
    again = workspace.cli("orders", "import", str(path), "--json")
    assert json.loads(again.stdout)["counts"] == {"rejected": 3, "unchanged": 2}


def _import(workspace: Workspace, ids: list[int]) -> None:
    from tests.docgen.orders import make_order, orders_csv

    orders = [
        make_order(str(oid), payment_method="prepagato" if oid % 2 else "bonifico") for oid in ids
    ]
    path = workspace.root / f"orders-{ids[0]}.csv"
    path.write_text(orders_csv(orders), encoding="utf-8")
    assert workspace.cli("orders", "import", str(path)).exit_code == 0


def _page(workspace: Workspace, *options: str) -> list[str]:
    result = workspace.cli("orders", "list", "--json", *options)
    assert result.exit_code == 0, result.stdout
    return [order["code"] for order in json.loads(result.stdout)]


def test_orders_list_pages_in_code_order_after_a_cursor_that_stays_put(
    workspace: Workspace,
) -> None:
    """A page of `--limit` orders, then the next `--after` the last one shown: every order
    once, in code order; an order that comes meanwhile with a lower code moves no page."""
    _import(workspace, [3000004, 3000002, 3000007, 3000001, 3000006, 3000003, 3000005])
    pages, after = [], []
    while page := _page(workspace, "--limit", "3", *after):
        pages.append(page)
        after = ["--after", page[-1]]
    assert pages == [
        ["LM3000001", "LM3000002", "LM3000003"],
        ["LM3000004", "LM3000005", "LM3000006"],
        ["LM3000007"],
    ]
    _import(workspace, [2999999])
    assert _page(workspace, "--limit", "3", "--after", "LM3000003") == pages[1]
    assert _page(workspace, "--limit", "2") == ["LM2999999", "LM3000001"]
    paid = _page(workspace, "--state", "processing", "--limit", "2", "--after", "lm3000001")
    assert paid == ["LM3000003", "LM3000005"]  # the prepaid ones, after the one given
    assert len(_page(workspace)) == 8  # the default page holds them all
    table = workspace.cli("orders", "list", "--limit", "3").stdout
    assert table.rstrip().endswith("next page: --after LM3000002")
    assert "next page" not in workspace.cli("orders", "list").stdout  # a page not full
    refused = workspace.cli("orders", "list", "--after", "LM30001")
    assert refused.exit_code == 2 and "not an order code" in str(refused.exception)


def test_import_whose_worker_process_is_killed_exits_2_with_one_line(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker process checking rows killed (the kernel out of memory): one line saying so,
    exit 2, and the batch failed with it."""
    import os
    import signal

    import pipeline.services.imports
    from pipeline.rules.orders_import import check_chunk
    from tests.test_orders_import import HEADER, ROSSI

    if pipeline.services.imports.WORKERS < 2:
        pytest.skip("one core: the import uses no worker process")
    here = os.getpid()

    def killed_in_a_worker(export, chunk, stored=None):
        if os.getpid() != here:
            os.kill(os.getpid(), signal.SIGKILL)
        return check_chunk(export, chunk, stored)

    monkeypatch.setattr(pipeline.services.imports, "PARALLEL_FROM_ROWS", 1)
    monkeypatch.setattr(pipeline.services.imports, "check_chunk", killed_in_a_worker)
    path = workspace.root / "orders.csv"
    path.write_text(f"{HEADER}\n{ROSSI}\n", encoding="utf-8")
    result = workspace.cli("orders", "import", str(path))
    assert result.exit_code == 2
    assert str(result.exception) == (
        "a worker process checking the rows stopped (exit code -9: killed, or out of memory?): "
        "import the file again"
    )
    [batch] = json.loads(workspace.cli("batches", "list", "--json").stdout)
    assert (batch["status"], batch["error"]) == ("failed", f"WorkerLost: {result.exception}")


def test_orders_show_tells_the_story_in_time_order(workspace: Workspace) -> None:
    from tests.docgen.receipts import default_spec, make_receipt_pdf
    from tests.test_orders_import import UNPAID

    path = workspace.root / "orders.csv"
    path.write_text(UNPAID, encoding="utf-8")
    workspace.cli("orders", "import", str(path), "--now", "2026-11-20T10:00:00+01:00")
    pdf = make_receipt_pdf(
        default_spec(["LM3454898"], __import__("decimal").Decimal("24.40")), "bpm"
    )
    (workspace.drop / "contabile.pdf").write_bytes(pdf)
    assert workspace.cli("run", "--once", "--now", "2026-11-20T10:30:00+01:00").exit_code == 0
    story = json.loads(workspace.cli("orders", "show", "lm3454898", "--json").stdout)
    assert story["state"] == "processing"
    assert [row["what"] for row in story["story"]] == [
        "state",
        "document",
        "payment",
        "state",
        "e-mail",
    ]
    assert story["story"][-1]["detail"].endswith("sent")
    outbox = json.loads(workspace.cli("outbox", "list", "--json").stdout)
    assert [(o["kind"], o["status"]) for o in outbox] == [("payment_received", "sent")]


def test_a_large_run_prints_the_first_rows_and_where_the_rest_are(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jobs.cli

    monkeypatch.setattr(jobs.cli, "RUN_ROWS", 2)
    for n in range(3):
        (workspace.drop / f"nota{n}.txt").write_text(f"Domanda {n}", encoding="utf-8")
    result = workspace.cli("run", "--once", "--now", "2026-11-20T10:30:00+01:00")
    [batch] = json.loads(workspace.cli("batches", "list", "--json").stdout)
    assert f"... and 1 more messages: pecflow batches show {batch['id']}" in result.stdout
    shown = [n for n in range(3) if f"nota{n}.txt" in result.stdout]
    assert shown == [0, 1], result.stdout
