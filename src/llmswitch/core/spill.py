"""Ledger records a database outage leaves over, kept in local files until the database is back.

Each spill is a new file, `<spill_path>.<pid>-<n>`, written whole (a line per batch: its id and its
records) and held under an exclusive `flock` while it is written or replayed. Any gateway process
replays the files nobody holds, its own or those a stopped or crashed one left, and deletes each
once its batches are in the database. A batch keeps its id in the file, so one replayed twice (a
crash between the database's commit and the file's deletion) is still written once (`store.usage`).
Blocking file work: the writer runs these functions in a thread.
"""

from __future__ import annotations

import fcntl
import glob
import itertools
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import msgspec

from llmswitch.core.records import RequestRecord

log = logging.getLogger("llmswitch.usage")


class Batch(msgspec.Struct, gc=False):
    """Records written together, once, under their batch's id."""

    id: str
    records: list[RequestRecord]


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Batch)
_numbers = itertools.count(1)


def spill(path: str, batches: list[Batch]) -> str:
    """Write BATCHES to a new spill file named after PATH; its name."""
    name = f"{path}.{os.getpid()}-{next(_numbers)}"
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # records name keys and clients
    with os.fdopen(fd, "wb") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        for batch in batches:
            file.write(_encoder.encode(batch) + b"\n")
        file.flush()
        os.fsync(file.fileno())
    return name


def spilled(path: str) -> list[str]:
    """The spill files named after PATH, oldest first."""
    return sorted(glob.glob(glob.escape(path) + ".*"), key=_age)


class Claim:
    """A spill file held by this process (an exclusive `flock`) and the batches read from it."""

    def __init__(self, name: str, file: BinaryIO, batches: list[Batch]):
        self.name = name
        self.file = file
        self.batches = batches

    def release(self, written: bool) -> None:
        """Let the file go; WRITTEN: its batches are in the database, so it is deleted first."""
        try:
            if written:
                os.unlink(self.name)
        finally:
            self.file.close()


def claim(name: str) -> Claim | None:
    """The spill file NAME, held against every other process until released; None when another
    process holds it or it is gone. A line that cannot be read (a file cut short by a crash while it
    was written) is logged and skipped."""
    try:
        file = open(name, "rb")  # noqa: SIM115  (held until the claim is released)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    batches = []
    with _closed_on_error(file):
        for number, line in enumerate(file, 1):
            try:
                batches.append(_decoder.decode(line))
            except msgspec.DecodeError:
                log.warning("usage spill file %s: line %d cannot be read; its records are lost", name, number)
    return Claim(name, file, batches)


@contextmanager
def _closed_on_error(file: BinaryIO) -> Iterator[None]:
    try:
        yield
    except BaseException:
        file.close()
        raise


def _age(name: str) -> float:
    try:
        return os.stat(name).st_mtime
    except FileNotFoundError:
        return 0.0
