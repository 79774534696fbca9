"""A worker's metric slots in shared memory, as another worker reads them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from llmswitch.core.metric_slots import FIRST_CAPACITY, Peers, SharedSlots, workers_directory


def gone_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_another_worker_reads_the_values_a_worker_counts_as_it_counts(tmp_path: Path) -> None:
    worker = SharedSlots(tmp_path, os.getppid())
    slot = worker.allocate("requests", 'model="a"', 1)
    worker.values[slot] += 2.0
    reader = Peers(tmp_path, own_pid=os.getpid())
    [seen] = reader.read()
    assert [(s.family, s.labels) for s in seen.series] == [("requests", 'model="a"')]
    assert seen.values[slot] == 2.0 and seen.alive
    worker.values[slot] += 1.0
    later = worker.allocate("requests", 'model="b"', 1)
    worker.values[later] = 5.0
    [seen] = reader.read()
    assert [seen.values[s.base] for s in seen.series] == [3.0, 5.0]


def test_a_worker_that_outgrows_its_file_is_read_whole(tmp_path: Path) -> None:
    worker = SharedSlots(tmp_path, os.getppid())
    reader = Peers(tmp_path, own_pid=os.getpid())
    first = worker.allocate("small", "", 1)
    worker.values[first] = 1.0
    reader.read()
    wide = worker.allocate("wide", "", 3 * FIRST_CAPACITY)
    worker.values[wide + 3 * FIRST_CAPACITY - 1] = 7.0
    worker.values[first] += 1.0  # through the newer mapping of the same file
    [seen] = reader.read()
    assert seen.values[first] == 2.0 and seen.values[wide + 3 * FIRST_CAPACITY - 1] == 7.0


def test_a_worker_that_has_exited_is_still_read_and_known_to_be_gone(tmp_path: Path) -> None:
    worker = SharedSlots(tmp_path, gone_pid())
    worker.values[worker.allocate("requests", "", 1)] = 4.0
    [seen] = Peers(tmp_path, own_pid=os.getpid()).read()
    assert seen.values[0] == 4.0 and not seen.alive


def test_the_reader_leaves_its_own_files_out(tmp_path: Path) -> None:
    SharedSlots(tmp_path, os.getpid()).allocate("requests", "", 1)
    assert Peers(tmp_path, own_pid=os.getpid()).read() == []


def test_the_workers_directory_is_in_shared_memory_and_removed_after() -> None:
    with workers_directory() as directory:
        assert directory.is_dir()
        if Path("/dev/shm").is_dir():
            assert directory.parent == Path("/dev/shm")
    assert not directory.exists()
