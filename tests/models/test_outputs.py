"""predict checks the model's output against the output schema saved with it: a model whose
code changed since it was saved (the generic Python flavour loads the project's class) and now
returns another kind, dtype, shape, columns or number of rows raises ``OutputMismatch``."""

from __future__ import annotations

import importlib
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tether.models import OutputMismatch, SignatureError, load_model, save_model
from tether.models.outputs import family

_names = itertools.count()

MODULE = """
import numpy as np
import pandas as pd


class Scorer:
    def __init__(self, weights):
        self.weights = weights

    def get_state(self):
        return {{"weights": self.weights}}

    @classmethod
    def from_state(cls, state):
        return cls(state["weights"])

    def predict(self, x):
        s = np.asarray(x, dtype="float64") @ self.weights
{body}
"""

LABELS = "        return np.where(s > 0, 'yes', 'no')"
X = np.random.default_rng(0).normal(size=(8, 3))


def _saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str) -> tuple[str, Path]:
    """A model saved from project code (module ``name``) whose predict is ``body``."""
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    name = f"scorer_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(MODULE.format(body=body))
    module = importlib.import_module(name)
    save_model(module.Scorer(np.array([1.0, -1.0, 0.5])), tmp_path / "m", sample=X[:4])
    return name, tmp_path / "m"


def _changed(tmp_path: Path, name: str, body: str) -> None:
    """The project's code changed after the model was saved."""
    (tmp_path / f"{name}.py").write_text(MODULE.format(body=body))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()


def test_an_unchanged_model_passes_the_output_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, folder = _saved(tmp_path, monkeypatch, LABELS)
    model = load_model(folder)
    assert model.signature is not None and model.signature.outputs is not None
    assert model.predict(X).tolist() == np.where(X @ [1.0, -1.0, 0.5] > 0, "yes", "no").tolist()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ("        return s", "output is float, but the output schema .* says text"),
        ("        return np.column_stack([s, s])", r"has shape \(8, 2\), .* says \(any\)"),
        ("        return pd.DataFrame({'label': s})", "returned a table .* returned an array"),
        ("        return np.where(s[:-1] > 0, 'yes', 'no')", "returned 7 rows for 8 input rows"),
        ("        return list(s > 0)", "is boolean, but the output schema .* says text"),
    ],
)
def test_an_output_that_no_longer_matches_its_schema_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, match: str
) -> None:
    name, folder = _saved(tmp_path, monkeypatch, LABELS)
    _changed(tmp_path, name, body)
    model = load_model(folder)
    with pytest.raises(OutputMismatch, match=match) as caught:
        model.predict(X)
    assert isinstance(caught.value, SignatureError)


FRAME = "        return pd.DataFrame({'label': np.where(s > 0, 1, 0), 'score': s})"


@pytest.mark.parametrize(
    ("body", "match", "column"),
    [
        (
            "        return pd.DataFrame({'label': np.where(s > 0, 1, 0)})",
            "lacks 'score'",
            "score",
        ),
        (
            "        return pd.DataFrame({'label': np.where(s > 0, 1, 0), 'score': s, 'z': s})",
            "has 'z', which it did not have",
            "z",
        ),
        (
            "        return pd.DataFrame({'label': np.where(s > 0, 'a', 'b'), 'score': s})",
            "output 'label' is text, but .* says integer",
            "label",
        ),
    ],
)
def test_a_table_output_names_the_column_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, match: str, column: str
) -> None:
    name, folder = _saved(tmp_path, monkeypatch, FRAME)
    assert isinstance(load_model(folder).predict(X), pd.DataFrame)  # as saved: passes
    _changed(tmp_path, name, body)
    with pytest.raises(OutputMismatch, match=match) as caught:
        load_model(folder).predict(X)
    assert caught.value.column == column


def test_another_width_of_the_same_family_is_not_a_mismatch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, folder = _saved(tmp_path, monkeypatch, "        return s")
    _changed(tmp_path, name, "        return s.astype('float32')")
    assert load_model(folder).predict(X).dtype == np.float32


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("int64", "integer"), ("Int32", "integer"), ("uint8", "integer"), ("float32", "float"),
     ("Float64", "float"), ("bool", "boolean"), ("boolean", "boolean"), ("string", "text"),
     ("category", "text"), ("datetime64[ns]", "datetime")],
)  # fmt: skip
def test_dtype_families(dtype: str, expected: str) -> None:
    assert family(dtype) == expected
