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
