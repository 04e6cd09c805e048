"""Run a parser in a child process with a time and memory limit, so hostile files cost nothing.

Children are forked: a fork costs milliseconds, where a fork server or spawn re-imports the
main program (a second or so per document). The child only parses and leaves with os._exit,
never touching the parent's connections; logging re-creates its locks after a fork.
"""

from __future__ import annotations

import multiprocessing
import resource
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("fork")


class Rejected(Exception):
    """The input cannot be read; `reason` is what ops see in the quarantine."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    timeout_seconds: float
    memory_bytes: int


def _child(conn: Connection, limit: int, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("ok", func(*args)))
    except Rejected as exc:
        conn.send(("rejected", exc.reason))
    except MemoryError:
        conn.send(("rejected", "needs more memory than the parse limit allows"))
    except Exception as exc:
        conn.send(("rejected", f"parser error: {type(exc).__name__}: {str(exc)[:200]}"))
    finally:
        conn.close()


def run_limited(func: Callable[..., T], args: tuple[Any, ...], limits: Limits) -> T:
    """func(*args) in a child; raises Rejected on its error, a timeout, or a crash."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, limits.memory_bytes, func, args))
    process.start()
    sender.close()
    try:
        if not receiver.poll(limits.timeout_seconds):
            raise Rejected(f"parsing took longer than {limits.timeout_seconds:g} s")
        try:
            status, value = receiver.recv()
        except EOFError:
            process.join(5)
            raise Rejected(f"parser crashed (exit code {process.exitcode})") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(5)
        receiver.close()
    if status == "rejected":
        raise Rejected(value)
    return value
