"""Temporary files of a killed writer are removed by the next writer; a live writer's never."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.objects import ObjectStore
from tether.objects.local import PACKABLE

# A writer in the middle of a batch: a pack open in tmp/, and (with fsync) a big object
# waiting there for the batch's end. It prints its two digests, then waits for a line.
WRITER = """
import os, sys
from tether.objects import ObjectStore
store = ObjectStore(sys.argv[1], fsync=True)
with store.backend.batch():
    small = store.put_bytes(os.urandom(100)).digest
    big = store.put_bytes(os.urandom(int(sys.argv[2]))).digest
    print(small, big, flush=True)
    sys.stdin.readline()
print("done", flush=True)
"""


@pytest.fixture
def writer(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    url = str(tmp_path / "objects")
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(PACKABLE + 1)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        digests = proc.stdout.readline().split()
        try:
            assert len(digests) == 2, "the writer did not start"
            yield proc, digests
        finally:
            if proc.poll() is None:
                proc.kill()


def _temporaries(store: ObjectStore) -> set[str]:
    return set(os.listdir(Path(store.url) / "tmp"))


def _locks(store: ObjectStore) -> set[str]:
    return set(os.listdir(Path(store.url) / "owners"))


def test_a_live_writers_temporaries_are_kept(
    tmp_path: Path, writer: tuple[subprocess.Popen[str], list[str]]
) -> None:
    proc, (small, big) = writer
    store = ObjectStore(str(tmp_path / "objects"))
    theirs = _temporaries(store)
    assert {n.split("-")[0] for n in theirs} == {"pack", "put"}  # an open pack, a pending put

    store.put_bytes(b"another writer starts")  # its first write sweeps tmp/
    assert store.backend.sweep_temporaries() == 0  # type: ignore[attr-defined]
    assert _temporaries(store) >= theirs

    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "done"
    assert proc.wait() == 0
    fresh = ObjectStore(store.url)
    assert fresh.exists(small) and fresh.exists(big)
    assert fresh.verify_all().clean
    assert _temporaries(store) == set()
    assert len(_locks(store)) == 1  # ours; the writer removed its lock when it exited


def test_a_killed_writers_temporaries_are_removed_by_the_next_writer(
    tmp_path: Path, writer: tuple[subprocess.Popen[str], list[str]]
) -> None:
    proc, (small, big) = writer
    url = str(tmp_path / "objects")
    before = _temporaries(ObjectStore(url))
    assert before
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _temporaries(ObjectStore(url)) == before  # nobody has written since

    store = ObjectStore(url)
    store.put_bytes(b"the next writer")
    assert _temporaries(store) == set()
    assert len(_locks(store)) == 1  # the killed writer's lock is gone too
    assert not store.exists(small) and not store.exists(big)  # its batch never ended
    assert store.verify_all().clean


def test_repair_removes_a_killed_writers_temporaries(
    tmp_path: Path, writer: tuple[subprocess.Popen[str], list[str]]
) -> None:
    proc, _ = writer
    url = str(tmp_path / "objects")
    count = len(_temporaries(ObjectStore(url)))
    proc.kill()
    proc.wait()
    assert ObjectStore(url).repair().temporaries == count
    assert _temporaries(ObjectStore(url)) == set()


def test_old_temporaries_without_an_owner_are_removed_after_a_day(tmp_path: Path) -> None:
    store = ObjectStore(str(tmp_path / "objects"))
    store.put_bytes(b"make the folders")
    tmp = Path(store.url) / "tmp"
    old, fresh = tmp / "pack-killed", tmp / "put-in-flight"  # names of older versions
    old.write_bytes(b"half a pack")
    fresh.write_bytes(b"another writer's")
    os.utime(old, (1, 1))
    ObjectStore(store.url).put_bytes(b"a later writer")
    assert not old.exists() and fresh.exists()


FORKS = """
import os, sys, time
from tether.objects import ObjectStore
store = ObjectStore(sys.argv[1])
store.put_bytes(b"the parent writes first")
if os.fork() == 0:
    with store.backend.batch():
        digest = store.put_bytes(os.urandom(100)).digest
        print(digest, flush=True)
        sys.stdin.readline()
    print("done", flush=True)
    os._exit(0)
time.sleep(600)  # until killed
"""


def test_a_forked_child_writes_under_its_own_lock(tmp_path: Path) -> None:
    url = str(tmp_path / "objects")
    with subprocess.Popen(
        [sys.executable, "-c", FORKS, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as parent:
        assert parent.stdin is not None and parent.stdout is not None
        digest = parent.stdout.readline().strip()
        parent.kill()  # the parent dies; its child lives on, mid-batch
        parent.wait()
        store = ObjectStore(url)
        child_files = _temporaries(store)
        assert child_files
        store.put_bytes(b"a later writer")
        assert _temporaries(store) >= child_files  # the child's pack is not swept
        parent.stdin.write("\n")
        parent.stdin.flush()
        assert parent.stdout.readline().strip() == "done"
    assert ObjectStore(url).exists(digest)
