"""`pecflow scheduler`: its timetable under a controlled clock, and the real process: persisted
jobs, one catch-up run after downtime, SIGTERM, one scheduler per database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, inspect, select, text

from config import Settings
from jobs.scheduler import JOB_TABLE, triggers
from pipeline.store.db import make_engine
from pipeline.store.models import Batch
from pipeline.store.models import Message as StoredMessage
from pipeline.store.single_instance import LOCK_KEY
from tests.conftest import Workspace
from tests.test_pipeline import _ready, _receipt

ROME = Settings().zone
YEARLY = "0 0 1 1 *"  # never during a test: only a catch-up runs a job


def _fires(trigger, start: datetime, end: datetime) -> list[datetime]:
    fires, last = [], None
    moment = trigger.get_next_fire_time(None, start)
    for _ in range(2000):  # bounded: a day has at most 1440 minutes
        if moment is None or moment >= end:
            return fires
        fires.append(moment)
        last = moment
        moment = trigger.get_next_fire_time(last, last + timedelta(seconds=1))
    raise AssertionError("the trigger fires more than 2000 times a day")


@pytest.mark.parametrize(
    ("day", "office", "outside"),
    [("2026-11-23", 270, 60), ("2026-11-21", 0, 96)],
    ids=["monday", "saturday"],
)
def test_polls_every_2_minutes_in_office_hours_and_every_15_outside(day, office, outside) -> None:
    start = datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=ROME)
    fires = _fires(triggers(Settings())["poll"], start, start + timedelta(days=1))
    in_hours = [f for f in fires if 9 <= f.hour < 18 and f.weekday() < 5]
    assert (len(in_hours), len(fires) - len(in_hours)) == (office, outside)
    assert all(f.minute % 2 == 0 for f in in_hours)
    assert all(f.minute % 15 == 0 for f in fires if f not in in_hours)


def test_the_nightly_jobs_fire_once_a_night_in_rome_time() -> None:
    start = datetime.fromisoformat("2026-10-24T12:00:00+02:00")  # DST ends that night
    jobs = triggers(Settings())
    for name, hour, minute in (("report", 0, 30), ("purge", 3, 0)):
        fires = _fires(jobs[name], start, start + timedelta(days=1))
        assert [(f.hour, f.minute) for f in fires] == [(hour, minute)], name


def _configure(ws: Workspace) -> None:
    with ws.config.open("a", encoding="utf-8") as config:
        config.write(
            f'[scheduler]\npoll = ["{YEARLY}"]\n'
            + "".join(
                f'{job} = "{YEARLY}"\n'
                for job in ("confirm", "send", "watchdog", "report", "purge")
            )
        )


def _start(ws: Workspace) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PECFLOW_")}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("pecflow")), "--config", str(ws.config), "scheduler"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **ws.env},
    )


def _until(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds} s: {what}")


def _scalar(ws: Workspace, query) -> int:
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table(JOB_TABLE):
                return 0
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def _jobs(ws: Workspace) -> int:
    return _scalar(ws, text("SELECT count(*) FROM apscheduler_jobs"))


def _batches(ws: Workspace, kind: str) -> int:
    ended = select(func.count()).select_from(Batch).where(Batch.ended_at.is_not(None))
    return _scalar(ws, ended.where(Batch.kind == kind))


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def test_scheduler_persists_its_jobs_catches_up_once_and_stops_on_sigterm(workspace) -> None:
    ws = workspace
    _configure(ws)
    _ready(ws)
    first = _start(ws)
    try:
        _until(lambda: _jobs(ws) == 6, "the six jobs are in the job store")
    finally:
        code, err = _stop(first)
    assert code == 0, err
    assert "scheduler: stopped" in err
    assert _batches(ws, "run") == 0, "no poll was due"
    # Down for an hour: every job missed its slot. On return each runs once, not once per slot.
    engine = make_engine(ws.env["PECFLOW_DATABASE__URL"])
    jobs = SQLAlchemyJobStore(engine=engine, tablename=JOB_TABLE)
    jobs.start(BackgroundScheduler(), "default")  # the store alone: no scheduler runs here
    for job in jobs.get_all_jobs():
        job.next_run_time = datetime.now(ROME) - timedelta(hours=1)
        jobs.update_job(job)
    engine.dispose()
    (ws.drop / "contabile.pdf").write_bytes(_receipt())
    second = _start(ws)
    try:
        _until(lambda: _batches(ws, "run") >= 1 and _batches(ws, "purge") >= 1, "a catch-up poll")
        time.sleep(2)  # a second, wrong, catch-up would show by now
    finally:
        code, err = _stop(second)
    assert code == 0, err
    assert (_batches(ws, "run"), _batches(ws, "purge")) == (1, 1)
    processed = (
        select(func.count()).select_from(StoredMessage).where(StoredMessage.outcome == "processed")
    )
    assert _scalar(ws, processed) == 1, err
    assert not list(ws.drop.iterdir())


@pytest.mark.parametrize("db_url", ["postgresql", "sqlite"], indirect=True)
def test_a_second_scheduler_on_the_same_database_exits_with_the_reason(workspace) -> None:
    ws = workspace
    _configure(ws)
    first = _start(ws)
    try:
        _until(lambda: _jobs(ws) == 6, "the first scheduler is running")
        second = _start(ws)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert "another pecflow scheduler is running" in err
        assert first.poll() is None, "the first one runs on"
    finally:
        code, err = _stop(first)
    assert code == 0, err


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_scheduler_that_loses_its_database_lock_stops(workspace) -> None:
    """A restarted PostgreSQL drops the lock with the connection: another scheduler could
    start, so this one stops (exit 1) for systemd to restart it and take the lock again."""
    ws = workspace
    _configure(ws)
    with ws.config.open("a", encoding="utf-8") as config:
        config.write("lock_check_seconds = 0.5\n")
    first = _start(ws)
    try:
        _until(lambda: _jobs(ws) == 6, "the scheduler is running")
        holder = text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = :key AND granted"
        )
        assert _scalar(ws, holder.bindparams(key=LOCK_KEY)) == 1
        _, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    assert first.returncode == 1, err
    assert "lost the database lock" in err
