from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.models.flavors.python_code import Threshold
from tether.models import SampleNotDescribable, save_model
from tether.models.infer import MAX_CATEGORIES, describe
from tether.models.signature import Schema, Signature


def test_dataframe_columns() -> None:
    frame = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "x": [1.0, None, 2.0],
            "s": ["a", "b", "a"],
            "c": pd.Categorical(["u", "v", "u"]),
            "t": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "b": [True, False, True],
        }
    )
    specs = {s.name: s for s in describe(frame).specs}
    assert specs["n"].dtype == "int64" and not specs["n"].nullable
    assert specs["x"].dtype == "float64" and specs["x"].nullable
    assert specs["s"].dtype == "string" and specs["s"].categories == ("a", "b")
    assert specs["c"].dtype == "category" and specs["c"].categories == ("u", "v")
    assert specs["t"].dtype.startswith("datetime64")
    assert specs["b"].dtype == "bool"


def test_free_text_records_no_categories() -> None:
    frame = pd.DataFrame({"s": [f"v{i}" for i in range(MAX_CATEGORIES + 1)]})
    assert describe(frame).specs[0].categories is None


def test_array_arrow_and_dict() -> None:
    assert describe(np.zeros((5, 2, 3))).specs[0].shape == (-1, 2, 3)
    arrow = describe(pa.table({"a": [1, 2]}))
    assert arrow.kind == "arrow" and arrow.specs[0].dtype == "int64"
    d = describe({"a": np.zeros(3), "b": np.zeros((3, 2), dtype="int32")})
    assert [(s.name, s.dtype, s.shape) for s in d.specs] == [
        ("a", "float64", (-1,)),
        ("b", "int32", (-1, 2)),
    ]


def test_signature_survives_json() -> None:
    frame = pd.DataFrame({"c": pd.Categorical(["u", "v"]), "x": [1.0, None]})
    sig = Signature(describe(frame), describe(np.zeros(2)))
    assert Signature.from_json(sig.to_json(), "m") == sig
    assert isinstance(sig.inputs, Schema)


def test_mixed_object_column_is_refused_with_its_name(tmp_path: Path) -> None:
    frame = pd.DataFrame({"ok": [1.0, 2.0], "mixed": pd.Series([1, "two"], dtype=object)})
    model = Threshold(np.array([1.0, 1.0]), 0.0, ["n", "y"])
    with pytest.raises(SampleNotDescribable, match=r"column 'mixed'.*int, str.*astype"):
        save_model(model, tmp_path / "m", sample=frame)
    assert not (tmp_path / "m").exists()
    assert list(tmp_path.iterdir()) == [], "nothing is left behind"


@pytest.mark.parametrize(
    ("sample", "match"),
    [
        (pd.DataFrame({1: [1.0]}), "column names must be strings"),
        (pd.DataFrame({"c": [complex(1, 2)]}), "dtype complex128"),
        (np.array(3.0), "scalar"),
        ({"a": np.zeros(2), "b": np.zeros(3)}, "different numbers of rows"),
        ([1, 2, 3], "type list"),
        (np.array([{"a": 1}], dtype=object), "dict"),
    ],
)
def test_samples_that_cannot_be_described(sample: object, match: str) -> None:
    with pytest.raises(SampleNotDescribable, match=match):
        describe(sample)


def test_every_dtype_described_is_one_a_manifest_may_name() -> None:
    from tether.models.signature import DTYPE

    frame = pd.DataFrame(
        {
            "i8": np.array([1], dtype="int8"),
            "u4": np.array([1], dtype="uint32"),
            "f4": np.array([1], dtype="float32"),
            "I": pd.array([1], dtype="Int64"),
            "F": pd.array([1.0], dtype="Float64"),
            "B": pd.array([True], dtype="boolean"),
            "tz": pd.to_datetime(["2024-01-01"]).tz_localize("Europe/Paris"),
            "ns": np.array(["2024-01-01"], dtype="datetime64[ns]"),
        }
    )
    for spec in describe(frame).specs:
        assert DTYPE.fullmatch(spec.dtype), spec


def test_a_library_another_thread_is_still_importing_is_not_a_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server predicting with NumPy alone while its prediction log imports pandas: the
    half-imported module is in sys.modules without DataFrame yet, and an array is still an
    array (it raised AttributeError on every request during that import)."""
    import sys
    import types

    from tether.models.infer import kind_of

    monkeypatch.setitem(sys.modules, "pandas", types.ModuleType("pandas"))
    monkeypatch.setitem(sys.modules, "pyarrow", types.ModuleType("pyarrow"))
    assert kind_of(np.zeros((2, 3))) == "ndarray"
    assert kind_of({"a": np.zeros(2)}) == "dict"
    assert kind_of([1, 2]) is None
