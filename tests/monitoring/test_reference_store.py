"""A dataset version as reference: its profile is kept under its tree digest and reused; the
reference of a model's training run (or pipeline) is found through lineage; the CLI."""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tether
import tether.monitoring as tm
from tether.cli.main import main
from tether.config import init_workspace
from tether.monitoring.reference import FORMAT
from tether.tracking.datasets import add
from tether.tracking.session import close_sessions


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="mon")
    monkeypatch.chdir(root)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for var in [v for v in os.environ if v.startswith("TETHER_")]:
        monkeypatch.delenv(var)
    yield root
    close_sessions()


def _frame(seed: int, shift: float = 0.0, n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(shift, 1, n), "c": rng.choice(["a", "b"], n)})


def _version(ws: Path, df: pd.DataFrame, name: str = "train") -> str:
    (ws / name).mkdir(exist_ok=True)
    df.to_parquet(ws / name / "data.parquet", index=False)
    v = add(ws / name, name)
    return f"{v.dataset}@{v.version}"


def _cached(ws: Path) -> list[Path]:
    return sorted((ws / ".tether" / "cache" / "monitoring").glob(f"*.v{FORMAT}.npz"))


def test_dataset_profile_is_stored_once_and_reused(ws: Path) -> None:
    ref = _version(ws, _frame(1))
    assert tm.drift(ref, _frame(2)).drifted_columns == []
    [stored] = _cached(ws)
    digest = tether.dataset(ref).tree_digest
    assert stored.name.startswith(digest)
    # what a later window is compared with is the stored profile, not a second pass over
    # the data: a profile of shifted data put in its place changes the verdict
    tm.profile(_frame(3, shift=2.0)).save(stored)
    assert tm.drift(ref, _frame(2)).drifted_columns == ["x"]
    # a damaged profile is rebuilt from the data
    stored.write_bytes(b"damaged")
    assert tm.drift(ref, _frame(2)).drifted_columns == []
    assert tm.ReferenceProfile.load(stored).rows == 2_000


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
