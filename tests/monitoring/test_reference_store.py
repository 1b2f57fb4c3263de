"""A dataset version as reference: its profile is stored as an object under its tree digest
and reused (a damaged one is computed again); the reference of a model's training run (or
pipeline) is found through lineage; the CLI."""

from __future__ import annotations

import importlib.util
import io
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tether
import tether.monitoring as tm
from tests.monitoring.support import isolated_workspace
from tether.cli.main import main
from tether.monitoring import cache
from tether.monitoring.reference import FORMAT
from tether.objects.digest import hash_bytes
from tether.tracking.datasets import add
from tether.tracking.session import close_sessions, open_session


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    yield isolated_workspace(tmp_path, monkeypatch)
    close_sessions()


def _frame(seed: int, shift: float = 0.0, n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "c": rng.choice(["a", "b"], n)})


def _version(ws: Path, df: pd.DataFrame, name: str = "train") -> str:
    (ws / name).mkdir(exist_ok=True)
    df.to_parquet(ws / name / "data.parquet", index=False)
    v = add(ws / name, name)
    return f"{v.dataset}@{v.version}"


def _stored() -> tuple[Any, str | None]:
    """The workspace, and the digest of the profile recorded for dataset train@1's content."""
    workspace = open_session().workspace
    tree = tether.dataset("train@1").tree_digest
    return workspace, workspace.store.get_reference_profile(tree, FORMAT)


def test_dataset_profile_is_stored_once_as_an_object_and_reused(ws: Path) -> None:
    ref = _version(ws, _frame(1))
    computed = cache.profiled
    assert tm.drift(ref, _frame(2)).drifted_columns == []
    assert cache.profiled == computed + 1
    workspace, digest = _stored()
    assert digest is not None and workspace.objects.exists(digest)
    assert tm.ReferenceProfile.from_bytes(workspace.objects.get_bytes(digest), "x").rows == 2_000
    assert not (ws / ".tether" / "cache" / "monitoring").exists()
    # the second window reads the stored profile: nothing is computed again
    again = tm.profile(ref)
    assert again.stored and again.digest == digest and again.label == f"reference {ref}"
    assert tm.drift(ref, _frame(3)).drifted_columns == []
    assert cache.profiled == computed + 1
    # what a later window is compared with is the stored profile, not a second pass over
    # the data: a profile of shifted data recorded in its place changes the verdict
    tree = tether.dataset(ref).tree_digest
    shifted = workspace.objects.put_bytes(tm.profile(_frame(3, shift=2.0)).to_bytes()).digest
    workspace.store.set_reference_profile(tree, FORMAT, shifted)
    assert tm.drift(ref, _frame(2)).drifted_columns == ["x"]
    assert cache.profiled == computed + 1


def _pickled_npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, meta=np.array([{"format": FORMAT}], dtype=object))
    return buf.getvalue()


@pytest.mark.parametrize("damage", ["garbage", "missing", "tampered", "pickled", "format"])
def test_a_damaged_stored_profile_is_computed_again_not_trusted(ws: Path, damage: str) -> None:
    ref = _version(ws, _frame(1))
    tm.profile(ref)
    workspace, digest = _stored()
    assert digest is not None
    tree = tether.dataset(ref).tree_digest
    if damage == "tampered":  # the object's bytes changed under its digest
        path = Path(workspace.objects.backend.path(digest))
        os.chmod(path, 0o644)
        path.write_bytes(tm.profile(_frame(3, shift=2.0)).to_bytes())
    else:
        bad = {
            "garbage": lambda: workspace.objects.put_bytes(b"damaged").digest,
            "missing": lambda: hash_bytes(b"never stored"),
            "pickled": lambda: workspace.objects.put_bytes(_pickled_npz()).digest,
            "format": lambda: (
                workspace.objects.put_bytes(
                    tm.profile(_frame(3, shift=2.0))
                    .to_bytes()
                    .replace(b'"format": 1', b'"format": 0')
                ).digest
            ),
        }[damage]()
        workspace.store.set_reference_profile(tree, FORMAT, bad)
    computed = cache.profiled
    assert tm.drift(ref, _frame(2)).drifted_columns == []  # the data's verdict, not the damage's
    assert cache.profiled == computed + 1
    _, fresh = _stored()
    assert fresh is not None and tm.profile(ref).stored
    assert tm.ReferenceProfile.from_bytes(workspace.objects.get_bytes(fresh), "x").rows == 2_000


def test_a_profile_file_is_never_unpickled(tmp_path: Path) -> None:
    (tmp_path / "p.npz").write_bytes(_pickled_npz())
    with pytest.raises(tm.CorruptProfile, match="allow_pickle"):
        tm.ReferenceProfile.load(tmp_path / "p.npz")


def test_unknown_dataset_is_a_clear_error(ws: Path) -> None:
    with pytest.raises(tm.UnreadableTable, match="nope"):
        tm.drift("nope@1", _frame(1))


def test_training_reference_of_a_run(ws: Path) -> None:
    ref = _version(ws, _frame(1))
    with tether.run(name="train", capture=False) as run:
        tether.dataset(ref).to_pandas()
    assert tm.training_reference(run.id) == ref
    with tether.run(name="nothing", capture=False) as empty:
        pass
    with pytest.raises(tm.NoTrainingData, match="read no dataset version"):
        tm.training_reference(empty.id)


PIPELINE = """
import tether
from tether.pipelines import step, pipeline

@step
def fit(ref: str) -> float:
    return float(tether.dataset(ref).to_pandas()["x"].mean())

@pipeline
def training(ref: str = "train"):
    return fit(ref)
"""


def test_training_reference_of_a_pipeline(ws: Path) -> None:
    ref = _version(ws, _frame(1))
    path = ws / "flows.py"
    path.write_text(textwrap.dedent(PIPELINE))
    spec = importlib.util.spec_from_file_location("mon_flows", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mon_flows"] = module
    try:
        spec.loader.exec_module(module)
        result = module.training(executor="inline")
    finally:
        del sys.modules["mon_flows"]
    assert tm.training_reference(result.id) == ref
    assert tm.drift(tm.training_reference(result.id), _frame(2, shift=1.0)).drifted_columns == ["x"]


def test_cli_drift_writes_the_report(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = _version(ws, _frame(1))
    _frame(2, shift=1.0).to_parquet(ws / "now.parquet", index=False)
    with pytest.raises(SystemExit) as e:
        main(["monitor", "drift", "now.parquet", "-r", ref, "-o", "r.html"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "1 of 2 columns drifted: x" in out and "wrote r.html" in out
    assert "<svg" in (ws / "r.html").read_text()
    with tether.run(name="train", capture=False) as run:
        tether.dataset(ref).to_pandas()
    with pytest.raises(SystemExit) as e:
        main(["monitor", "drift", "now.parquet", "--run", run.id, "--json"])
    assert e.value.code == 0
    assert '"drifted_columns": [\n    "x"\n  ]' in capsys.readouterr().out
