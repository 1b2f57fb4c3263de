"""One benchmark operation in a fresh interpreter; prints one JSON line with ``op_s``.

Run by path (``python benchmarks/_runner.py OP ARGS...``) from the current environment (Tether
operations) or from an anchor's venv (DVC operations); it imports only the standard library at the
top so that it works in every environment. ``op_s`` is the time of the operation itself, measured
inside the process after the interpreter has started; the parent measures wall time and peak RSS.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any


def tether_put_file(store: str, path: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from tether.objects import ObjectStore

    s = ObjectStore(store)
    info = s.put_file(path)
    return {"op_s": time.perf_counter() - t0, "digest": str(info.digest), "size": info.size}


def tether_put_tree(store: str, path: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from tether.objects import ObjectStore

    s = ObjectStore(store)
    info = s.put_tree(path)
    return {
        "op_s": time.perf_counter() - t0,
        "digest": str(info.digest),
        "size": info.size,
        "count": info.count,
    }


def _dvc(args: list[str]) -> int:
    from dvc.cli import main

    return int(main(args) or 0)


def dvc_setup(repo: str) -> dict[str, Any]:
    """``dvc init --no-scm`` with analytics off and the site cache inside the repo (fresh)."""
    os.chdir(repo)
    t0 = time.perf_counter()
    for args in (
        ["init", "--no-scm", "-q"],
        ["config", "core.analytics", "false"],
        ["config", "core.site_cache_dir", os.path.join(repo, ".dvc-site-cache")],
    ):
        rc = _dvc(args)
        if rc:
            raise SystemExit(f"dvc {' '.join(args)} failed with {rc}")
    return {"op_s": time.perf_counter() - t0}


def dvc(repo: str, *args: str) -> dict[str, Any]:
    """``dvc ARGS`` through DVC's own CLI entry point, timed inside the process.

    DVC leaves its writes in the page cache; ``sync_s`` times the ``os.sync()`` right after, so
    that the caller can compare with a tool that makes its writes durable (fsync) itself.
    """
    os.chdir(repo)
    t0 = time.perf_counter()
    rc = _dvc(list(args))
    op = time.perf_counter() - t0
    if rc:
        raise SystemExit(f"dvc {' '.join(args)} failed with {rc}")
    t1 = time.perf_counter()
    os.sync()
    return {"op_s": op, "sync_s": time.perf_counter() - t1}


OPS: dict[str, Callable[..., dict[str, Any]]] = {
    "tether-put-file": tether_put_file,
    "tether-put-tree": tether_put_tree,
    "dvc-setup": dvc_setup,
    "dvc": dvc,
}


def main() -> None:
    op, *args = sys.argv[1:]
    result = OPS[op](*args)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
