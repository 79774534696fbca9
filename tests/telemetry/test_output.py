"""The stderr line writer: lines queued from the loop reach the descriptor in batches, whole."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from llmswitch.telemetry.output import PIPE_BUF, Lines


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    os.close(read)
    os.close(write)


def read_all(fd: int) -> list[bytes]:
    """Every write waiting in the pipe, one read each (a pipe keeps no boundaries: reads of PIPE_BUF)."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, PIPE_BUF)
        except BlockingIOError:
            return chunks
        chunks.append(chunk)


def test_queued_lines_are_written_in_order_once_closed(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = Lines(write)
    for n in range(100):
        lines.write(b"line %d\n" % n)
    lines.close()
    assert b"".join(read_all(read)).splitlines() == [b"line %d" % n for n in range(100)]


def test_the_writer_thread_writes_without_being_asked(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = Lines(write)
    lines.write(b"soon\n")
    os.set_blocking(read, True)
    assert os.read(read, PIPE_BUF) == b"soon\n"  # blocks until the writer thread's batch went out
    lines.close()


class Recording(Lines):
    """Lines that keep each write they make instead of making it."""

    def __init__(self) -> None:
        super().__init__(-1)
        self.writes: list[bytes] = []

    def _write_all(self, data: bytes) -> None:
        self.writes.append(data)


def test_a_batch_is_written_in_pieces_that_end_at_line_ends() -> None:
    lines = Recording()
    for n in range(200):  # 20,000 bytes
        lines.write(b"%03d" % n + b"x" * 96 + b"\n")
    lines.close()
    assert len(lines.writes) >= 5
    assert all(len(piece) <= PIPE_BUF and piece.endswith(b"\n") for piece in lines.writes)
    assert b"".join(lines.writes).splitlines()[-1].startswith(b"199")


def test_a_broken_descriptor_drops_the_lines_quietly() -> None:
    read, write = os.pipe()
    os.close(read)  # nobody reads: a write fails with EPIPE
    lines = Lines(write)
    lines.write(b"lost\n")
    lines.close()  # returns; nothing raised
    os.close(write)
