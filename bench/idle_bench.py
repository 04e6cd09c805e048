"""The idle poll: what a scheduler poll costs when nothing is new, and whether the scheduler's
memory stays flat over thousands of them.

    .venv/bin/python bench/idle_bench.py [--quick] [--pg URL]

A private Dovecot (loopback) holds an INBOX of 100,000 messages (`--quick`: 10,000), written
as a Maildir straight into its mail store (APPENDing as many takes many minutes), all
already processed: flagged with `imap.keyword` (`imap.after = "flag"`), a `messages` row
each, the folder's cursor at its top UID. The poll is the scheduler's own job, called as
APScheduler calls it (`jobs.scheduler.run_job("poll")`), in this process, on SQLite in a
folder of its own (`--pg URL`: a PostgreSQL database of its own on that server).

- idle poll: the median seconds of a poll with nothing new, and the IMAP commands it sends
  (on stderr). Floor: a bare imapclient login, SELECT and `UID SEARCH` above the top UID on
  the same folder. Target: < 0.2 s.
- soak: WARM_UP_POLLS polls, then 10,000 more (`--quick`: 1,000), the resident set sampled
  after the warm-up and every 500 (100) polls; the samples and their slope go to stderr.
  Figure: the growth from the first sample to the last. Target: flat (under FLAT_MB).

Every loop is bounded; Dovecot and the temporary folders are removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bench.backlog_bench import print_rows  # noqa: E402
from bench.scratch_database import scratch_database  # noqa: E402
from bench.speed_rows import Row  # noqa: E402
from tests.conftest import free_port  # noqa: E402
from tests.dovecot import MAIL_UID, PASSWORD, USER, Dovecot, commands_sent  # noqa: E402

KEYWORD = "PecflowDone"
ARRIVED = datetime(2026, 11, 20, 9, 40, tzinfo=UTC)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday morning, the office open
TARGET_S = 0.2
FLAT_MB = 2.0  # the allocator's noise; a leak of 200 bytes a poll adds that in 10,000
# Each IMAP connection compiles a tag pattern of its own, which `re` keeps in its cache of
# 512: a growth of some 300 KB that stops after 512 polls, not a leak.
WARM_UP_POLLS = 600
# The mail store's 100,000 files are written five times faster in memory than on this disk.
RAM_DISK = Path("/dev/shm")  # noqa: S108 (mkdtemp makes a private folder in it)


def write_maildir(dovecot: Dovecot, count: int) -> None:
    """`count` small messages in the INBOX's Maildir, seen and carrying the keyword (letter
    `a`: the first in `dovecot-keywords`), owned by the mail user as Dovecot leaves them."""
    box = dovecot.mail / USER / "Maildir"
    for folder in (dovecot.mail / USER, box, box / "cur", box / "new", box / "tmp"):
        folder.mkdir(exist_ok=True)
        os.chown(folder, MAIL_UID, MAIL_UID)
    keywords = box / "dovecot-keywords"
    keywords.write_text(f"0 {KEYWORD}\n", encoding="ascii")
    os.chown(keywords, MAIL_UID, MAIL_UID)
    stamp = int(ARRIVED.timestamp())
    for n in range(count):
        raw = (
            f"From: cliente{n}@example.it\r\nTo: amministrazione@example.it\r\n"
            f"Subject: domanda {n}\r\nMessage-ID: <idle-{n}@example.it>\r\n"
            f"Date: Fri, 20 Nov 2026 10:40:00 +0100\r\n\r\nBuongiorno, una domanda ({n}).\r\n"
        ).encode()
        path = box / "cur" / f"{stamp}.M{n}P1.bench,S={len(raw)}:2,Sa"
        path.write_bytes(raw)
        os.chown(path, MAIL_UID, MAIL_UID)
        os.utime(path, (stamp, stamp))


def _login(dovecot: Dovecot) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False, timeout=30)
    client.login(USER, PASSWORD)
    return client


def folder_top(dovecot: Dovecot) -> tuple[int, int]:
    """The folder's UIDVALIDITY and top UID (this first SELECT builds Dovecot's index)."""
    with _login(dovecot) as client:
        info = client.select_folder("INBOX", readonly=True)
    return int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]) - 1


def bare_poll(dovecot: Dovecot) -> None:
    """The floor: log in, SELECT, `UID SEARCH` above the top UID, log out."""
    with _login(dovecot) as client:
        info = client.select_folder("INBOX")
        client.search(["UID", f"{int(info[b'UIDNEXT'])}:*", "UNKEYWORD", KEYWORD])


def store_processed(url: str, uidvalidity: int, top: int) -> None:
    """The schema, a processed and filed `messages` row for every UID, the cursor at the top."""
    from pipeline.store.db import make_engine, upgrade
    from pipeline.store.models import MailboxState, Message

    def row(uid: int) -> dict[str, object]:
        return {"source": "imap", "source_id": f"INBOX/{uidvalidity}/{uid}",
                "message_id_header": f"<idle-{uid - 1}@example.it>", "sha256": f"{uid:064x}",
                "size": 200, "raw_format": "rfc822", "received_at": ARRIVED,
                "ingested_at": ARRIVED, "outcome": "ignored" if uid % 3 else "review",
                "processed_at": ARRIVED, "acked_at": ARRIVED, "facts": {}}  # fmt: skip

    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            for start in range(1, top + 1, 5000):
                uids = range(start, min(start + 5000, top + 1))
                conn.execute(insert(Message), [row(uid) for uid in uids])
            cursor = {"folder": "INBOX", "uidvalidity": uidvalidity, "last_uid": top}
            conn.execute(insert(MailboxState), [{**cursor, "updated_at": ARRIVED}])
    finally:
        engine.dispose()


@contextmanager
def idle_folder(count: int, pg: str | None) -> Iterator[tuple[Dovecot, str, Path]]:
    """A Dovecot whose INBOX holds `count` processed messages, and a store that knows them."""
    work = Path(tempfile.mkdtemp(prefix="pecflow-idle-"))
    dovecot = Dovecot(parent=RAM_DISK if RAM_DISK.is_dir() else None).start()
    try:
        started = time.monotonic()
        write_maildir(dovecot, count)
        uidvalidity, top = folder_top(dovecot)
        with scratch_database(pg, work) as url:
            store_processed(url, uidvalidity, top)
            print(f"setup: {top:,} messages in the folder and the store in "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr)  # fmt: skip
            yield dovecot, url, work
    finally:
        dovecot.stop()
        shutil.rmtree(work, ignore_errors=True)


@contextmanager
def poll_job(dovecot: Dovecot, url: str, work: Path) -> Iterator[Callable[[], None]]:
    """The scheduler's poll as `pecflow scheduler` runs it: `run_job("poll")` on the `Jobs`
    a running scheduler holds, here in this process."""
    from pydantic import SecretStr

    from config import Settings
    from config.settings import DatabaseSettings, ImapSettings, PathsSettings, SmtpSettings
    from jobs import scheduler
    from jobs.edges import mail_edges
    from mailer.outbound.writer import MailWriter
    from pipeline.services.scheduled import Jobs
    from pipeline.store.db import open_store

    settings = Settings(
        paths=PathsSettings(data_dir=work / "data", drop_folder=work / "drop"),
        database=DatabaseSettings(url=SecretStr(url)),
        imap=ImapSettings(host="127.0.0.1", port=dovecot.port, security="plain",
                          allow_plain=True, username=USER, password=SecretStr(PASSWORD),
                          after="flag", keyword=KEYWORD),
        smtp=SmtpSettings(port=free_port()),  # nothing is due: never dialled
    )  # fmt: skip
    settings.paths.drop_folder.mkdir(parents=True, exist_ok=True)
    store = open_store(url, renderer=MailWriter())
    scheduler._current = Jobs(store, settings, lambda: NOW, mail_edges())
    try:
        yield lambda: scheduler.run_job("poll")
    finally:
        scheduler._current = None
        store.engine.dispose()


def timed(call: Callable[[], object], times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append(time.perf_counter() - started)
    return spent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def soak(poll: Callable[[], None], polls: int, every: int) -> list[float]:
    """The resident set (MB) after the warm-up, then after every `every` polls of `polls`."""
    for _ in range(WARM_UP_POLLS):
        poll()
    samples = [rss_mb()]
    for done in range(1, polls + 1):
        poll()
        if done % every == 0:
            samples.append(rss_mb())
    return samples


def measure(quick: bool = False, pg: str | None = None) -> list[Row]:
    count, polls, every = (10_000, 1_000, 100) if quick else (100_000, 10_000, 500)
    with idle_folder(count, pg) as (dovecot, url, work), poll_job(dovecot, url, work) as poll:
        timed(poll, 3)  # warm-up: Dovecot's index and caches, the first connections
        with commands_sent() as sent:
            poll()
        print(f"an idle poll sends: {' '.join(sent)}", file=sys.stderr)
        figure = statistics.median(timed(poll, 21))
        floor = statistics.median(timed(lambda: bare_poll(dovecot), 21))
        samples = soak(poll, polls, every)
    slope = statistics.linear_regression(range(len(samples)), samples).slope * 1000 / every
    print(f"soak: RSS every {every} polls (MB): {' '.join(f'{s:.1f}' for s in samples)}; "
          f"slope {slope:+.3f} MB per 1,000 polls", file=sys.stderr)  # fmt: skip
    growth = samples[-1] - samples[0]
    return [
        Row(f"idle poll, {count:,} messages in the folder", figure, floor, "s",
            "bare SELECT+SEARCH", f"< {TARGET_S} s", figure < TARGET_S),
        Row(f"scheduler RSS growth over {polls:,} idle polls", growth, samples[0],
            "MB", "RSS at warm-up", "flat", growth < FLAT_MB),
    ]  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", metavar="URL", help="the store on this PostgreSQL server")
    options = parser.parse_args()
    print_rows(measure(options.quick, options.pg))
