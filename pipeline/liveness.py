"""Who runs a batch, and whether that process still lives: a batch left `running` by a process
that was killed is marked abandoned by the next one, never left running for ever.

The owner is `host:boot:pid:start`; the process's start time (from /proc) tells a live owner
from a later process that happens to get the same pid. A batch of another host cannot be judged
from here and is left alone.
"""

from __future__ import annotations

import os
import socket
from contextlib import suppress
from pathlib import Path


def _boot_id() -> str:
    with suppress(OSError):
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    return "-"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot; None when there is no such process,
    "-" when it lives but its start time cannot be read (no /proc)."""
    if not os.path.exists("/proc/self/stat"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "-"  # another user's: alive
        return "-"
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return "-"
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    return stat.rpartition(")")[2].split()[19]


def this_process() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{_boot_id()}:{pid}:{_start_ticks(pid) or '-'}"


def gone(owner: str | None) -> bool:
    """Whether the process that wrote `owner` has certainly ended (on this host)."""
    if not owner:
        return True  # written before owners were recorded: no process of that version is left
    try:
        host, boot, pid_text, start = owner.rsplit(":", 3)
        pid = int(pid_text)
    except ValueError:
        return True
    if host != socket.gethostname():
        return False
    if boot != _boot_id():
        return True  # the machine restarted since
    ticks = _start_ticks(pid)
    if ticks is None:
        return True
    return start != "-" and ticks != "-" and ticks != start
