"""predict(X) checks X against the signature: each mismatch names the column and what was
expected; safe casts are made."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tests.models.flavors.python_code import Threshold
from tether.models import (
    ExtraColumn,
    MissingColumn,
    UnexpectedNull,
    UnseenCategory,
    UnseenCategoryWarning,
    WrongDtype,
    WrongInputType,
    WrongShape,
    load_model,
    save_model,
)
from tether.models.conform import conform
from tether.models.infer import describe

SAMPLE = pd.DataFrame(
    {
        "age": np.array([30, 40, 50], dtype="int64"),
        "income": [1.5, 2.5, 3.5],
        "city": ["paris", "rome", "paris"],
        "plan": pd.Categorical(["a", "b", "a"], categories=["a", "b", "c"]),
    }
)


def _check(X: object, sample: object = SAMPLE, strict: bool = False) -> object:
    return conform(describe(sample), X, strict=strict)


def test_through_a_saved_model(tmp_path: Path) -> None:
    x = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    save_model(Threshold(np.array([1.0, 1.0]), 4.5, ["n", "y"]), tmp_path / "m", sample=x)
    model = load_model(tmp_path / "m")
    assert list(model.predict(x)) == ["n", "y"]
    with pytest.raises(MissingColumn, match=r"missing column 'b' \(float64\)") as e:
        model.predict(x[["a"]])
    assert e.value.column == "b"


def test_missing_column() -> None:
    with pytest.raises(MissingColumn, match="missing column 'city'"):
        _check(SAMPLE.drop(columns="city"))


def test_extra_column() -> None:
    with pytest.raises(ExtraColumn, match=r"'zip'.*drop it") as e:
        _check(SAMPLE.assign(zip=[1, 2, 3]))
    assert e.value.column == "zip"


def test_columns_come_back_in_the_signature_order() -> None:
    out = _check(SAMPLE[["plan", "city", "income", "age"]])
    assert list(out.columns) == ["age", "income", "city", "plan"]


def test_int_is_cast_to_float_but_float_is_not_cast_to_int() -> None:
    out = _check(SAMPLE.assign(income=[1, 2, 3]))
    assert out["income"].dtype == "float64"
    with pytest.raises(WrongDtype, match=r"column 'age' has dtype float64; expected int64"):
        _check(SAMPLE.assign(age=[30.5, 40.0, 50.0]))


def test_datetimes_of_another_unit_are_cast() -> None:
    sample = pd.DataFrame({"t": np.array(["2024-01-01"], dtype="datetime64[s]")})
    x = pd.DataFrame({"t": np.array(["2024-05-01T10:00"], dtype="datetime64[ns]")})
    assert _check(x, sample)["t"].dtype == "datetime64[s]"


def test_text_where_numbers_were() -> None:
    with pytest.raises(WrongDtype, match="column 'income'"):
        _check(SAMPLE.assign(income=["a", "b", "c"]))


def test_nulls_where_the_sample_had_none() -> None:
    with pytest.raises(UnexpectedNull, match=r"column 'income' has 1 missing value"):
        _check(SAMPLE.assign(income=[1.0, None, 2.0]))
    nullable = SAMPLE.assign(income=[1.0, None, 2.0])
    assert _check(nullable, sample=nullable)["income"].isna().sum() == 1


def test_unseen_category_warns_and_strict_raises() -> None:
    other = SAMPLE.assign(city=["oslo", "rome", "paris"])
    with pytest.warns(UnseenCategoryWarning, match="'oslo'"):
        _check(other)
    with pytest.raises(UnseenCategory, match=r"column 'city'.*'oslo'"):
        _check(other, strict=True)


def test_categorical_is_recoded_to_the_saved_categories() -> None:
    out = _check(SAMPLE.assign(plan=["c", "a", "b"]))
    assert list(out["plan"].cat.categories) == ["a", "b", "c"]
    assert list(out["plan"].cat.codes) == [2, 0, 1]
    with pytest.raises(UnseenCategory, match="'z'"):
        _check(SAMPLE.assign(plan=["z", "a", "b"]), strict=True)


def test_arrow_and_dict_inputs_for_a_dataframe_model() -> None:
    out = _check(pa.Table.from_pandas(SAMPLE))
    assert list(out["age"]) == [30, 40, 50]
    out = _check({c: SAMPLE[c].to_numpy() for c in SAMPLE.columns})
    assert list(out.columns) == list(SAMPLE.columns)


def test_an_arrow_model_gets_an_arrow_table() -> None:
    table = pa.table({"x": [1.0, 2.0]})
    assert isinstance(conform(describe(table), pd.DataFrame({"x": [3, 4]})), pa.Table)


def test_array_shape_and_dtype() -> None:
    sample = np.zeros((4, 3), dtype="float32")
    assert _check(np.ones((2, 3), dtype="int8"), sample).dtype == np.float32
    with pytest.raises(WrongShape, match=r"shape \(2, 4\); expected \(any, 3\)"):
        _check(np.ones((2, 4), dtype="float32"), sample)
    with pytest.raises(WrongShape):
        _check(np.ones(3, dtype="float32"), sample)
    with pytest.raises(WrongDtype, match="float64; expected float32"):
        _check(np.ones((2, 3)), sample)
    with pytest.raises(UnexpectedNull, match="NaN"):
        _check(np.full((1, 3), np.nan, dtype="float32"), sample)


def test_dict_of_arrays() -> None:
    sample = {"ids": np.array([1, 2]), "vec": np.zeros((2, 5))}
    out = _check({"vec": np.ones((1, 5)), "ids": np.array([7])}, sample)
    assert list(out) == ["ids", "vec"]
    with pytest.raises(MissingColumn, match="missing input 'vec'"):
        _check({"ids": np.array([1])}, sample)
    with pytest.raises(WrongShape, match="input 'vec'"):
        _check({"ids": np.array([1]), "vec": np.ones((1, 4))}, sample)


def test_wrong_kind_of_input() -> None:
    with pytest.raises(WrongInputType, match=r"expected a table.*age, income, city, plan"):
        _check(np.zeros((3, 4)))
