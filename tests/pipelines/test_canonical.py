"""Canonical encoding of params: equal values encode equally, unequal ones differently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether import DatasetRef
from tether.pipelines.canonical import dumps, encode
from tether.pipelines.errors import NotEncodable

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=5)
    | st.builds(Path, st.text(alphabet="abc/", max_size=5))
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers(), max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
        | st.dictionaries(st.integers(), inner, max_size=3)
    ),
    max_leaves=10,
)


def _text(value: Any) -> str:
    return dumps(encode(value))


def _same(a: Any, b: Any) -> bool:
    """Equality that tells 1 from 1.0 from True, lists from tuples, as the key must."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and repr(a) == repr(b)


@settings(max_examples=200, deadline=None)
@given(a=values, b=values)
def test_equal_values_and_only_those_encode_the_same(a: Any, b: Any) -> None:
    if _same(a, b):
        assert _text(a) == _text(b)
    else:
        assert _text(a) != _text(b) or a == b  # 0.0 == -0.0 style equalities may collide


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=4), st.integers(), max_size=6))
def test_dict_order_does_not_matter(d: dict[str, int]) -> None:
    assert _text(d) == _text(dict(reversed(list(d.items()))))


def test_dataset_refs_and_unencodable_values() -> None:
    assert encode(DatasetRef("churn", 3)) == {"$dataset": "churn@3"}
    with pytest.raises(NotEncodable, match=r"param 'x'\[1\] is a object"):
        encode([1, object()], "param 'x'")
