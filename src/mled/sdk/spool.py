"""The offline spool: writes made while the MLED server is unreachable, kept durably on disk.

When the server cannot be reached, ``HttpBackend`` appends every mutation (experiment creation,
params, tags, seeds, metric batches, end) to a spool file instead, in call order, and replays
the file once the server answers again (or on ``mled sync``). Replay is exactly-once: each
record carries the idempotency key it was first sent with, experiments have client-generated
ids, and params, tags and ends are idempotent by value. A record leaves the spool only after
the server acknowledged it.

File format (``$MLED_HOME/spool/<time>-<pid>-<random>.spool``, mode 0600, one file per
process)::

    frame   := b"MLS1" | u32 payload length | u32 CRC-32 of payload | payload   (little-endian)
    payload := u32 meta length | meta (UTF-8 JSON) | body (raw bytes)
    meta    := {"op": ..., "key": ..., "experiment_id": ..., "data": {...}}

The first frame is a ``header`` (server URL, user, pid); ``ack`` frames record how far replay
got (``data.upto``: the end offset of the last acknowledged record). Every append is
``fsync``'ed before the call returns, so a spooled write survives a crash of the process or
the machine. A torn last frame (the process died mid-append) fails its length or CRC check and
is cut off when the file is next opened. The owning process holds an exclusive ``flock`` on its
file, so ``mled sync`` never replays a file a running process is still writing.

Records the server refuses for good (a 4xx other than 401/403) move to ``spool/rejected/``
with the error, so one bad record never blocks the ones behind it.

Example:
    >>> import tempfile, pathlib
    >>> spool = Spool.create(pathlib.Path(tempfile.mkdtemp()), server="http://h:1", username="a")
    >>> rec = spool.append(SpoolRecord("log_params", "k1", "0190-...", {"params": {"lr": 0.1}}))
    >>> [r.op for r in spool.pending()], spool.pending_count
    (['log_params'], 1)
    >>> spool.ack(rec); spool.pending_count
    0
    >>> spool.close()
"""

from __future__ import annotations

import json
import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mled.errors import MledError, PermissionDenied, Unauthenticated

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock, still correct alone
    fcntl = None  # type: ignore[assignment]

MAGIC = b"MLS1"
FRAME = struct.Struct("<4sII")
META_LEN = struct.Struct("<I")
SUFFIX = ".spool"
FORMAT_VERSION = 1
HEADER_OP = "header"
ACK_OP = "ack"


class Unreachable(Exception):
    """A sender could not get an answer from the server (down, timed out, answer lost).

    The record's fate on the server is unknown, so it stays in the spool: replaying it later
    with the same idempotency key is safe.
    """


@dataclass(frozen=True)
class SpoolRecord:
    """One spooled mutation, replayed as exactly the request it would have been.

    ``key`` is the idempotency key the record keeps across every retry and replay; ``body``
    holds raw request bytes (a compressed metric batch); ``offset``/``end`` locate the record's
    frame in its file once written.
    """

    op: str
    key: str
    experiment_id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    body: bytes = b""
    offset: int = -1
    end: int = -1

    def meta(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "key": self.key,
            "experiment_id": self.experiment_id,
            "data": self.data,
        }


def encode_frame(record: SpoolRecord) -> bytes:
    """The bytes of one frame (see the module docstring)."""
    meta = json.dumps(record.meta(), separators=(",", ":")).encode("utf-8")
    payload = META_LEN.pack(len(meta)) + meta + record.body
    return FRAME.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _decode_payload(payload: bytes, offset: int, end: int) -> SpoolRecord:
    (size,) = META_LEN.unpack_from(payload)
    meta = json.loads(payload[META_LEN.size : META_LEN.size + size])
    return SpoolRecord(
        op=str(meta["op"]),
        key=str(meta.get("key") or ""),
        experiment_id=meta.get("experiment_id"),
        data=dict(meta.get("data") or {}),
        body=payload[META_LEN.size + size :],
        offset=offset,
        end=end,
    )


def read_frames(path: Path, *, bodies: bool = True) -> tuple[list[SpoolRecord], int]:
    """Every intact frame of a file, and the offset where intact data ends.

    With ``bodies=False`` the records come without their bodies (``load_body`` reads one
    later), so scanning a large spool needs little memory.
    """
    records: list[SpoolRecord] = []
    with path.open("rb") as f:
        offset = 0
        while True:
            head = f.read(FRAME.size)
            if len(head) < FRAME.size:
                break
            magic, length, crc = FRAME.unpack(head)
            payload = f.read(length)
            if magic != MAGIC or len(payload) < length or zlib.crc32(payload) != crc:
                break
            end = offset + FRAME.size + length
            try:
                record = _decode_payload(payload, offset, end)
            except (ValueError, KeyError, struct.error):
                break
            records.append(record if bodies else replace(record, body=b""))
            offset = end
    return records, offset


def load_body(path: Path, record: SpoolRecord) -> SpoolRecord:
    """``record`` with its body read back from the file."""
    with path.open("rb") as f:
        f.seek(record.offset + FRAME.size)
        payload = f.read(record.end - record.offset - FRAME.size)
    return _decode_payload(payload, record.offset, record.end)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    """Make a file's creation or removal durable (its directory entry)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _lock(fd: int, *, blocking: bool) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


class Spool:
    """One spool file, held with an exclusive lock by this process while it is open."""

    def __init__(self, path: Path, fd: int, header: dict[str, Any], size: int) -> None:
        self.path = path
        self._fd = fd
        self.header = header
        self._size = size
        self._upto = 0
        self._pending = 0

    @property
    def server(self) -> str:
        return str(self.header.get("server") or "")

    @property
    def username(self) -> str:
        return str(self.header.get("username") or "")

    @property
    def pending_count(self) -> int:
        """Records appended and not yet acknowledged by the server."""
        return self._pending

    @classmethod
    def create(cls, directory: Path, *, server: str, username: str) -> Spool:
        """A new, locked spool file for this process under ``directory``."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = directory / f"{stamp}-{os.getpid()}-{os.urandom(3).hex()}{SUFFIX}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        _lock(fd, blocking=True)
        header = {
            "format": FORMAT_VERSION,
            "server": server,
            "username": username,
            "pid": os.getpid(),
            "created": time.time(),
        }
        frame = encode_frame(SpoolRecord(HEADER_OP, "", None, header))
        _write_all(fd, frame)
        os.fsync(fd)
        _fsync_dir(directory)
        return cls(path, fd, header, len(frame))

    @classmethod
    def claim(cls, path: Path) -> Spool | None:
        """Open an existing spool file for replay; None while another process holds it.

        A torn last frame (left by a crash mid-append) is cut off first.
        """
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return None
        if not _lock(fd, blocking=False):
            os.close(fd)
            return None
        if not path.exists():  # replayed and removed by its owner while we waited
            os.close(fd)
            return None
        records, intact = read_frames(path, bodies=False)
        if not records or records[0].op != HEADER_OP:
            os.close(fd)
            return None
        if intact < os.fstat(fd).st_size:
            os.ftruncate(fd, intact)
            os.fsync(fd)
        spool = cls(path, fd, records[0].data, intact)
        spool._index(records)
        return spool

    def _index(self, records: list[SpoolRecord]) -> list[SpoolRecord]:
        """Track the acknowledged prefix; return the records still to replay."""
        upto = max([int(r.data.get("upto", 0)) for r in records if r.op == ACK_OP] or [0])
        todo = [r for r in records if r.op not in (HEADER_OP, ACK_OP) and r.offset >= upto]
        self._upto, self._pending = upto, len(todo)
        return todo

    def append(self, record: SpoolRecord) -> SpoolRecord:
        """Write ``record`` durably (fsync) and return it with its file position."""
        frame = encode_frame(record)
        offset = self._size
        _write_all(self._fd, frame)
        os.fsync(self._fd)
        self._size += len(frame)
        self._pending += 1
        return replace(record, offset=offset, end=self._size)

    def pending(self) -> Iterator[SpoolRecord]:
        """The records not yet acknowledged, in the order they were appended."""
        records, _ = read_frames(self.path, bodies=False)
        for record in self._index(records):
            yield load_body(self.path, record)

    def ack(self, record: SpoolRecord) -> None:
        """Record durably that the server acknowledged ``record`` (and everything before it)."""
        frame = encode_frame(SpoolRecord(ACK_OP, "", None, {"upto": record.end}))
        _write_all(self._fd, frame)
        os.fsync(self._fd)
        self._size += len(frame)
        self._upto = record.end
        self._pending = max(self._pending - 1, 0)

    def reject(self, record: SpoolRecord, error: MledError) -> Path:
        """Move a record the server refused for good to ``rejected/`` (with the error)."""
        directory = self.path.parent / "rejected"
        directory.mkdir(mode=0o700, exist_ok=True)
        target = directory / self.path.name
        data = {**record.data, "rejected": {"code": error.code, "message": error.message}}
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            if os.fstat(fd).st_size == 0:
                _write_all(fd, encode_frame(SpoolRecord(HEADER_OP, "", None, self.header)))
            _write_all(fd, encode_frame(replace(record, data=data)))
            os.fsync(fd)
        finally:
            os.close(fd)
        self.ack(record)
        return target

    def remove(self) -> None:
        """Delete the file (every record replayed) and release it."""
        self.path.unlink(missing_ok=True)
        _fsync_dir(self.path.parent)
        self.close()

    def close(self) -> None:
        """Release the lock; pending records stay in the file for a later replay."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclass
class ReplayReport:
    """What one replay of one spool file did."""

    path: Path
    replayed: int = 0
    rejected: list[tuple[SpoolRecord, MledError]] = field(default_factory=list)
    remaining: int = 0
    stopped: BaseException | None = None
    """Why replay stopped early: ``Unreachable``, or an auth error to fix before ``mled sync``."""

    @property
    def done(self) -> bool:
        return self.remaining == 0 and self.stopped is None


Sender = Callable[[SpoolRecord], None]
"""Sends one record: returns once acknowledged (2xx or a duplicate), raises ``Unreachable``
when the outcome is unknown, or the ``MledError`` the server answered with."""


def replay(spool: Spool, send: Sender) -> ReplayReport:
    """Send the pending records of ``spool`` in order, acknowledging each as it succeeds.

    Stops (keeping the rest) when the server is unreachable or refuses the credentials
    (401/403: fixable, so the records are kept); other refusals are moved to ``rejected/``.
    """
    report = ReplayReport(spool.path)
    for record in spool.pending():
        try:
            send(record)
        except Unreachable as err:
            report.stopped = err
            break
        except (Unauthenticated, PermissionDenied) as err:
            report.stopped = err
            break
        except MledError as err:
            spool.reject(record, err)
            report.rejected.append((record, err))
            continue
        spool.ack(record)
        report.replayed += 1
    report.remaining = spool.pending_count
    return report


def spool_files(directory: Path) -> list[Path]:
    """Every spool file under ``directory``, oldest first (names start with the time)."""
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"*{SUFFIX}"))
