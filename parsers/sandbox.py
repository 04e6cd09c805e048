"""Parsers run in worker processes with a memory limit, and each call with a time limit, so that
a hostile file costs a worker, never the batch.

The workers (a pebble pool) are forked from a lean server process started once with the
parsers loaded (multiprocessing's forkserver), not from the batch, whose pages a forked worker
would carry; they are reused: a call costs a message on a pipe instead of a new process, which
keeps pecflow's reading as fast as the bare parser. A call past its time is killed with its
worker; a worker is replaced after a number of calls, and a Sandbox lives for one batch.
Workers share nothing with the batch: no database connection, no message it holds.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

T = TypeVar("T")
log = logging.getLogger(__name__)

# A worker is replaced after this many calls, so that no parser's leftovers build up; fresh
# workers start with cold caches (a first PDF costs twice the next), so not too often.
CALLS_PER_WORKER = 200
# A call waits at most its time limit and this much more; past that the workers are in trouble.
GRACE_SECONDS = 30.0


class Rejected(Exception):
    """The input cannot be read; `reason` is what ops see in the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) or 1


class SandboxFailed(Exception):
    """The parser workers stopped answering: not the file's fault, so its message fails and is
    read again when the batch is rerun; the next call starts fresh workers."""


def _workers_context() -> multiprocessing.context.BaseContext:
    """Workers are forked from a lean server process started once, with the parsers loaded,
    not from the batch: a worker forked from a batch that has grown would carry its pages."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["parsers.reading"])
    return context


def _limit_memory(extra: int) -> None:
    """Allow the worker `extra` bytes beyond the address space it inherited at the fork, which
    is the whole running program's and not the parser's to spend."""
    pages = int(Path("/proc/self/statm").read_text().split()[0])
    inherited = pages * os.sysconf("SC_PAGE_SIZE")
    limit = inherited + extra
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


class Sandbox:
    """A pool of parser processes; `run` may be called from several threads at once."""

    def __init__(self, workers: int, memory_bytes: int) -> None:
        self.workers = workers
        self.memory_bytes = memory_bytes
        self._pool = self._start()
        # Guards replacing a failed pool and the set of calls still waiting.
        self._dispatch = threading.Lock()
        self._live: set[Future[Any]] = set()

    def _start(self) -> ProcessPool:
        return ProcessPool(
            max_workers=self.workers,
            max_tasks=CALLS_PER_WORKER,
            initializer=_limit_memory,
            initargs=(self.memory_bytes,),
            context=_workers_context(),
        )

    def run(self, func: Callable[..., T], args: tuple[Any, ...], timeout: float) -> T:
        """func(*args) in a worker; raises Rejected on its error, a timeout, or a crash, and
        SandboxFailed when the workers themselves fail."""
        with self._dispatch:
            if not self._pool.active:
                log.warning("parser workers failed; starting new ones")
                self._pool.stop()
                self._pool = self._start()
            future = self._pool.schedule(func, args, timeout=timeout)
            self._live.add(future)
        try:
            return future.result(timeout=timeout + GRACE_SECONDS)
        except Rejected:
            raise
        except CancelledError:
            raise Rejected("reading was stopped before it finished") from None
        except FutureTimeout:
            if not future.done():
                future.cancel()
                raise SandboxFailed(
                    f"no parser worker answered within {timeout + GRACE_SECONDS:g} s"
                ) from None
            raise Rejected(f"parsing took longer than {timeout:g} s") from None
        except BrokenExecutor as exc:
            raise SandboxFailed(f"the parser workers failed ({exc})") from None
        except ProcessExpired as exc:
            raise Rejected(f"parser crashed (exit code {exc.exitcode})") from None
        except MemoryError:
            raise Rejected("needs more memory than the parse limit allows") from None
        except Exception as exc:
            raise Rejected(f"parser error: {type(exc).__name__}: {str(exc)[:200]}") from None
        finally:
            with self._dispatch:
                self._live.discard(future)

    def close(self) -> None:
        """Stop the workers; a caller still waiting gets Rejected instead of waiting forever."""
        self._pool.stop()
        self._pool.join()
        with self._dispatch:
            for future in self._live:
                future.cancel()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
