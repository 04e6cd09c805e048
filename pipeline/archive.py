"""Raw bytes kept by content hash: write-once, readable by the service user only."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if self.path(sha).exists():  # write-once: the same bytes again cost no write
            return sha
        return self.put_stream(io.BytesIO(data))[0]

    def put_stream(self, stream: BinaryIO, *, sync: bool = True) -> tuple[str, int]:
        """Store a file of any size without holding it in memory; returns hash and size.
        `sync=False`: the caller makes it durable with `sync` before relying on it (one
        wait for a group of files instead of one each)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                if sync:
                    os.fsync(out.fileno())
            sha = digest.hexdigest()
            self._publish(Path(tmp), sha)
        except OSError as exc:
            if exc.filename is None:  # a write on a full disk names no file: name the archive
                exc.filename = str(self.root)
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return sha, size

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def sync(self, shas: Iterable[str]) -> None:
        """Make these files durable. The waits overlap (fsync lets other threads run), so the
        disk can commit them together."""
        paths = [self.path(sha) for sha in dict.fromkeys(shas)]
        if len(paths) <= 1:
            for path in paths:
                _fsync(path)
            return
        with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
            list(pool.map(_fsync, paths))

    def readable(self, sha256: str) -> str | bytes:
        """What a parser worker reads the bytes from: the file's path (handing over a path,
        not the bytes, keeps large messages out of the batch's memory)."""
        return str(self.path(sha256))

    def head(self, sha256: str, size: int) -> bytes:
        with self.path(sha256).open("rb") as handle:
            return handle.read(size)

    def remove(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def _publish(self, tmp: Path, sha: str) -> None:
        # A hard link never replaces an existing file: what is archived stays as it was.
        final = self.path(sha)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(tmp, 0o400)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, final)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DryRunArchive(Archive):
    """Reads the real archive, keeps new bytes in memory: a dry run writes nothing to disk."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._new: dict[str, bytes] = {}

    def put_stream(self, stream: BinaryIO, *, sync: bool = True) -> tuple[str, int]:
        data = stream.read()
        sha = hashlib.sha256(data).hexdigest()
        self._new[sha] = data
        return sha, len(data)

    def get(self, sha256: str) -> bytes:
        return self._new[sha256] if sha256 in self._new else super().get(sha256)

    def sync(self, shas: Iterable[str]) -> None:
        return None  # nothing was written

    def readable(self, sha256: str) -> str | bytes:
        """New bytes have no file: the worker is handed them."""
        return self._new[sha256] if sha256 in self._new else super().readable(sha256)

    def head(self, sha256: str, size: int) -> bytes:
        return self.get(sha256)[:size]

    def remove(self, sha256: str) -> None:
        self._new.pop(sha256, None)
