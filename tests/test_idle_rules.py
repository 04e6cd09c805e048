"""The IDLE watcher's timing and reading, without a server: the backoff between connections,
when an IDLE is re-issued, which of the server's words mean new mail; and how the polls it
asks for queue in the scheduler."""

from __future__ import annotations

import threading
import time

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from hypothesis import given
from hypothesis import strategies as st

import jobs.scheduler as scheduler_module
from config import Settings
from jobs.scheduler import PUSH_STORE, PollSoon
from mailer.inbound.idle import (
    MAX_BACKOFF_SECONDS,
    REISSUE_SECONDS,
    STOP_CHECK_SECONDS,
    announces_new_mail,
    backoff_seconds,
    check_timeout,
    failures_in_a_row,
    woke_early,
)

draws = st.floats(0, 1, exclude_max=True)
failures = st.integers(1, 10**6)


@given(failures, draws)
def test_a_backoff_is_never_under_half_a_second_nor_over_five_minutes(count, draw) -> None:
    assert 0.5 <= backoff_seconds(count, draw) <= MAX_BACKOFF_SECONDS


@given(failures, draws)
def test_a_backoff_never_shrinks_as_failures_go_on(count, draw) -> None:
    assert backoff_seconds(count + 1, draw) >= backoff_seconds(count, draw)


def test_the_backoff_doubles_from_a_second_and_stops_at_five_minutes() -> None:
    ceilings = [backoff_seconds(n, 1 - 1e-12) for n in range(1, 12)]
    assert [round(c) for c in ceilings] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    assert backoff_seconds(1, 0) == 0.5  # jitter takes at most half of the step


def test_only_a_connection_that_held_a_minute_ends_a_run_of_failures() -> None:
    assert failures_in_a_row(0, None) == 1  # the first refusal
    assert failures_in_a_row(3, None) == 4  # refused again
    assert failures_in_a_row(3, 5.0) == 4  # accepted, then dropped at once: still backing off
    assert failures_in_a_row(3, 60.0) == 1  # it had worked: back to a second


@given(st.floats(0, 1e6), st.floats(0, 2 * REISSUE_SECONDS))
def test_a_wait_never_runs_past_the_reissue_nor_the_next_stop_check(started, elapsed) -> None:
    timeout = check_timeout(started, started + elapsed)
    assert 0 <= timeout <= STOP_CHECK_SECONDS
    assert elapsed + timeout <= REISSUE_SECONDS + 1e-6 or timeout == 0


def test_an_idle_is_reissued_after_25_minutes() -> None:
    assert check_timeout(100.0, 100.0 + 24 * 60) == STOP_CHECK_SECONDS
    assert check_timeout(100.0, 100.0 + 25 * 60 - 0.25) == 0.25  # the last wait ends on time
    assert check_timeout(100.0, 100.0 + 25 * 60) == 0
    assert check_timeout(0.0, 9.0, every=10.0) == 1.0
    assert check_timeout(0.0, 10.0, every=10.0) == 0


def test_exists_and_recent_announce_new_mail_and_nothing_else_does() -> None:
    assert announces_new_mail([(3, b"EXISTS")])
    assert announces_new_mail([(b"OK", b"Still here"), (1, b"recent")])
    assert not announces_new_mail([(1, b"EXPUNGE"), (0, b"RECENT")])  # our own poll's MOVE
    assert not announces_new_mail([])
    assert not announces_new_mail([(b"OK", b"Still here")])
    assert not announces_new_mail([(2, b"EXPUNGE"), (1, b"FETCH", (b"FLAGS", (b"\\Seen",)))])


@given(st.lists(st.one_of(st.none(), st.integers(), st.binary(), st.tuples(st.binary()))))
def test_odd_server_words_are_not_new_mail_and_never_raise(responses) -> None:
    assert not announces_new_mail(responses)


def test_an_empty_answer_long_before_the_timeout_is_a_wait_that_woke_early() -> None:
    assert woke_early([], 0.001, 1.0)  # a closed connection: imapclient answers [] at once
    assert not woke_early([], 1.0, 1.0)  # the wait ran its course: nothing happened
    assert not woke_early([(b"OK", b"Still here")], 0.001, 1.0)  # the server spoke


class _Polls:
    """Stands in for the scheduler's jobs: counts polls, holds the first one until released,
    and records how many ever ran at once."""

    settings = Settings()

    def __init__(self) -> None:
        self.started = self.running = self.most = 0
        self.first_running = threading.Event()
        self.release = threading.Event()

    def stopping(self) -> bool:
        return False

    def poll(self) -> None:
        self.started += 1
        self.running += 1
        self.most = max(self.most, self.running)
        self.first_running.set()
        self.release.wait(5)
        self.running -= 1


def test_mail_announced_during_a_poll_queues_one_poll_behind_it_never_beside_it(
    monkeypatch,
) -> None:
    polls = _Polls()
    monkeypatch.setattr(scheduler_module, "_current", polls)
    scheduler = BackgroundScheduler(
        jobstores={PUSH_STORE: MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
    )
    scheduler.start()
    try:
        soon = PollSoon(scheduler)
        soon()
        assert polls.first_running.wait(5)
        for _ in range(5):  # a burst of EXISTS while the first poll runs
            soon()
        polls.release.set()
        deadline = time.monotonic() + 5
        while polls.started < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # a third poll, wrongly queued, would have started by now
    finally:
        scheduler.shutdown(wait=True)
    assert (polls.started, polls.most) == (2, 1)
