"""What pecflow writes is for the service user alone, whatever umask ops run it with: the
database (and its -wal/-shm), the archive, the reports, the seal key are 0600 (archived files
0400) in 0700 folders. Loose modes left from before are tightened, with one warning, once."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from config import load_settings
from pipeline.private_files import make_private
from tests.conftest import Mailbox, _empty_tables, run_pecflow
from tests.docgen.messages import make_email
from tests.docgen.paperwork import contract_pdf, identity_pdf
from tests.test_orders_import import UNPAID
from tests.test_pipeline import NOW, _receipt

pytestmark = pytest.mark.integration  # `pecflow` subprocesses on SQLite and PostgreSQL

CODE = "LM3454898"
MAILBOX = "mario.rossi@legalmail.it"
YEARLY = "0 0 1 1 *"  # no scheduled job runs during the test


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _setup(tmp_path: Path, port: int, database_url: str) -> dict[str, str]:
    config = tmp_path / "pecflow.toml"
    config.write_text(
        '[paths]\ndata_dir = "data"\ndrop_folder = "drop"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout_seconds = 5\n'
        '[fulfilment]\nprovisioner = "local"\npassword_delivery = "same"\n'
        f'[scheduler]\npoll = ["{YEARLY}"]\n'
        + "".join(f'{job} = "{YEARLY}"\n' for job in ("confirm", "send", "watchdog", "report"))
        + f'purge = "{YEARLY}"\n',
        encoding="utf-8",
    )
    env = {"PECFLOW_CONFIG": str(config)}
    if database_url:
        env["PECFLOW_DATABASE__URL"] = database_url
    return env


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Empty: the default SQLite database in the data folder; else a PostgreSQL database."""
    if request.param == "sqlite":
        return ""
    url: str = request.getfixturevalue("pg_database")
    _empty_tables(url)
    return url


def test_what_pecflow_writes_is_private_under_umask_022(
    tmp_path: Path, smtp_server: tuple[Mailbox, int], database_url: str
) -> None:
    mailbox, port = smtp_server
    env = _setup(tmp_path, port, database_url)
    drop = tmp_path / "drop"
    drop.mkdir()
    drop.chmod(0o755)  # the admins': shared
    data = tmp_path / "data"

    def pecflow(*args: str) -> subprocess.CompletedProcess[str]:
        done = run_pecflow(*args, env=env, cwd=tmp_path, umask=0o022)
        assert "Traceback" not in done.stderr
        return done

    assert pecflow("db", "upgrade").returncode == 0
    orders = tmp_path / "orders.csv"
    orders.write_text(UNPAID, encoding="utf-8")
    assert pecflow("orders", "import", str(orders)).returncode == 0
    # A receipt and the signed papers: the order is paid, ready, and activated by the local
    # provisioner, its password sealed in the outbox until sent (the seal key is made).
    (drop / "contabile.pdf").write_bytes(_receipt())
    (drop / "firmato.eml").write_bytes(
        make_email(
            sender="mario.rossi@example.it",
            subject="documenti",
            body="in allegato contratto firmato e documento",
            attachments=[
                ("contratto.pdf", "application/pdf", contract_pdf(CODE, "Rossi Mario", MAILBOX)),
                ("documento.pdf", "application/pdf", identity_pdf("Rossi", "Mario")),
            ],
        )
    )
    ran = pecflow("run", "--once", "--now", NOW, "--json")
    assert ran.returncode == 0, ran.stderr
    assert [o["state"] for o in json.loads(ran.stdout)["orders"]] == ["fulfilled"]
    assert any("Password: " in m.as_string() for m in mailbox.messages)
    made = pecflow("report", "--date", "2026-11-19", "--now", NOW)
    assert made.returncode == 0, made.stderr
    assert "made private" not in made.stderr  # nothing loose to tighten: all was made private

    assert _mode(data) == 0o700
    archive = data / "archive"
    folders = [archive, *(p for p in archive.rglob("*") if p.is_dir())]
    files = [p for p in archive.rglob("*") if p.is_file()]
    assert len(files) >= 4  # two messages, their attachments
    assert {_mode(p) for p in folders} == {0o700}
    assert {_mode(p) for p in files} == {0o400}
    assert _mode(data / "outbox.key") == 0o600
    reports = data / "reports"
    assert _mode(reports) == 0o700
    assert sorted(p.name for p in reports.iterdir()) == [
        "2026-11-19.csv", "2026-11-19.html", "2026-11-19.png",
    ]  # fmt: skip
    assert {_mode(p) for p in reports.iterdir()} == {0o600}
    assert _mode(drop) == 0o755, "the admins' drop folder keeps its mode"
    if not database_url:
        assert _mode(data / "pecflow.db") == 0o600
        _scheduler_files_are_private(tmp_path, env, data)
    else:
        assert not (data / "pecflow.db").exists()


def _scheduler_files_are_private(root: Path, env: dict[str, str], data: Path) -> None:
    """While the scheduler runs, SQLite's -wal and -shm and the scheduler's lock exist."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    scheduler = subprocess.Popen(
        [str(Path(sys.executable).with_name("pecflow")), "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **env},
        cwd=root,
        umask=0o022,
    )
    companions = [data / f"pecflow.db{end}" for end in ("-wal", "-shm", ".scheduler.lock")]
    try:
        assert scheduler.stderr is not None
        for line in scheduler.stderr:  # running (and stoppable by SIGTERM) once it says so
            if "next at" in line:
                break
        assert all(p.exists() for p in companions), [p.name for p in companions if p.exists()]
        assert {p.name: _mode(p) for p in companions} == {p.name: 0o600 for p in companions}
        assert _mode(data / "pecflow.db") == 0o600
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, err = scheduler.communicate(timeout=60)
    assert scheduler.returncode == 0, err


def test_loose_modes_left_from_before_are_tightened_once(tmp_path: Path) -> None:
    """An install made before (umask 022, a restore, a copy): the data folder 0755 with a
    0644 database, report and seal key. One warning names each path with its old mode."""
    env = {"PECFLOW_CONFIG": str(tmp_path / "pecflow.toml")}
    (tmp_path / "pecflow.toml").write_text('[paths]\ndata_dir = "data"\n', encoding="utf-8")
    assert run_pecflow("db", "upgrade", env=env, umask=0o022).returncode == 0
    assert run_pecflow("report", "--date", "2026-11-19", env=env).returncode == 0
    data = tmp_path / "data"
    key = data / "outbox.key"
    key.write_bytes(Fernet.generate_key())
    report = data / "reports" / "2026-11-19.csv"
    loose = {
        data: 0o755,
        data / "reports": 0o755,
        data / "pecflow.db": 0o644,
        report: 0o644,
        key: 0o644,
    }
    for path, mode in loose.items():
        path.chmod(mode)

    first = run_pecflow("orders", "list", env=env, umask=0o022)
    assert first.returncode == 0, first.stderr
    (warning,) = first.stderr.splitlines()
    assert "WARNING" in warning and "made private what group or others could read" in warning
    for path, mode in loose.items():
        assert f"{path} ({mode:04o} -> {mode & 0o700:04o})" in warning
        assert _mode(path) == mode & 0o700
    second = run_pecflow("orders", "list", env=env, umask=0o022)
    assert second.returncode == 0, second.stderr
    assert second.stderr == "", "tightened once: nothing more to say"


def test_a_data_folder_holding_the_drop_folder_is_left_to_the_admins(tmp_path: Path) -> None:
    config = tmp_path / "pecflow.toml"
    config.write_text('[paths]\ndata_dir = "data"\ndrop_folder = "data/drop"\n', encoding="utf-8")
    data = tmp_path / "data"
    (data / "drop").mkdir(parents=True)
    for folder in (data, data / "drop"):
        folder.chmod(0o755)
    (data / "pecflow.db").write_bytes(b"")
    (data / "pecflow.db").chmod(0o644)
    done = make_private(load_settings(config))
    assert [(t.path.name, t.before) for t in done] == [("pecflow.db", 0o644)]
    assert (_mode(data), _mode(data / "drop")) == (0o755, 0o755)
