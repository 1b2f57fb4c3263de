"""``tether demo``: the whole embedded stack on a small, generated, deterministic example.

It versions a dataset, records a run that reads it and writes a model, registers the model
with an alias, and verifies every stored object. Later layers (pipelines, serving, monitoring)
extend it; it must stay offline and finish in seconds.
"""

from __future__ import annotations

import getpass
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import init_workspace, load_settings

if TYPE_CHECKING:
    from tether.store import DatasetVersion, Store

DATASET = "demo-points"
MODEL = "demo-centroids"


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    dataset_version: int
    tree_digest: str
    run_id: str
    model_version: int
    accuracy: float
    objects_ok: int


def _write_data(folder: Path, seed: int = 0) -> None:
    """Two Gaussian blobs, split into train and test CSV files."""
    rng = random.Random(seed)
    rows = []
    for label, (cx, cy) in enumerate([(-1.0, -1.0), (1.0, 1.0)]):
        for _ in range(200):
            rows.append((rng.gauss(cx, 0.8), rng.gauss(cy, 0.8), label))
    rng.shuffle(rows)
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.csv", rows[:300]), ("test.csv", rows[300:])):
        lines = ["x,y,label", *(f"{x:.6f},{y:.6f},{label}" for x, y, label in part)]
        (folder / name).write_text("\n".join(lines) + "\n")


def _read_csv(path: Path) -> list[tuple[float, float, int]]:
    lines = path.read_text().splitlines()[1:]
    return [(float(x), float(y), int(label)) for x, y, label in (ln.split(",") for ln in lines)]


def _nearest(centroids: dict[int, tuple[float, float]], x: float, y: float) -> int:
    return min(centroids, key=lambda c: math.dist(centroids[c], (x, y)))


def _latest_version(store: Store, project: str) -> DatasetVersion | None:
    """The newest version of the demo dataset; identical data is not versioned twice."""
    from tether.errors import NotFound

    try:
        return store.get_dataset_version(project, DATASET)
    except NotFound:
        return None


def run_demo(root: Path, echo: Callable[[str], None] = print) -> DemoResult:
    from tether.objects import ObjectStore
    from tether.store import MetricPoint, ObjectRecord, open_store_from_settings

    workspace, _ = init_workspace(root, project="demo")
    settings = load_settings(workspace)
    objects = ObjectStore.from_settings(settings)
    store = open_store_from_settings(settings)
    project = settings.project
    try:
        store.get_or_create_project(project)
        data_dir = workspace.root / "data"
        _write_data(data_dir)
        tree = objects.put_tree(data_dir)
        store.record_objects([ObjectRecord(tree.digest, tree.size, "tree")])
        version = _latest_version(store, project)
        if version is None or version.tree_digest != tree.digest:
            version = store.create_dataset_version(
                project,
                DATASET,
                tree_digest=tree.digest,
                file_count=tree.count,
                total_size=tree.size,
                message="two Gaussian blobs, seed 0",
            )
        echo(
            f"dataset  {DATASET}@{version.version}  tree {tree.digest[:16]}  "
            f"({tree.count} files, {tree.size} bytes)"
        )

        run = store.create_run(
            project,
            experiment="demo",
            name="nearest-centroid",
            params={"model": "nearest-centroid", "epochs": "20"},
        )
        store.add_run_io(run.id, "input", "dataset_version", f"{DATASET}@{version.version}")
        train = _read_csv(data_dir / "train.csv")
        test = _read_csv(data_dir / "test.csv")

        # A toy iterative fit: move each centroid part of the way to its class mean per epoch.
        centroids = {0: (0.0, 0.0), 1: (0.0, 0.0)}
        points: list[MetricPoint] = []
        for epoch in range(20):
            for label in centroids:
                xs = [(x, y) for x, y, lab in train if lab == label]
                mx, my = sum(p[0] for p in xs) / len(xs), sum(p[1] for p in xs) / len(xs)
                cx, cy = centroids[label]
                centroids[label] = (cx + 0.3 * (mx - cx), cy + 0.3 * (my - cy))
            loss = sum(math.dist(centroids[lab], (x, y)) ** 2 for x, y, lab in train) / len(train)
            acc = sum(_nearest(centroids, x, y) == lab for x, y, lab in test) / len(test)
            now = int(time.time() * 1000)
            points += [MetricPoint("loss", epoch, now, loss), MetricPoint("acc", epoch, now, acc)]
        store.log_metrics(run.id, points)

        model_bytes = json.dumps({"centroids": centroids}, sort_keys=True).encode()
        model = objects.put_bytes(model_bytes)
        store.record_objects([ObjectRecord(model.digest, model.size, "blob")])
        store.add_run_io(run.id, "output", "object", model.digest, name="model.json")
        store.set_run_status(run.id, "finished")
        mv = store.create_model_version(
            project, MODEL, artifact_digest=model.digest, flavor="json", run_id=run.id
        )
        store.set_alias(
            project,
            MODEL,
            "champion",
            mv.version,
            actor=getpass.getuser(),
            reason="first demo model",
        )
        summaries = store.get_metric_summaries(run.id)
        accuracy = summaries["acc"].last_value
        echo(
            f"run      {run.id}  finished  loss={summaries['loss'].last_value:.4f}  "
            f"acc={accuracy:.3f}"
        )
        echo(f"model    {MODEL} v{mv.version}  alias champion  artifact {model.digest[:16]}")

        report = objects.verify_all()
        if report.corrupt:
            from tether.errors import IntegrityError

            raise IntegrityError(f"demo objects failed verification: {report.corrupt}")
        echo(f"verified {report.ok} objects in {settings.objects_url}")
        return DemoResult(
            workspace.root, version.version, tree.digest, run.id, mv.version, accuracy, report.ok
        )
    finally:
        store.close()
