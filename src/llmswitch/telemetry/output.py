"""Lines written to standard error in batches by the event loop, without ever blocking it.

A request's access line is a few hundred bytes, written on every request: through the logging module
(a LogRecord, a Formatter, a lock and a write per line) an earlier attempt cost ~30,000 instructions a
request. Here a line is encoded by msgspec straight into the batch's buffer (`encode`); the first line
of a batch asks the loop to write the batch `BATCH_S` later, usually as one write. (A writer thread woken
per batch cost ~14,000 instructions a request more, under valgrind: the wake-up and the GIL's hand-over
for the few lines a slowed-down process makes in a batch.)

Standard error a reader drains slowly (a pipe or a terminal) could block a write: those are polled first,
and what cannot be written at once goes to a thread that writes it, blocking, in order, while the loop
keeps serving (everything after it goes there too until it has caught up). A regular file or /dev/null
never blocks. Past `MAX_PENDING` bytes waiting, lines are dropped rather than memory growing.

Each write is at most `PIPE_BUF` bytes cut at line ends, so the lines of several worker processes
sharing one pipe never interleave mid-line. Every other log record of the process goes through the same
lines (`write`, from any thread: it hops onto the loop's), so their order is the order they were made
in. Without a loop attached (start-up, shutdown, the CLI) a line is written at once.
"""

from __future__ import annotations

import asyncio
import os
import queue
import select
import stat
import threading
import time

import msgspec

BATCH_S = 0.2  # lines gather this long before the loop writes them (a write, a timer per batch)
MAX_PENDING = 16 << 20  # bytes of lines waiting; past it lines are dropped
PIPE_BUF = 4096  # bytes a pipe writes whole (POSIX: at least 512; Linux: 4096)


class Lines:
    """Lines to one file descriptor (standard error unless told): `write` from any thread; `attach` the
    loop that batches them, `close` to write what is left."""

    def __init__(self, fd: int = 2) -> None:
        self.fd = fd
        self._buffer = bytearray()  # the lines of the batch being gathered
        self._encoder = msgspec.json.Encoder()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._poll: select.poll | None = None  # None: the descriptor never blocks
        self._backlog: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # for the thread, in order
        self._behind = 0  # bytes the thread has still to write: everything goes through it until it is done
        self._handing = threading.Lock()  # `_behind` and the backlog change together
        self._thread: threading.Thread | None = None
        os.register_at_fork(after_in_child=self._forked)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """From now on LOOP (running in this thread) writes the lines, in batches."""
        self._loop, self._loop_thread = loop, threading.get_ident()
        self._poll = _poller(self.fd)

    def encode(self, line: msgspec.Struct) -> None:
        """Queue LINE as a line of JSON, encoded straight into the batch (from the loop's thread)."""
        buffer = self._buffer
        self._encoder.encode_into(line, buffer, -1)
        buffer += b"\n"
        if not self._scheduled:
            self._schedule()

    def write(self, line: bytes) -> None:
        """Queue LINE (ending in a newline), from any thread; written within about `BATCH_S`."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            try:
                loop.call_soon_threadsafe(self.write, line)  # the batch is the loop thread's alone
                return
            except RuntimeError:  # the loop is closed
                pass
        if len(self._buffer) < MAX_PENDING:  # past it, lines are dropped rather than memory growing
            self._buffer += line
        if not self._scheduled:
            self._schedule()

    def _schedule(self) -> None:
        """The first line of a batch has its write scheduled; the rest only join it."""
        self._scheduled = True
        loop = self._loop
        if loop is None or threading.get_ident() != self._loop_thread:
            self.flush()
            return
        try:
            loop.call_later(BATCH_S, self.flush)
        except RuntimeError:  # the loop is closed (its app stopped without detaching): write at once
            self.flush()

    def flush(self) -> None:
        """Write what is queued now (never blocking the loop, when one is attached)."""
        self._scheduled = False
        data = self._buffer
        if not data:
            return
        if len(data) <= PIPE_BUF and self._poll is None and not self._behind:  # the usual batch: one write
            try:
                written = self._write(data)
                if written == len(data):
                    data.clear()
                    return
                del data[:written]
            except BlockingIOError:
                pass
            except OSError:  # stderr is closed or broken: nobody can read these lines anyway
                data.clear()
                return
        self._buffer = bytearray()
        start = 0
        while start < len(data):
            end = start + PIPE_BUF
            if end < len(data):
                cut = data.rfind(b"\n", start, end)
                end = cut + 1 if cut >= start else end  # a line longer than PIPE_BUF goes in pieces
            if self._behind or (self._poll is not None and not self._poll.poll(0)):
                self._hand(bytes(data[start:]))  # it would block: the thread writes the rest
                return
            try:
                self._write_all(data[start:end])
            except OSError:
                return
            start = end

    def detach(self) -> None:
        """The loop is stopping: write what is queued, and from now on write at once."""
        self._loop = None
        self.flush()

    def close(self) -> None:
        """Write everything queued, the thread's backlog included, and stop the thread."""
        self.detach()
        thread = self._thread
        if thread is not None:
            self._backlog.put(None)
            thread.join(5)
            self._thread = None

    def _hand(self, data: bytes) -> None:
        with self._handing:
            if self._behind > MAX_PENDING:
                return  # the reader is that far behind: these lines are dropped
            self._behind += len(data)
            self._backlog.put(data)
            if self._thread is None:
                self._thread = threading.Thread(target=self._drain_backlog, name="llmswitch-lines", daemon=True)
                self._thread.start()

    def _drain_backlog(self) -> None:
        while True:
            data = self._backlog.get()
            if data is None:
                return
            try:
                self._write_all(data)
            except OSError:
                pass
            with self._handing:
                self._behind -= len(data)

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[self._write(view):]
            except BlockingIOError:  # someone made the descriptor non-blocking: wait for room
                time.sleep(0.01)

    def _write(self, data: bytes | bytearray | memoryview) -> int:
        return os.write(self.fd, data)

    def _forked(self) -> None:
        """A worker process: no loop nor thread came along, and the lines queued were the parent's."""
        self._loop, self._thread, self._scheduled, self._behind = None, None, False, 0
        self._handing = threading.Lock()
        self._backlog = queue.SimpleQueue()
        self._buffer = bytearray()


def _poller(fd: int) -> select.poll | None:
    """A poll for FD being writable, or None when a write to it never blocks (a file, /dev/null)."""
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or (stat.S_ISCHR(mode) and not os.isatty(fd)):
        return None
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return poll


STDERR = Lines()  # the process's standard error, for every log line
