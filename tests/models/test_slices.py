import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.errors import InvalidInput
from tether.models.errors import SliceColumnError, SliceSyntaxError, SliceTooComplex
from tether.models.slices import BoolOp, Compare, In, IsNull, Node, Not, Slice, parse_slice


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "country": ["DE", "FR", None, "DE"],
            "age": [70, 30, np.nan, 60],
            "segment": pd.Categorical(["a", "b", "c", "b"]),
            "active": [True, False, True, True],
            "sign up": ["x", "y", "x", "y"],
        }
    )


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("country == 'DE'", [0, 3]),
        ('country = "DE"', [0, 3]),
        ("age >= 60", [0, 3]),
        ("age < 60", [1]),
        ("age != 30", [0, 3]),  # a missing value compares false
        ("segment in ['a', 'b']", [0, 1, 3]),
        ("segment not in ('a')", [1, 2, 3]),
        ("country == 'DE' and age > 65", [0]),
        ("country == 'FR' or age >= 70", [0, 1]),
        ("not (country == 'DE' or age < 40)", [2]),
        ("country is null", [2]),
        ("age is not null and active == true", [0, 3]),
        ("`sign up` == 'y'", [1, 3]),
        ("age > 1e1 and segment == 'c' or country == 'XX'", []),
    ],
)
def test_slices_select_the_rows_they_describe(
    frame: pd.DataFrame, text: str, rows: list[int]
) -> None:
    assert np.flatnonzero(parse_slice(text).mask(frame)).tolist() == rows


def test_and_binds_tighter_than_or(frame: pd.DataFrame) -> None:
    mask = parse_slice("country == 'FR' or age >= 60 and country == 'DE'").mask(frame)
    assert np.flatnonzero(mask).tolist() == [0, 1, 3]


def test_spellings_of_one_slice_share_a_name() -> None:
    assert parse_slice("segment=='b'").name == parse_slice('segment  ==  "b"').name
    assert parse_slice("segment == 'b'").name == "segment == 'b'"
    text = "(a == 1 or b in ['x', 'y']) and not c is null"
    assert parse_slice(parse_slice(text).name).node == parse_slice(text).node


def test_python_in_a_slice_is_a_syntax_error_and_is_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = f"age == 1 or __import__('os').system('touch {marker}')"
    with pytest.raises(SliceSyntaxError) as info:
        parse_slice(hostile)
    assert "'__import__'" in str(info.value) and "found '('" in str(info.value)
    with pytest.raises(SliceSyntaxError, match="found '\\('"):
        parse_slice("__import__('os')")
    assert not marker.exists()


def test_deep_nesting_is_refused_quickly() -> None:
    start = time.perf_counter()
    with pytest.raises(SliceTooComplex, match="nested parentheses"):
        parse_slice("(" * 1000 + "a == 1" + ")" * 1000)
    with pytest.raises(SliceTooComplex):
        parse_slice("not " * 1000 + "a == 1")
    assert isinstance(SliceTooComplex("x", 0, "y"), InvalidInput)
    assert time.perf_counter() - start < 5  # no recursion to Python's limit


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("age >=", "the end of the slice"),
        ("age ?? 3", "'?'"),
        ("country == 'DE", "never closed"),
        ("age >= 60 60", "'60'"),
        ("segment in 'a'", "'a'"),
        ("segment in ['a' 'b']", "'b'"),
        ("== 3", "'=='"),
        ("(age > 3", "the end of the slice"),
        ("", "empty"),
    ],
)
def test_malformed_slices_name_the_bad_token(text: str, token: str) -> None:
    with pytest.raises(SliceSyntaxError) as info:
        parse_slice(text)
    assert token in str(info.value)


def test_unknown_column_is_named(frame: pd.DataFrame) -> None:
    with pytest.raises(SliceColumnError, match="no column 'income'"):
        parse_slice("age > 3 and income > 10").mask(frame)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("age == 'old'", "holds float64 values, compared with the string 'old'"),
        ("country > 3", "compared with the number 3"),
        ("active == 'yes'", "compared with the string 'yes'"),
    ],
)
def test_comparing_a_column_with_the_wrong_kind_of_value_is_an_error(
    frame: pd.DataFrame, text: str, problem: str
) -> None:
    with pytest.raises(SliceColumnError, match=problem):
        parse_slice(text).mask(frame)


def test_too_long_slice_is_refused() -> None:
    with pytest.raises(SliceTooComplex, match="longer than"):
        parse_slice("a == 1 or " * 11_000 + "a == 1")


def test_long_value_lists_are_limited() -> None:
    listed = ", ".join(str(i) for i in range(10_001))
    with pytest.raises(SliceTooComplex, match="listed values"):
        parse_slice(f"age in [{listed}]")


_names = st.sampled_from(["age", "country", "segment", "sign up", "and"])
_values = st.one_of(
    st.integers(-1000, 1000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
    st.booleans(),
)
_conditions = st.one_of(
    st.builds(Compare, _names, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _values),
    st.builds(In, _names, st.lists(_values, min_size=1, max_size=3).map(tuple), st.booleans()),
    st.builds(IsNull, _names, st.booleans()),
)
_trees = st.recursive(
    _conditions,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=3).map(tuple),
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_trees)
def test_the_canonical_name_parses_back_to_the_same_predicate(node: Node) -> None:
    name = Slice("", node).name
    assert _flatten(parse_slice(name).node) == _flatten(node)


def _flatten(node: Node) -> Node:
    """The tree with nested and/or of the same kind merged (how the parser builds them)."""
    if isinstance(node, Not):
        return Not(_flatten(node.operand))
    if isinstance(node, BoolOp):
        parts: list[Node] = []
        for o in node.operands:
            f = _flatten(o)
            parts.extend(f.operands if isinstance(f, BoolOp) and f.op == node.op else [f])
        return BoolOp(node.op, tuple(parts))
    return node
