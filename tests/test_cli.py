"""The command line: help everywhere, JSON listings, clear refusals, the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from jobs.cli import app
from tests.conftest import Workspace


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


def test_a_command_on_an_empty_database_says_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "--config",
            str(tmp_path / "pecflow.toml"),
            "orders",
            "list",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")},
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "pecflow: the database schema is empty, this pecflow needs 0001: run `pecflow db upgrade`"
    )


def test_init_writes_a_config_and_a_current_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    pecflow = Path(sys.executable).with_name("pecflow")
    done = subprocess.run(
        [str(pecflow), "init", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "pecflow.toml").exists()
    assert (tmp_path / "drop").is_dir()
    listing = subprocess.run(
        [str(pecflow), "orders", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert listing.returncode == 0, listing.stderr
    assert json.loads(listing.stdout) == []


def test_an_unknown_order_code_is_a_clear_refusal(workspace: Workspace) -> None:
    result = workspace.cli("orders", "show", "LM0000001")
    assert result.exit_code == 2
    assert "no order LM0000001" in str(result.exception)
