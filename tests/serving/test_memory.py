"""The server fixes glibc's malloc thresholds so that the large blocks the prediction log frees go
back to the system instead of staying in the heap."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = """
import sys
import numpy as np
if sys.argv[1] == "fixed":
    from tether.serving.memory import fix_malloc_thresholds
    assert fix_malloc_thresholds()
def rss_mb():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) // 1024
big = np.ones(2**20)  # 8 MiB, mapped: freeing it raises glibc's mmap threshold
del big
start = rss_mb()
kept, blocks = [], []
for i in range(25):
    blocks.append(np.ones(2**20))  # 8 MiB each
    kept.append(np.ones(512))  # 4 KiB, on the heap between the large blocks
del blocks
print(rss_mb() - start)
"""


def _grown_mb(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_large_blocks_return_to_the_system_with_fixed_thresholds() -> None:
    assert _grown_mb("plain") > 150  # glibc's default: 200 MB freed, none given back
    assert _grown_mb("fixed") < 20


def test_the_server_fixes_the_thresholds_in_each_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from tether.serving import memory, server

    called: list[bool] = []
    monkeypatch.setattr(memory, "fix_malloc_thresholds", lambda: called.append(True) or True)
    monkeypatch.setattr("tether.serving.asgi.app", lambda *a, **k: "app")
    spec = {"refs": ["m@champion"], "options": {}, "log_predictions": False, "log_sample": 1.0}
    assert server.build(spec) == "app" and called == [True]


REUSE = """
import resource, sys
import numpy as np
from tether.serving.memory import fix_malloc_thresholds
assert fix_malloc_thresholds(32 << 20, int(sys.argv[1]))
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):  # a segment's buffers, from the heap (below the mmap threshold), then freed
    a = np.ones(6 << 17)  # 6 MiB
    del a
before = faults()
for _ in range(5):
    a = np.ones(6 << 17)
    del a
print(faults() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_log_writers_heap_keeps_a_segments_buffers_for_the_next() -> None:
    """With the writer's trim threshold the heap's free top stays for the next segment: no page
    faulted in again; trimmed at 1 MiB, every segment faulted its buffers in anew."""
    from tether.serving.logwriter import SEGMENT_TRIM

    def faults(trim: int) -> int:
        done = subprocess.run(
            [sys.executable, "-c", REUSE, str(trim)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    trimmed = faults(1 << 20)  # 5 x 6 MiB faulted in again (4,965 faults of 4 KiB here)
    kept = faults(SEGMENT_TRIM)  # (none here)
    assert trimmed >= 10 and kept * 10 <= trimmed, (trimmed, kept)
