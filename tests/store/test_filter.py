import pytest
from hypothesis import given
from hypothesis import strategies as st

from tether.store.filter import (
    And,
    Compare,
    Field,
    FilterSyntaxError,
    FilterTooLarge,
    In,
    IsNull,
    Like,
    Not,
    Or,
    OrderBy,
    format_filter,
    parse_filter,
    parse_order_by,
)


def test_the_common_query() -> None:
    assert parse_filter("metrics.acc > 0.9 and params.model = 'a'") == And(
        (
            Compare(Field("metrics", "acc"), ">", 0.9),
            Compare(Field("params", "model"), "=", "a"),
        )
    )


def test_precedence_and_binds_tighter_than_or() -> None:
    e = parse_filter("tags.a = 'x' or tags.b = 'y' and not status = 'failed'")
    assert e == Or(
        (
            Compare(Field("tags", "a"), "=", "x"),
            And(
                (
                    Compare(Field("tags", "b"), "=", "y"),
                    Not(Compare(Field("attributes", "status"), "=", "failed")),
                )
            ),
        )
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.model in ('a', \"b\")", In(Field("params", "model"), ("a", "b"))),
        ("params.model NOT IN ('a')", In(Field("params", "model"), ("a",), negated=True)),
        ("name like 'bert-%'", Like(Field("attributes", "name"), "bert-%")),
        ("attributes.name not like '%x'", Like(Field("attributes", "name"), "%x", negated=True)),
        ("tags.owner is null", IsNull(Field("tags", "owner"))),
        ("tags.owner IS NOT NULL", IsNull(Field("tags", "owner"), negated=True)),
        ("max(metrics.acc) >= 1e-3", Compare(Field("metrics", "acc", "max"), ">=", 0.001)),
        ("min(metrics.val.loss) < -2", Compare(Field("metrics", "val.loss", "min"), "<", -2.0)),
        ("metrics.layer.0.loss <> 1", Compare(Field("metrics", "layer.0.loss"), "!=", 1.0)),
        ("params.`learning rate` == 0.1", Compare(Field("params", "learning rate"), "=", 0.1)),
        ("tags.ok = true", Compare(Field("tags", "ok"), "=", True)),
        ("params.q = 'it\\'s'", Compare(Field("params", "q"), "=", "it's")),
    ],
)
def test_conditions(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


def test_blank_filter_means_no_filter() -> None:
    assert parse_filter("  ") is None


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("metrics.acc > ", 14, "expected a number"),
        ("metrics.acc >> 1", 13, "expected a number"),
        ("metrics.acc > 0.9 and", 21, "the end of the filter"),
        ("params.model = 'a' params.x = 1", 19, "expected 'and', 'or'"),
        ("colour = 'red'", 0, "unknown field"),
        ("min(params.x) > 1", 0, "metrics only"),
        ("(status = 'x'", 13, "')' to close"),
        ("metrics.acc ~ 1", 12, "unexpected character '~'"),
        ("params.model in ('a' 'b')", 21, "',' or ')'"),
        ("name like 3", 10, "quoted pattern"),
    ],
)
def test_errors_point_at_the_offending_token(text: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert str(info.value).splitlines()[-1] == "  " + " " * position + "^"


def test_order_by() -> None:
    assert parse_order_by("metrics.acc DESC, start_time") == [
        OrderBy(Field("metrics", "acc"), descending=True),
        OrderBy(Field("attributes", "start_time")),
    ]
    with pytest.raises(FilterSyntaxError, match="expected ','"):
        parse_order_by("metrics.acc sideways")


names = st.text(st.characters(codec="utf-8", exclude_characters="`"), min_size=1, max_size=12)
fields = (
    st.builds(Field, st.sampled_from(["params", "metrics", "tags"]), names)
    | st.builds(Field, st.just("metrics"), names, st.sampled_from(["min", "max"]))
    | st.builds(Field, st.just("attributes"), st.sampled_from(["status", "name", "experiment"]))
)
scalars = st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8) | st.booleans()
leaves = (
    st.builds(Compare, fields, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), scalars)
    | st.builds(In, fields, st.lists(scalars, min_size=1, max_size=3).map(tuple), st.booleans())
    | st.builds(Like, fields, st.text(max_size=6), st.booleans())
    | st.builds(IsNull, fields, st.booleans())
)
exprs = st.recursive(
    leaves,
    lambda inner: (
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple))
        | st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple))
        | st.builds(Not, inner)
    ),
    max_leaves=6,
)


@given(exprs)
def test_format_then_parse_round_trips(expr: object) -> None:
    assert parse_filter(format_filter(expr)) == expr  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["a..b", "a.0x", "é", "x y", "1st", "a.", "val.acc", "l.0.w"])
def test_any_key_survives_formatting(key: str) -> None:
    field = Field("metrics", key)
    assert parse_filter(f"{field} > 1") == Compare(field, ">", 1.0)


HOSTILE_FILTERS = [
    pytest.param("(" * 1000 + "params.a = 1" + ")" * 1000, "50 nested", id="1000-parens"),
    pytest.param("not " * 1000 + "params.a = 1", "50 nested", id="1000-nots"),
    pytest.param(" or ".join(f"params.a = {i}" for i in range(2000)), "500 conditions", id="or"),
    pytest.param(
        "params.a in (" + ", ".join(str(i) for i in range(100_000)) + ")",
        "10,000 values in 'in' lists",
        id="100000-in",
    ),
    pytest.param("params.a = '" + "x" * 1_000_001 + "'", "1,000,000 characters", id="long"),
]


@pytest.mark.parametrize(("text", "limit"), HOSTILE_FILTERS)
def test_a_hostile_filter_is_one_line_naming_the_limit(text: str, limit: str) -> None:
    with pytest.raises(FilterTooLarge, match=f"more than {limit}") as info:
        parse_filter(text)
    assert "\n" not in str(info.value)


def test_too_many_sort_keys_name_the_limit() -> None:
    with pytest.raises(FilterTooLarge, match="more than 20 sort keys"):
        parse_order_by(", ".join(f"params.k{i}" for i in range(21)))


def test_a_filter_at_the_limits_parses() -> None:
    expr = parse_filter(" or ".join(f"params.a = {i}" for i in range(500)))
    assert isinstance(expr, Or) and len(expr.items) == 500
    assert parse_filter("(" * 50 + "params.a = 1" + ")" * 50) == Compare(
        Field("params", "a"), "=", 1.0
    )
