"""L0 runner, in a fresh process: a workspace with one loop watching every kind of trigger and
nothing to do, then ``Controller.tick()`` timed N times; prints JSON."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

LOOP = """
[loop.churn]
model = "churn"
pipeline = "nowhere:training"
dataset = "churn"
target = "y"
gate = { primary = "accuracy" }

[loop.churn.triggers]
schedule = "0 3 * * *"
new_data = true
drift = 0.3
performance = { metric = "accuracy", below = 0.8 }
"""


def main(ws: str, n: int) -> None:
    from tether.automation import Controller, load_loops
    from tether.config import init_workspace
    from tether.store import ObjectRecord
    from tether.workspace import Workspace

    root = Path(ws)
    init_workspace(root, project="bench")
    config = root / ".tether" / "config.toml"
    config.write_text(config.read_text() + LOOP)
    workspace = Workspace(root)
    store = workspace.store
    store.get_or_create_project("bench")
    store.record_objects([ObjectRecord("0" * 64, 1, "tree")])
    store.create_dataset_version("bench", "churn", tree_digest="0" * 64, file_count=1, total_size=1)
    # the version was acted on already; monitoring saw no drift and no drop
    store.add_loop_trigger("bench", "churn", key="new_data:churn@1", kind="new_data", status="done")
    for _ in range(100):
        for action, detail in (
            ("monitor.drift", {"share_drifted": 0.1}),
            ("monitor.performance", {"metric": "accuracy", "value": 0.9}),
        ):
            store.record_audit(
                actor="m",
                action=action,
                target="churn",
                outcome="ok",
                project="bench",
                detail=detail,
            )
    controller = Controller(workspace, load_loops(config))
    for _ in range(3):  # the schedule's baseline, connections opened
        controller.tick()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        [outcome] = controller.tick()
        times.append(time.perf_counter() - t0)
        assert outcome.action == "idle", outcome
    print(json.dumps({"tick_s": times, "store": store.url}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
