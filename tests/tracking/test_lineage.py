from __future__ import annotations

from pathlib import Path

import pytest

import tether
from tether.errors import NotFound
from tether.tracking.lineage import Node, resolve_node, trace
from tether.tracking.session import Session


@pytest.fixture
def chain(workspace: Path, session: Session) -> dict[str, str]:
    """raw@1 -> prepare -> features/ -> train -> model.bin -> model v1; evaluate reads it."""
    raw = workspace / "raw"
    raw.mkdir()
    (raw / "a.csv").write_text("1,2\n")
    tree = session.objects.put_tree(raw)
    session.store.create_dataset_version(
        "proj", "raw", tree_digest=tree.digest, file_count=1, total_size=4
    )
    (workspace / "features").mkdir()
    (workspace / "features" / "f.npy").write_bytes(b"\x93NUMPY")
    with tether.run(name="prepare") as prepare:
        prepare.log_input("raw@1")
        features = prepare.log_artifact("features")
    (workspace / "model.bin").write_bytes(b"weights")
    with tether.run(name="train") as train:
        train.log_input(features, name="features")
        model = train.log_artifact("model.bin")
    session.store.create_model_version(
        "proj", "clf", artifact_digest=model, flavor="bytes", run_id=train.id
    )
    with tether.run(name="evaluate") as evaluate:
        evaluate.log_input(model, name="model.bin")
    return {
        "prepare": prepare.id,
        "train": train.id,
        "evaluate": evaluate.id,
        "features": features,
        "model": model,
    }


def test_upstream_and_downstream_of_a_run(session: Session, chain: dict[str, str]) -> None:
    graph = trace(session, Node("run", chain["train"]))
    edges = {(str(a), str(b)) for a, b, _ in graph.edges}
    assert edges == {
        ("dataset_version:raw@1", f"run:{chain['prepare']}"),
        (f"run:{chain['prepare']}", f"object:{chain['features']}"),
        (f"object:{chain['features']}", f"run:{chain['train']}"),
        (f"run:{chain['train']}", f"object:{chain['model']}"),
        (f"object:{chain['model']}", f"run:{chain['evaluate']}"),
    }
    assert "train" in graph.labels[graph.root]
    assert trace(session, Node("run", chain["train"]), depth=1).edges == {
        e for e in graph.edges if chain["train"] in (e[0].ref, e[1].ref)
    }


def test_model_version_traces_back_to_the_data(session: Session, chain: dict[str, str]) -> None:
    node = resolve_node(session, "model:clf@1")
    graph = trace(session, node)
    refs = {a.ref for a, _, _ in graph.edges}
    assert {"raw@1", chain["prepare"], chain["features"], chain["train"]} <= refs
    data = graph.to_dict()
    assert data["root"] == "model_version:clf@1"
    assert {"from": f"run:{chain['train']}", "to": "model_version:clf@1", "name": ""} in data[
        "edges"
    ]
    dot = graph.to_dot()
    assert dot.startswith("digraph lineage {") and '"dataset_version:raw@1" [label=' in dot


def test_resolve_node(session: Session, chain: dict[str, str]) -> None:
    assert resolve_node(session, chain["model"]) == Node("object", chain["model"])
    assert resolve_node(session, "raw@1") == Node("dataset_version", "raw@1")
    assert resolve_node(session, chain["train"][:18]) == Node("run", chain["train"])
    with pytest.raises(NotFound):
        resolve_node(session, "dataset:clf@1")
    with pytest.raises(NotFound):
        resolve_node(session, "f" * 64)
