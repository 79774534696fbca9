"""Where a worker counts its metrics: numbered slots of doubles, readable by every other worker.

With `serve --workers N` a scrape lands on any one worker and must report the sum over all of them.
So each worker counts into its own pair of files in a directory the supervisor makes in shared
memory (`/dev/shm`): `<pid>.values`, an array of doubles mapped into the worker's memory (counting
is a store into it: no system call, nothing to publish later), and `<pid>.index`, one JSON line per
series naming its first slot, appended when the series first appears (labels are bounded, so that
is rare). The scraped worker reads every pair and adds them up, exactly, whenever it is scraped. A
worker that exits leaves its files behind, so what it counted stays in the totals: a counter never
goes backwards. Each file has one writer, and a slot is an aligned 8-byte store a reader never sees
half done.

A gateway with one worker keeps the same slots in a plain list: there is nothing to share.
"""

from __future__ import annotations

import mmap
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson

SLOT = 8  # bytes: one double
FIRST_CAPACITY = 4096  # slots a worker's file starts with (32 KB, in pages tmpfs fills as they are used)
SHARED_MEMORY = Path("/dev/shm")


@dataclass(frozen=True, slots=True)
class Series:
    """One labelled series of a metric family: its slots start at `base`."""

    family: str
    labels: str  # rendered once: `model="gpt-4o",provider="openai"`
    base: int


@dataclass(frozen=True, slots=True)
class WorkerSlots:
    """What one worker has counted, as a scrape reads it."""

    series: Sequence[Series]
    values: Sequence[float]
    alive: bool  # a gone worker's gauges no longer describe anything; its counters still count


class Slots:
    """This worker's values (`values[slot]`) and the series that own them, in memory."""

    def __init__(self) -> None:
        self.values: list[float] | memoryview = []
        self.series: list[Series] = []
        self._used = 0

    def allocate(self, family: str, labels: str, width: int) -> int:
        """WIDTH new slots, at zero, for a new series; returns the first."""
        base = self._used
        self._used += width
        self._reserve(self._used)
        series = Series(family, labels, base)
        self.series.append(series)
        self._publish(series)
        return base

    def _reserve(self, used: int) -> None:
        assert isinstance(self.values, list)
        self.values.extend([0.0] * (used - len(self.values)))

    def _publish(self, series: Series) -> None:
        """Nobody else reads a lone worker's series."""


class SharedSlots(Slots):
    """This worker's slots in its files under DIRECTORY, which the other workers read."""

    def __init__(self, directory: Path, pid: int):
        super().__init__()
        flags = os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        self._values_fd = os.open(directory / f"{pid}.values", flags | os.O_RDWR, 0o600)
        self._index_fd = os.open(directory / f"{pid}.index", flags | os.O_WRONLY | os.O_APPEND, 0o600)
        self._maps: list[mmap.mmap] = []  # a grown file is mapped anew; earlier maps stay valid
        self._capacity = 0
        self._grow(FIRST_CAPACITY)

    def _reserve(self, used: int) -> None:
        if used > self._capacity:
            self._grow(max(used, 2 * self._capacity))

    def _grow(self, capacity: int) -> None:
        os.ftruncate(self._values_fd, capacity * SLOT)  # new slots read as 0.0
        mapped = mmap.mmap(self._values_fd, capacity * SLOT)
        self._maps.append(mapped)
        self.values = memoryview(mapped).cast("d")
        self._capacity = capacity

    def _publish(self, series: Series) -> None:
        # After the slots exist in the file: a reader that sees the line can read them.
        os.write(self._index_fd, orjson.dumps([series.family, series.labels, series.base]) + b"\n")


class _Peer:
    """Another worker's files, read as far as they have been written."""

    def __init__(self, directory: Path, pid: int):
        self.pid = pid
        self._index = directory / f"{pid}.index"
        self._values = directory / f"{pid}.values"
        self._offset = 0
        self.series: list[Series] = []
        self._map: mmap.mmap | None = None

    def read(self) -> WorkerSlots | None:
        with open(self._index, "rb") as index:
            index.seek(self._offset)
            written = index.read()
        complete = written.rfind(b"\n") + 1  # a line still being written waits for the next scrape
        for line in written[:complete].splitlines():
            family, labels, base = orjson.loads(line)
            self.series.append(Series(family, labels, base))
        self._offset += complete
        with open(self._values, "rb") as values:  # mapped after the index: it holds every slot named
            size = os.fstat(values.fileno()).st_size
            if size == 0:
                return None
            if self._map is None or len(self._map) != size:
                self._map = mmap.mmap(values.fileno(), size, prot=mmap.PROT_READ)
        return WorkerSlots(self.series, memoryview(self._map).cast("d"), alive(self.pid))


class Peers:
    """Every other worker that has counted into DIRECTORY, this one (OWN_PID) left out."""

    def __init__(self, directory: Path, own_pid: int):
        self.directory = directory
        self.own_pid = own_pid
        self._peers: dict[int, _Peer] = {}

    def read(self) -> list[WorkerSlots]:
        found: list[WorkerSlots] = []
        for path in self.directory.glob("*.index"):
            pid = int(path.stem)
            if pid == self.own_pid:
                continue
            peer = self._peers.get(pid)
            if peer is None:
                peer = self._peers[pid] = _Peer(self.directory, pid)
            slots = peer.read()
            if slots is not None:
                found.append(slots)
        return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def workers_directory() -> Iterator[Path]:
    """The directory the workers of one `serve --workers N` count in: in shared memory where there is
    one, removed when they are all done."""
    parent = SHARED_MEMORY if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK) else None
    directory = Path(tempfile.mkdtemp(prefix="llmswitch-metrics-", dir=parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
