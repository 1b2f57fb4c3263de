"""The pipeline example (``tether demo`` before it ran the whole loop, tether/demo/loop.py): a
versioned dataset, a pipeline of cached tracked steps run twice, a registered model with its
lineage back to the data and the code, and every object verified. The Ray tests run it.

It must stay offline and finish well within a minute on two cores.
"""

from __future__ import annotations

import getpass
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tether.config import init_workspace
from tether.errors import IntegrityError
from tether.store.ids import short_id

if TYPE_CHECKING:
    from tether.pipelines.result import PipelineRun
    from tether.tracking.lineage import Lineage, Node
    from tether.tracking.session import Session

DATASET = "demo-points"
MODEL = "demo-centroids"


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    dataset_version: int
    pipeline_run_id: str
    cached_run_id: str
    model_version: int
    accuracy: float
    objects_ok: int


def write_points(path: Path, seed: int = 0, n: int = 400) -> None:
    """Two Gaussian blobs as a CSV file (x, y, label)."""
    rng = random.Random(seed)
    rows = [
        (rng.gauss(cx, 0.8), rng.gauss(cy, 0.8), label)
        for label, (cx, cy) in enumerate([(-1.0, -1.0), (1.0, 1.0)])
        for _ in range(n // 2)
    ]
    rng.shuffle(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["x,y,label", *(f"{x:.6f},{y:.6f},{label}" for x, y, label in rows)]
    path.write_text("\n".join(lines) + "\n")


def _step_table(run: PipelineRun) -> list[str]:
    return [
        f"  {name:<9} {s.status:<9} {'cached' if s.cached else 'ran':<7} "
        f"{(s.duration_s or 0.0):6.2f}s"
        for name, s in run.steps.items()
    ]


def _register_model(session: Session, run: PipelineRun) -> int:
    """Register the trained model; the same artifact is not registered twice."""
    store, project = session.store, session.project
    train = run.steps["train"]
    artifact = train.outputs["output"]
    versions = (
        store.list_model_versions(project, MODEL) if MODEL in store.list_models(project) else []
    )
    for mv in versions:
        if mv.artifact_digest == artifact:
            return mv.version
    mv = store.create_model_version(
        project, MODEL, artifact_digest=artifact, flavor="json", run_id=train.run_id
    )
    store.set_alias(
        project,
        MODEL,
        "champion",
        mv.version,
        actor=getpass.getuser(),
        reason="demo: first model of this data",
    )
    return mv.version


def run_demo(
    root: Path, echo: Callable[[str], None] = print, executor: str = "processes"
) -> DemoResult:
    from tether.tracking.datasets import add
    from tether.tracking.lineage import Node, trace
    from tether.tracking.session import open_session

    workspace, _ = init_workspace(root, project="demo")
    session = open_session(workspace.root)
    cwd = os.getcwd()
    os.chdir(workspace.root)  # the pipeline, like a user's, runs from its workspace
    try:
        from tether.demo.steps import demo_pipeline

        points = workspace.root / "data" / "points.csv"
        write_points(points)
        version = add(
            points, name=DATASET, message="two Gaussian blobs, seed 0", workspace=workspace.root
        )
        echo(
            f"dataset   {DATASET}@{version.version}  ({version.file_count} file, "
            f"{version.total_size} bytes)  tree {version.tree_digest[:16]}"
        )

        started = time.perf_counter()
        first = demo_pipeline(points, executor=executor, workspace=workspace.root)
        first.check()
        took = time.perf_counter() - started
        # the validate step read this dataset version: record it, so lineage reaches the data
        session.store.add_run_io(
            first.steps["validate"].run_id,
            "input",
            "dataset_version",
            f"{DATASET}@{version.version}",
            name="data/points.csv",
        )
        scores, _ = first.output()
        session.store.log_metric_series(
            first.id, {"acc": ([0], [int(time.time() * 1000)], [float(scores["acc"])])}
        )
        echo(f"pipeline  run {short_id(first.id)} {first.status} in {took:.1f}s")
        for line in _step_table(first):
            echo(line)
        echo(f"metrics   acc={scores['acc']:.3f} on {int(scores['n'])} held-out points")

        started = time.perf_counter()
        second = demo_pipeline(points, executor=executor, workspace=workspace.root).check()
        took = time.perf_counter() - started
        cached = sum(s.cached for s in second.steps.values())
        echo(
            f"again     run {short_id(second.id)} {second.status} in {took:.1f}s: "
            f"{cached} of {len(second.steps)} steps cached"
        )

        model_version = _register_model(session, first)
        echo(f"model     {MODEL} v{model_version}  alias champion")
        graph = trace(session, Node("model_version", f"{MODEL}@{model_version}"))
        echo(
            "lineage   "
            + "\n      <-  ".join(graph.labels[n] for n in _chain_back(graph, graph.root))
        )
        info = session.store.get_run(first.id).info
        code = info.get("code") or {}
        where = "not in a git repository"
        if code.get("commit"):
            dirty = " + uncommitted diff" if code.get("dirty") else ""
            where = f"commit {code['commit'][:12]}{dirty}"
        echo(f"code      {where}; environment {info['env']['packages_digest'][:16]}")
    finally:
        os.chdir(cwd)

    report = session.objects.verify_all()
    if report.corrupt:
        raise IntegrityError(f"demo objects failed verification: {report.corrupt}")
    echo(f"verified  {report.ok} objects in {session.settings.objects_url}")
    return DemoResult(
        workspace.root,
        version.version,
        first.id,
        second.id,
        model_version,
        float(scores["acc"]),
        report.ok,
    )


def _chain_back(graph: Lineage, node: Node) -> list[Node]:
    """The longest upstream path from ``node`` (model <- step runs <- ... <- dataset)."""
    best: list[Node] = [node]

    def walk(path: list[Node]) -> None:
        nonlocal best
        parents = [p for p, _ in graph.parents(path[-1]) if p not in path]
        if not parents and len(path) > len(best):
            best = path
        for parent in parents:
            walk([*path, parent])

    walk([node])
    return best
