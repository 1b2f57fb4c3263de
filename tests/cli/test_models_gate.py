"""`tether models gate`: exit codes a CI job acts on, the Markdown it posts, --json, --promote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.models.registrykit import churn, register, strong_and_weak
from tether.store import Store
from tether.workspace import open_workspace

from .conftest import run

GATE = 'primary = "accuracy"\nresamples = 200\nslices = ["segment == \'b\'"]\n'


@pytest.fixture
def models(ws: Path) -> Store:
    """``m@1`` weak, ``m@2`` strong, ``eval.parquet``, ``gate.toml``; alias champion -> 1."""
    frame = churn(300)
    strong, weak = strong_and_weak(frame)
    sample = frame.drop(columns=["y"]).head(20)
    register("m", weak, sample)
    register("m", strong, sample)
    frame.to_parquet(ws / "eval.parquet")
    (ws / "gate.toml").write_text(GATE)
    store = open_workspace().store
    store.set_alias("cli", "m", "champion", 1, actor="t", reason="start")
    return store


def gate(*args: str, target: str = "y") -> int:
    return run(
        "models", "gate", *args, "--data", "eval.parquet", "--policy", "gate.toml",
        "--target", target,
    )  # fmt: skip


def test_a_passing_gate_exits_0_and_prints_the_markdown(
    models: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert gate("m@2", "m@champion") == 0
    out = capsys.readouterr().out
    assert out.startswith("## Model gate: passed")
    assert "| **accuracy** ↑ |" in out
    assert "- challenger: `m@2`, evaluation run `" in out
    assert models.get_alias("cli", "m", "champion").version == 1  # no --promote: unmoved


def test_a_failing_gate_exits_1(models: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate("m@1", "m@2") == 1
    out = capsys.readouterr().out
    assert out.startswith("## Model gate: failed")
    assert "❌ **primary**" in out


def test_json(models: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert gate("m@2", "m@1", "--json") == 0
    got = json.loads(capsys.readouterr().out)
    assert got["passed"] is True
    assert got["challenger"]["model"] == "m@2" and got["champion"]["model"] == "m@1"
    assert got["promoted"] is None


def test_promote_moves_the_alias_only_when_the_gate_passes(
    models: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    events = models.list_alias_events("cli", "m")
    assert gate("m@1", "m@champion", "--promote", "champion") == 1
    assert models.get_alias("cli", "m", "champion").version == 1
    assert models.list_alias_events("cli", "m") == events

    assert gate("m@2", "m@champion", "--promote", "champion", "--reason", "retrain") == 0
    assert models.get_alias("cli", "m", "champion").version == 2
    event = models.list_alias_events("cli", "m")[-1]
    assert (event.from_version, event.to_version) == (1, 2)
    assert event.reason is not None and event.reason.startswith("retrain\n")
    assert "- promoted: alias `champion` now points at `m@2`" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "policy", "message"),
    [
        (("nope@1", "m@1"), GATE, "model 'nope' does not exist"),
        (("m@9", "m@1"), GATE, "has no version 9"),
        (("m@2", "m@gone"), GATE, "has no alias 'gone'"),
        (("m@2", "m@1"), 'primary = "acuracy"\n', "unknown metric 'acuracy'"),
        (("m@2", "m@1", "--target=nope"), GATE, "no target column 'nope'"),
        (("m@2", "m@2", "--promote", "champion"), GATE, "alias 'champion' points at m@1"),
    ],
)
def test_bad_input_exits_1_with_one_line_and_changes_nothing(
    models: Store,
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    policy: str,
    message: str,
) -> None:
    (ws / "gate.toml").write_text(policy)
    events = models.list_alias_events("cli", "m")
    target = next((a.split("=")[1] for a in args if a.startswith("--target=")), "y")
    assert gate(*(a for a in args if not a.startswith("--target=")), target=target) == 1
    out, err = capsys.readouterr()
    assert message in err and err.startswith("error: ") and "Traceback" not in out + err
    assert models.get_alias("cli", "m", "champion").version == 1
    assert models.list_alias_events("cli", "m") == events


def test_json_stays_valid_when_a_metric_is_undefined(
    models: Store, ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas as pd

    frame = pd.read_parquet(ws / "eval.parquet")
    frame[frame["y"] == 1].to_parquet(ws / "eval.parquet")  # one class: ROC AUC is undefined
    (ws / "gate.toml").write_text('primary = "roc_auc"\nresamples = 50\n')
    assert gate("m@2", "m@1", "--json") == 1
    out = capsys.readouterr().out
    got = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert got["passed"] is False
