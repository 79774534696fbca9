"""The stderr lines: queued, written in batches by the loop (at once without one), whole, in order."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from llmswitch.telemetry.output import BATCH_S, PIPE_BUF, Lines


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    os.set_blocking(read, False)
    yield read, write
    os.close(read)
    os.close(write)


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return b"".join(chunks)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


class Recording(Lines):
    """Lines that keep each write they make instead of making it."""

    def __init__(self) -> None:
        super().__init__(-1)
        self.writes: list[bytes] = []

    def _write(self, data: bytes | bytearray | memoryview) -> int:
        self.writes.append(bytes(data))
        return len(data)


def test_without_a_loop_a_line_is_written_at_once(pipe: tuple[int, int]) -> None:
    read, write = pipe
    Lines(write).write(b"now\n")
    assert read_all(read) == b"now\n"


async def test_with_a_loop_the_lines_of_a_batch_go_out_together(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = Lines(write)
    lines.attach(asyncio.get_running_loop())
    for n in range(3):
        lines.write(b"line %d\n" % n)
    assert read_all(read) == b""  # queued, not yet written
    await asyncio.sleep(BATCH_S * 4)
    assert read_all(read) == b"line 0\nline 1\nline 2\n"
    lines.detach()


async def test_a_full_pipe_never_blocks_the_loop_and_loses_nothing(pipe: tuple[int, int]) -> None:
    read, write = pipe
    lines = Lines(write)
    lines.attach(asyncio.get_running_loop())
    line = b"y" * 999 + b"\n"
    for _ in range(300):  # 300 kB: several times what a pipe holds
        lines.write(line)
    lines.flush()  # returns (a blocking write would hang here: nobody reads yet), the rest handed on
    received = b""
    while len(received) < 300 * 1000:  # reading makes room: the thread writes the rest
        await asyncio.sleep(0.01)
        received += read_all(read)
    assert received == line * 300
    lines.close()


def test_a_batch_is_written_in_pieces_that_end_at_line_ends() -> None:
    lines, loop = Recording(), asyncio.new_event_loop()
    lines.attach(loop)  # attached, never run: only `flush` writes
    for n in range(200):  # 20,000 bytes
        lines.write(b"%03d" % n + b"x" * 96 + b"\n")
    lines.flush()
    loop.close()
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
