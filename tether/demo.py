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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import init_workspace
from tether.errors import IntegrityError

if TYPE_CHECKING:
    from tether.store import DatasetVersion, Store
    from tether.tracking.lineage import Lineage, Node

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
    from tether.store import ObjectRecord
    from tether.tracking.api import run as start_run
    from tether.tracking.lineage import Node, trace
    from tether.tracking.session import open_session

    workspace, _ = init_workspace(root, project="demo")
    session = open_session(workspace.root)
    store, objects, project = session.store, session.objects, session.project

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

    with start_run(
        experiment="demo",
        name="nearest-centroid",
        workspace=workspace.root,
        params={"model": "nearest-centroid", "epochs": 20, "step_size": 0.3},
    ) as run:
        run.log_input(version, name="data")
        train = _read_csv(data_dir / "train.csv")
        test = _read_csv(data_dir / "test.csv")
        # A toy iterative fit: move each centroid part of the way to its class mean per epoch.
        centroids = {0: (0.0, 0.0), 1: (0.0, 0.0)}
        for epoch in range(20):
            for label in centroids:
                xs = [(x, y) for x, y, lab in train if lab == label]
                mx, my = sum(p[0] for p in xs) / len(xs), sum(p[1] for p in xs) / len(xs)
                cx, cy = centroids[label]
                centroids[label] = (cx + 0.3 * (mx - cx), cy + 0.3 * (my - cy))
            loss = sum(math.dist(centroids[lab], (x, y)) ** 2 for x, y, lab in train) / len(train)
            acc = sum(_nearest(centroids, x, y) == lab for x, y, lab in test) / len(test)
            run.log_metrics({"loss": loss, "acc": acc}, step=epoch)
        model_path = workspace.root / "model.json"
        model_path.write_text(json.dumps({"centroids": centroids}, sort_keys=True))
        model_digest = run.log_artifact(model_path)

    mv = store.create_model_version(
        project, MODEL, artifact_digest=model_digest, flavor="json", run_id=run.id
    )
    store.set_alias(
        project, MODEL, "champion", mv.version, actor=getpass.getuser(), reason="demo model"
    )
    summaries = store.get_metric_summaries(run.id)
    accuracy = summaries["acc"].last_value
    echo(
        f"run      {run.id}  finished  loss={summaries['loss'].last_value:.4f}  acc={accuracy:.3f}"
    )
    echo(f"model    {MODEL} v{mv.version}  alias champion  artifact {model_digest[:16]}")

    graph = trace(session, Node("model_version", f"{MODEL}@{mv.version}"))
    echo("lineage  " + "  <-  ".join(graph.labels[n] for n in _chain_back(graph, graph.root)))

    report = objects.verify_all()
    if report.corrupt:
        raise IntegrityError(f"demo objects failed verification: {report.corrupt}")
    echo(f"verified {report.ok} objects in {session.settings.objects_url}")
    return DemoResult(
        workspace.root, version.version, tree.digest, run.id, mv.version, accuracy, report.ok
    )


def _chain_back(graph: Lineage, node: Node) -> list[Node]:
    """The first upstream path from ``node``: model <- run <- dataset version."""
    chain = [node]
    while True:
        parents = graph.parents(chain[-1])
        if not parents or parents[0][0] in chain:
            return chain
        chain.append(parents[0][0])
