"""`tether models ...`: the registry from the command line; errors exit 1 without a traceback
and change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from .conftest import run


@pytest.fixture
def models(ws: Path) -> Path:
    from sklearn.linear_model import LogisticRegression

    import tether.models as tm

    x = np.random.default_rng(0).normal(size=(50, 4))
    y = (x[:, 0] > 0).astype(np.int64)
    tm.log(LogisticRegression().fit(x, y), "churn", sample=x[:5])
    tm.log(LogisticRegression(C=0.1).fit(x, y), "churn", sample=x[:5])
    return ws


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert run(*args, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_promote_history_rollback(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("models", "promote", "churn@1", "-m", "first") == 0
    assert "champion: - -> 1" in capsys.readouterr().out
    moved = _json(capsys, "models", "promote", "churn@2", "--alias", "champion")
    assert (moved["from_version"], moved["to_version"]) == (1, 2)
    back = _json(capsys, "models", "rollback", "churn@champion", "-m", "v2 regressed")
    assert (back["from_version"], back["to_version"], back["reason"]) == (2, 1, "v2 regressed")
    history = _json(capsys, "models", "history", "churn")
    assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 1), (1, 2), (2, 1)]
    assert all(e["actor"] for e in history)
    assert run("models", "history", "churn@champion") == 0
    assert "v2 regressed" in capsys.readouterr().out


def test_expect_moves_only_from_the_version_named(
    models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("models", "promote", "churn@1", "--expect", "none") == 0
    capsys.readouterr()
    assert run("models", "promote", "churn@2", "--expect", "none") == 1
    assert "is at version 1, not unset" in capsys.readouterr().err
    assert run("models", "promote", "churn@2", "--expect", "1") == 0
    assert run("models", "rollback", "churn@champion", "--expect", "2") == 0
    capsys.readouterr()
    assert run("models", "rollback", "churn@champion", "--expect", "2") == 1  # done once only
    err = capsys.readouterr().err
    assert "is at version 1, not at version 2" in err and "Traceback" not in err
    assert run("models", "promote", "churn@2", "--expect", "one") == 1
    assert "not a version number" in capsys.readouterr().err
    history = _json(capsys, "models", "history", "churn")
    assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 1), (1, 2), (2, 1)]


def test_ls_and_show(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("models", "promote", "churn@1") == 0
    listed = _json(capsys, "models", "ls")
    assert listed == [
        {
            "model": "churn",
            "latest_version": 2,
            "flavor": "sklearn",
            "created_at": listed[0]["created_at"],
            "aliases": {"champion": 1},
        }
    ]
    shown = _json(capsys, "models", "show", "churn@champion")
    assert (shown["version"], shown["aliases"]) == (1, ["champion"])
    assert run("models", "show", "churn") == 0
    out = capsys.readouterr().out
    assert "churn@2" in out and "float64" in out


def test_lineage_of_an_alias(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("models", "promote", "churn@2") == 0
    capsys.readouterr()
    assert run("lineage", "churn@champion") == 0
    out = capsys.readouterr().out
    assert "model churn@2" in out and "log churn" in out


def test_card_export_import(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("models", "card", "churn@1", "-o", "card.md") == 0
    assert "# Model card: churn@1" in (models / "card.md").read_text()
    assert run("models", "card", "churn", "-o", "card.html") == 0
    assert (models / "card.html").read_text().startswith("<!DOCTYPE html>")
    assert run("models", "export", "churn@1", "out", "--format", "mlflow") == 0
    assert (models / "out" / "MLmodel").is_file()
    imported = _json(capsys, "models", "import", "out", "again")
    assert (imported["model"], imported["version"]) == ("again", 1)


def test_export_import_of_native_and_python_flavours_and_a_refused_one(
    models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import lightgbm as lgb

    import tether.models as tm
    from tests.models.flavors.python_code import Threshold

    x = np.random.default_rng(1).normal(size=(60, 2))
    labels = np.where(x[:, 0] > 0, "up", "down")
    model = lgb.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(x, labels)
    tm.log(model, "lgbm", sample=x[:5])
    assert run("models", "export", "lgbm", "lgbm-out") == 0
    imported = _json(capsys, "models", "import", "lgbm-out", "lgbm-in")
    assert (imported["model"], imported["flavor"]) == ("lgbm-in", "lightgbm")
    assert list(tm.load("lgbm-in").predict(x)) == list(model.predict(x))
    tm.log(Threshold(np.array([1.0, -1.0]), 0.0, ["lo", "hi"]), "thr", sample=x[:5])
    assert run("models", "export", "thr", "thr-out") == 0  # with Tether's loader module
    assert (models / "thr-out" / "code" / "tether_mlflow_loader.py").is_file()
    tm.log(model, "pick", flavor="pickle", trust=True)
    capsys.readouterr()
    assert run("models", "export", "pick", "pick-out") == 1
    err = capsys.readouterr().err
    assert "cannot export a 'pickle' model to MLflow" in err and "Traceback" not in err
    assert not (models / "pick-out").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["models", "show", "nope"], "model 'nope' does not exist"),
        (["models", "show", "churn@9"], "has no version 9"),
        (["models", "show", "churn@gone"], "has no alias 'gone'"),
        (["models", "promote", "churn@9"], "has no version 9"),
        (["models", "promote", "churn@1", "--alias", "7"], "all digits"),
        (["models", "rollback", "churn@champion"], "has no alias 'champion'"),
        (["models", "rollback", "churn"], "names no alias"),
        (["models", "history", "churn@2"], "names a version"),
        (["models", "card", "churn@9", "-o", "card.md"], "has no version 9"),
        (["models", "export", "churn", "out", "--format", "onnx"], "only export format"),
        (["models", "import", "nowhere", "x"], "no MLmodel file"),
        (["lineage", "churn@gone"], "has no alias 'gone'"),
    ],
)
def test_bad_input_exits_1_and_changes_nothing(
    models: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    capsys.readouterr()
    assert run(*args) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _json(capsys, "models", "history", "churn") == []
    assert _json(capsys, "models", "ls")[0]["latest_version"] == 2
    assert not (models / "card.md").exists() and not (models / "out").exists()


def test_a_corrupted_artifact_exits_1(models: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hit = 0
    for path in (models / ".tether" / "objects").rglob("*"):
        data = bytearray(path.read_bytes()) if path.is_file() else bytearray()
        at = data.find(b"PK\x03\x04")  # model.skops is a zip, loose or inside a pack
        if at >= 0:
            data[at + 40] ^= 0xFF
            path.chmod(0o644)
            path.write_bytes(bytes(data))
            hit += 1
    assert hit
    assert run("models", "export", "churn@1", "out") == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error:")
    assert not (models / "out").exists()
