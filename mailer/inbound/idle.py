"""IMAP IDLE (RFC 2177): one connection waiting on the folder, so that the scheduler polls as
soon as the server announces new mail instead of at the next crontab slot.

When to re-issue, how long to back off and what counts as new mail are plain functions;
`IdleWatcher` is the thread and the connection around them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from imapclient import IMAPClient

from config.settings import ImapSettings
from mailer.inbound.imap import ImapError, ImapMailbox

log = logging.getLogger(__name__)

REISSUE_SECONDS = 25 * 60.0  # RFC 2177: a server may end an IDLE after 30 minutes
STOP_CHECK_SECONDS = 1.0  # the longest single wait: a stop is noticed this fast
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 300.0
_MAX_DOUBLINGS = 16  # well past the cap; keeps 2**n a small number whatever the count
STEADY_SECONDS = 60.0  # a connection that held this long had worked: its end starts afresh


def backoff_seconds(failures: int, draw: float) -> float:
    """The wait before connecting again after `failures` failures in a row (1, 2, …): doubling
    from a second up to five minutes, each taken in the upper half of its step by `draw` (in
    [0, 1)), so that watchers cut off together do not all come back at the same instant."""
    step = FIRST_BACKOFF_SECONDS * 2 ** min(max(failures, 1) - 1, _MAX_DOUBLINGS)
    return min(MAX_BACKOFF_SECONDS, step) * (1 + draw) / 2


def failures_in_a_row(before: int, held: float | None) -> int:
    """The failures in a row once a connection failed or ended, `held` seconds after it was
    watching (None: it never was). One that had held STEADY_SECONDS starts a new run; one
    that ended sooner adds to the run, so that a server which accepts and drops at once
    backs off like one that refuses (each connection asks for a poll)."""
    return 1 if held is not None and held >= STEADY_SECONDS else before + 1


def check_timeout(started: float, now: float, every: float = REISSUE_SECONDS) -> float:
    """How long the next wait for the server may last: until the next stop check or the
    IDLE's re-issue, whichever comes first; 0 when the IDLE is due to be re-issued."""
    return max(0.0, min(STOP_CHECK_SECONDS, started + every - now))


def announces_new_mail(responses: Sequence[Any]) -> bool:
    """Whether the server's untagged responses (`(3, b'EXISTS')`…, as imapclient parses them)
    say mail arrived: an EXISTS, or a RECENT above 0. A RECENT of 0 is mail leaving (our own
    poll moving it out answers `1 EXPUNGE`, `0 RECENT`), and `OK Still here`, EXPUNGE or a
    FETCH of flags is no news either."""
    return any(_is_new_mail(r) for r in responses)


def _is_new_mail(response: Any) -> bool:
    if not (isinstance(response, tuple) and len(response) >= 2):
        return False
    count, word = response[0], response[1]
    if not (isinstance(word, bytes) and isinstance(count, int)):
        return False
    return word.upper() == b"EXISTS" or (word.upper() == b"RECENT" and count > 0)


def woke_early(responses: Sequence[Any], waited: float, timeout: float) -> bool:
    """Whether a wait ended with nothing well before its time. imapclient's `idle_check`
    answers a closed connection with an empty list at once (imapclient issue 565); ending the
    IDLE then tells a live server from a dead one."""
    return not responses and waited < timeout / 2


class IdleWatcher:
    """A daemon thread keeping one IDLE on `settings.folder`. `on_new_mail` is called from it
    when the server announces mail, and after each connection, since what arrived while no one
    watched was announced to no one. A dropped or refused connection is tried again after
    `backoff_seconds`; a server without IDLE is said once, and the thread ends."""

    def __init__(
        self,
        settings: ImapSettings,
        on_new_mail: Callable[[], None],
        *,
        reissue_seconds: float = REISSUE_SECONDS,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.settings = settings
        self.on_new_mail = on_new_mail
        self.reissue_seconds = reissue_seconds
        self._draw = draw
        self._failures = 0
        self._watching_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="imap-idle", daemon=True)

    def start(self) -> IdleWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float) -> bool:
        """Ask the thread to end, and wait for it at most `timeout` seconds: whether it did."""
        self._stop.set()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._watching_since = None
            try:
                self._watch()
                return  # stopped, or the server offers no IDLE
            except ImapError as exc:
                reason = str(exc)
            except Exception as exc:  # a long-lived thread: anything else waits and retries too
                reason = f"IDLE watcher failed: {type(exc).__name__}"
                log.debug("IMAP IDLE watcher failed", exc_info=True)
            since = self._watching_since
            held = None if since is None else time.monotonic() - since
            self._failures = failures_in_a_row(self._failures, held)
            delay = backoff_seconds(self._failures, self._draw())
            log.warning("%s; watching again in %.1f s", reason, delay)
            self._stop.wait(delay)

    def _watch(self) -> None:
        s = self.settings
        with ImapMailbox(s) as box, box.driving(f"idle on {s.folder}") as client:
            if not client.has_capability("IDLE"):
                log.warning(
                    "IMAP %s:%s offers no IDLE: new mail waits for the crontab poll",
                    s.host,
                    s.port,
                )
                return
            client.select_folder(s.folder, readonly=True)
            log.info("IMAP IDLE: watching %s on %s:%s", s.folder, s.host, s.port)
            self._watching_since = time.monotonic()
            self.on_new_mail()
            while not self._stop.is_set():
                self._idle_once(client)

    def _idle_once(self, client: IMAPClient) -> None:
        """One IDLE, until it is due to be re-issued, a stop, or a wait that ended early."""
        client.idle()
        started = time.monotonic()
        while not self._stop.is_set():
            timeout = check_timeout(started, time.monotonic(), self.reissue_seconds)
            if timeout <= 0:
                break
            before = time.monotonic()
            responses = client.idle_check(timeout=timeout)
            if announces_new_mail(responses):
                self.on_new_mail()
            elif woke_early(responses, time.monotonic() - before, timeout):
                break  # DONE is answered by a live server; a dead one raises
        _text, responses = client.idle_done()
        if announces_new_mail(responses):
            self.on_new_mail()
