"""Lines written to standard error off the event loop, in batches.

A request's access line is a few hundred bytes, written on every request: through the logging module
(a LogRecord, a Formatter, a lock and a write per line) the earlier attempt cost ~30,000 instructions a
request. Here the loop only appends the encoded line to a deque; a writer thread wakes once per batch
(`BATCH_S` after the first line of it), joins what has gathered and writes it. The loop never waits on
the write, however slow the reader of stderr is (a full pipe blocks the writer thread alone); past
`MAX_PENDING` lines waiting, the oldest are dropped rather than memory growing without bound.

Each write is at most `PIPE_BUF` bytes cut at line ends, so the lines of several worker processes
sharing one pipe never interleave mid-line. Every other log record of the process goes through the same
writer (`telemetry.logs`), so the order of lines is the order they were made in.
"""

from __future__ import annotations

import collections
import os
import threading
import time

BATCH_S = 0.05  # lines gather this long before a write: one wake-up of the writer per batch
MAX_PENDING = 100_000  # lines waiting; past it the oldest are dropped
PIPE_BUF = 4096  # bytes a pipe writes whole (POSIX: at least 512; Linux: 4096)


class Lines:
    """Lines to one file descriptor (standard error unless told): `write` from any thread, `close` to
    flush and stop."""

    def __init__(self, fd: int = 2) -> None:
        self.fd = fd
        self._pending: collections.deque[bytes] = collections.deque(maxlen=MAX_PENDING)
        self._wake = threading.Event()
        self._signalled = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # starting the thread, closing it
        os.register_at_fork(after_in_child=self._forked)

    def write(self, line: bytes) -> None:
        """Queue LINE (ending in a newline); written within about `BATCH_S`."""
        self._pending.append(line)
        if not self._signalled:  # the first line of a batch wakes the writer; the rest only queue
            self._signalled = True
            if self._thread is None:
                self._start()
            self._wake.set()

    def flush(self) -> None:
        """Write what is queued now, from the caller's thread (at exit, or in tests)."""
        with self._guard:
            self._drain()

    def close(self) -> None:
        """Write everything queued and stop the writer thread."""
        thread = self._thread
        if thread is not None:
            self._closing = True
            self._wake.set()
            thread.join(5)
            self._thread = None
            self._closing = False
        self.flush()

    def _start(self) -> None:
        with self._guard:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="llmswitch-lines", daemon=True)
                self._thread.start()

    def _forked(self) -> None:
        """A worker process: no writer thread came along, and the lines queued were the parent's."""
        self._thread = None
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._signalled = False
        self._pending.clear()

    def _run(self) -> None:
        while not self._closing:
            self._wake.wait()
            if not self._closing:
                time.sleep(BATCH_S)  # let the batch gather
            self._wake.clear()
            self._signalled = False  # before draining: a line queued after this wakes the next batch
            with self._guard:
                self._drain()

    def _drain(self) -> None:
        pending = self._pending
        count = len(pending)
        if not count:
            return
        data = b"".join([pending.popleft() for _ in range(count)])
        start = 0
        while start < len(data):
            end = start + PIPE_BUF
            if end < len(data):
                cut = data.rfind(b"\n", start, end)
                end = cut + 1 if cut >= start else end  # a line longer than PIPE_BUF goes in pieces
            try:
                self._write_all(data[start:end])
            except OSError:
                return  # stderr is closed or broken: nobody can read these lines anyway
            start = end

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.fd, view):]
            except BlockingIOError:  # someone made the descriptor non-blocking: wait for room
                time.sleep(0.01)


STDERR = Lines()  # the process's standard error, for every log line
