"""Model cards are generated from lineage: data, code, params, metrics, evaluations, gates."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import tether
import tether.models as tm
from tether.models.card import write_card


def _git(ws: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    done = subprocess.run(
        ["git", *args], cwd=ws, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def trained(ws: Path) -> str:
    """A git repository whose run read a table version and logged a model; returns the commit."""
    _git(ws, "init", "-q")
    (ws / "train.py").write_text("# training code\n")
    _git(ws, "add", "train.py")
    _git(ws, "commit", "-q", "-m", "train")
    commit = _git(ws, "rev-parse", "HEAD")
    (ws / "train.py").write_text("# training code, edited\n")  # uncommitted: a dirty tree
    frame = pd.DataFrame(
        {"age": [20, 30, 40, 50, 60, 70], "segment": list("ababab"), "y": [0, 0, 1, 0, 1, 1]}
    )
    frame.to_parquet(ws / "people.parquet")
    tether.Workspace(ws).add(ws / "people.parquet", "people")
    from sklearn.linear_model import LogisticRegression

    with tether.run(name="train", params={"C": 0.5}) as run:
        data = tether.dataset("people").to_pandas()
        clf = LogisticRegression(C=0.5).fit(data[["age"]], data["y"])
        tm.log(clf, "churn", sample=data[["age"]], metrics={"train_accuracy": 0.83})
    tm.set_alias("churn", "champion", 1, reason="gate passed: accuracy +0.02")
    with tether.run(name="evaluate", tags={"tether.evaluation": "people@1"}) as ev:
        ev.log_input(tm.model_version("churn@1"))
        ev.log_metrics(
            {
                "accuracy": 0.8,
                "slices/segment == 'b'/accuracy": 0.75,
                "slices/age >= 60/accuracy": 1.0,
            }
        )
    with tether.run(
        name="gate",
        tags={"tether.gate.passed": "true", "tether.gate.reasons": "accuracy: +0.02 >= 0.01"},
    ) as gate:
        gate.log_input(tm.model_version("churn@1"))
    assert run.id
    return commit


def test_the_markdown_card_holds_the_lineage(ws: Path, trained: str) -> None:
    path = write_card("churn@champion", ws / "card.md")
    text = path.read_text()
    for expected in [
        "# Model card: churn@1",
        "`people@1`",
        "6 rows",
        "| age | int64 | 0 |",
        "| segment |",
        trained,
        "with uncommitted changes",
        "| C | 0.5 |",
        "| train_accuracy | 0.83 |",
        "segment == 'b'",
        "age >= 60",
        "| accuracy | 0.8 |",
        "passed",
        "accuracy: +0.02 >= 0.01",
        "gate passed: accuracy +0.02",
        "| input | age | int64 |",
        "scikit-learn",
    ]:
        assert expected in text, expected


def test_the_html_card_is_one_self_contained_file(ws: Path, trained: str) -> None:
    text = write_card("churn", ws / "card.html").read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert "people@1" in text and trained in text
    assert "segment == &#x27;b&#x27;" in text  # escaped
    for outside in ("http://", "https://", "<script", " src=", "<link"):
        assert outside not in text


def test_a_card_of_an_unknown_version_is_an_error_and_writes_nothing(ws: Path, clf: Any) -> None:
    tm.log(clf, "churn")
    with pytest.raises(tether.TetherError, match="no version 7"):
        write_card("churn@7", ws / "card.md")
    assert not (ws / "card.md").exists()


def test_a_card_that_cannot_be_written_is_a_clear_error(ws: Path, clf: Any) -> None:
    tm.log(clf, "churn")
    (ws / "a-file").write_text("not a folder")
    with pytest.raises(tm.CardWriteFailed, match="cannot write the model card"):
        write_card("churn", ws / "a-file" / "card.md")
