"""`pecflow scheduler`: the jobs of pipeline.services.scheduled on APScheduler 3, unattended.

Jobs live in the database (SQLAlchemy job store), so a restart keeps their next run times.
Each job coalesces and has no misfire limit: a scheduler that was down for an hour runs each
job once on its return, not once per missed slot. One worker thread runs one job at a time,
so a poll and a confirmation never race. SIGTERM (or SIGINT) lets the running job finish its
current message, then stops; what was not reached waits for the next run. With
`imap.idle`, an IDLE watcher asks for a poll as soon as the server announces new mail.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from config import Settings
from jobs.edges import mail_edges
from pipeline.batches import abandon_dead
from pipeline.services.error_lines import error_line
from pipeline.services.scheduled import Clock, Jobs
from pipeline.store.db import Store
from pipeline.store.single_instance import only_instance

if TYPE_CHECKING:
    from mailer.inbound.idle import IdleWatcher

log = logging.getLogger(__name__)
JOB_TABLE = "apscheduler_jobs"
PUSH_STORE = "push"  # the polls new mail asks for: in memory, they end with the process
WATCHER_STOP_SECONDS = 5.0  # how long a stop waits for the IDLE watcher's thread
_current: Jobs | None = None  # what the persisted jobs call: set while a scheduler runs


class LockLost(Exception):
    """The lock that made this the only scheduler is gone: another may start, so stop."""


def run_job(name: str) -> None:
    """The one function the job store names (by reference), so pickled jobs survive upgrades."""
    if _current is None:
        raise RuntimeError("no scheduler is running in this process")
    if _current.stopping():
        return  # queued before the stop: left for the next start
    try:
        getattr(_current, name)()
    except Exception as exc:  # the next run tries again
        # The type only: a database error's text carries the row's values (personal data).
        line = error_line(exc, _current.settings)  # a full disk, the database gone: in words
        log.error("job %s failed: %s", name, line or type(exc).__name__)
        log.debug("job %s failed", name, exc_info=True)


def triggers(settings: Settings) -> dict[str, BaseTrigger]:
    zone = settings.zone
    cron = settings.scheduler

    def at(expression: str) -> CronTrigger:
        return CronTrigger.from_crontab(expression, timezone=zone)

    poll = [at(e) for e in cron.poll]
    return {
        "poll": poll[0] if len(poll) == 1 else OrTrigger(poll),
        "confirm": at(cron.confirm),
        "send": at(cron.send),
        "watchdog": at(cron.watchdog),
        "report": at(cron.report),
        "purge": at(cron.purge),
    }


def build(store: Store, settings: Settings) -> BackgroundScheduler:
    """A paused scheduler with the jobs of the settings: a job whose trigger did not change
    keeps its persisted next run time (and so its catch-up run); a changed one is replaced."""
    scheduler = BackgroundScheduler(
        jobstores={
            "default": SQLAlchemyJobStore(engine=store.engine, tablename=JOB_TABLE),
            PUSH_STORE: MemoryJobStore(),
        },
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        timezone=settings.zone,
    )
    scheduler.start(paused=True)
    wanted = triggers(settings)
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            job.remove()
    for name, trigger in wanted.items():
        # The name says the schedule, zone included (a trigger's text leaves the zone out).
        title = f"{name}: {trigger} {settings.zone.key}"
        job = scheduler.get_job(name)
        if job is None or job.name != title:
            scheduler.add_job(
                run_job, trigger, args=[name], id=name, name=title, replace_existing=True
            )
    return scheduler


class PollSoon:
    """What new mail announced by the server calls: one poll at once, run by the jobs' one
    worker thread, so never beside another poll. At most one waits at a time: a call while
    one waits is answered by it; a call while one runs queues one more behind it, since the
    running one may have searched the folder before the mail arrived."""

    def __init__(self, scheduler: BackgroundScheduler) -> None:
        self._scheduler = scheduler
        self._lock = threading.Lock()
        self._waiting = False

    def __call__(self) -> None:
        with self._lock:
            if self._waiting:
                return
            self._waiting = True
        # No id: each has its own, so one just started never clashes with the next.
        self._scheduler.add_job(self._poll, name="poll: new mail announced", jobstore=PUSH_STORE)

    def _poll(self) -> None:
        with self._lock:
            self._waiting = False
        run_job("poll")


def watch_mailbox(settings: Settings, scheduler: BackgroundScheduler) -> IdleWatcher | None:
    """The IDLE watcher, started, when `imap.idle` is set for a configured mailbox."""
    if not (settings.imap.idle and settings.imap.host):
        return None
    from mailer.inbound.idle import IdleWatcher

    return IdleWatcher(settings.imap, PollSoon(scheduler)).start()


def serve(
    store: Store,
    settings: Settings,
    clock: Clock = lambda: datetime.now(UTC),
    ready: Callable[[BackgroundScheduler], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT; raises AlreadyRunning when another scheduler has the database."""
    global _current
    stop = threading.Event()
    lost = False
    with only_instance(store.engine) as still_held:
        with store.unit() as session:
            abandon_dead(session, clock())
        _current = Jobs(store, settings, clock, mail_edges(), stopping=stop.is_set)
        scheduler = build(store, settings)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "scheduler: %s received, stopping after the running job",
                signal.Signals(signum).name,
            )
            stop.set()

        previous: dict[int, Any] = {
            s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)
        }
        watcher = None
        try:
            scheduler.resume()
            watcher = watch_mailbox(settings, scheduler)
            for job in scheduler.get_jobs():
                log.info("scheduler: %s next at %s", job.id, job.next_run_time)
            if ready is not None:
                ready(scheduler)
            while not stop.wait(settings.scheduler.lock_check_seconds):
                if not still_held():
                    lost = True
                    log.error("scheduler: lost the database lock (connection gone): stopping")
                    break
        finally:
            if watcher is not None and not watcher.stop(WATCHER_STOP_SECONDS):
                log.warning("scheduler: the IMAP IDLE watcher is still busy; leaving it behind")
            scheduler.shutdown(wait=True)
            for s, handler in previous.items():
                signal.signal(s, handler)
            _current = None
            log.info("scheduler: stopped")
    if lost:
        raise LockLost("the database lock was lost; restart to take it again")
