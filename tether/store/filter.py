"""The run filter language: a small recursive-descent parser producing a typed AST.

Grammar (keywords are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | condition
    condition  := field OP literal
                | field ["not"] "in" "(" literal ("," literal)* ")"
                | field ["not"] "like" string
                | field "is" ["not"] "null"
    field      := NAMESPACE "." key | ("min" | "max") "(" "metrics" "." key ")" | attribute
    OP         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal    := number | 'string' | "string" | true | false

Namespaces are ``params``, ``metrics`` (the last value; ``min(...)``/``max(...)`` over the
series), ``tags`` and ``attributes`` (``attributes.`` may be left out). A key is everything after
the namespace's dot (``metrics.val.acc`` is the metric ``val.acc``); keys with other characters
go in backquotes: ``params.`learning rate```. Nothing is ever evaluated as Python.

A filter has limits (``MAX_*`` below), each far beyond a filter a person writes and inside what
the parser and the databases handle quickly; going past one is a one-line ``FilterTooLarge``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from tether.store.errors import FilterSyntaxError, FilterTooLarge

Namespace = Literal["params", "metrics", "tags", "attributes"]
ATTRIBUTES = ("id", "name", "status", "experiment", "start_time", "end_time", "parent_id")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
Scalar = str | float | bool


MAX_FILTER_CHARS = 1_000_000
MAX_DEPTH = 50  # nested parentheses and 'not's
MAX_CONDITIONS = 500  # comparisons in all (SQLite refuses expressions nested 1,000 deep)
MAX_VALUES = 10_000  # literals in all 'in' lists together (one query parameter each)
MAX_ORDER_KEYS = 20


_PLAIN_KEY = re.compile(r"[A-Za-z_][\w\-/]*(?:\.(?:[A-Za-z_][\w\-/]*|\d+))*", re.ASCII)


@dataclass(frozen=True)
class Field:
    namespace: Namespace
    key: str
    aggregate: Literal["last", "min", "max"] = "last"

    def __str__(self) -> str:
        key = self.key if _PLAIN_KEY.fullmatch(self.key) else f"`{self.key}`"
        text = key if self.namespace == "attributes" else f"{self.namespace}.{key}"
        return text if self.aggregate == "last" else f"{self.aggregate}({text})"


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str  # one of COMPARISONS
    value: Scalar


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    field: Field
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


Expr = Compare | In | Like | IsNull | And | Or | Not


@dataclass(frozen=True)
class OrderBy:
    field: Field
    descending: bool = False


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<digits>\d+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<quoted>`[^`]+`)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<word>[A-Za-z_][\w\-/]*)
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterSyntaxError(text, pos, f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(_Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _unquote(token: _Token) -> str:
    body = token.text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        if len(text) > MAX_FILTER_CHARS:
            raise FilterTooLarge("characters", MAX_FILTER_CHARS)
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0
        self.values = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, problem: str, token: _Token | None = None) -> FilterSyntaxError:
        token = token or self.tok
        shown = f"{token.text!r}" if token.kind != "end" else "the end of the filter"
        return FilterSyntaxError(self.text, token.pos, f"{problem}, found {shown}")

    def keyword(self, *words: str) -> bool:
        if self.tok.kind == "word" and self.tok.text.lower() in words:
            self.i += 1
            return True
        return False

    def expect(self, kind: str, text: str, what: str) -> None:
        if self.tok.kind != kind or self.tok.text != text:
            raise self.fail(f"expected {what}")
        self.i += 1

    # expressions
    def expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.keyword("not"):
            self.deeper()
            negated = Not(self.not_expr())
            self.depth -= 1
            return negated
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.i += 1
            self.deeper()
            inner = self.expr()
            self.depth -= 1
            self.expect("punct", ")", "')' to close '('")
            return inner
        return self.condition()

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FilterTooLarge("nested parentheses or 'not's", MAX_DEPTH)

    def literal_in_list(self) -> Scalar:
        self.values += 1
        if self.values > MAX_VALUES:
            raise FilterTooLarge("values in 'in' lists", MAX_VALUES)
        return self.literal()

    def condition(self) -> Expr:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise FilterTooLarge("conditions", MAX_CONDITIONS)
        field = self.field()
        tok = self.tok
        if tok.kind == "op":
            self.i += 1
            op = {"==": "=", "<>": "!="}.get(tok.text, tok.text)
            return Compare(field, op, self.literal())
        negated = self.keyword("not")
        if self.keyword("in"):
            self.expect("punct", "(", "'(' after 'in'")
            values = [self.literal_in_list()]
            while self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                values.append(self.literal_in_list())
            self.expect("punct", ")", "',' or ')' in the 'in' list")
            return In(field, tuple(values), negated)
        if self.keyword("like"):
            if self.tok.kind != "string":
                raise self.fail("expected a quoted pattern after 'like'")
            pattern = _unquote(self.tok)
            self.i += 1
            return Like(field, pattern, negated)
        if not negated and self.keyword("is"):
            is_not = self.keyword("not")
            if not self.keyword("null"):
                raise self.fail("expected 'null' after 'is'")
            return IsNull(field, is_not)
        raise self.fail("expected a comparison (=, !=, <, <=, >, >=), 'in', 'like' or 'is'")

    def field(self) -> Field:
        tok = self.tok
        if (
            tok.kind == "word"
            and tok.text.lower() in ("min", "max")
            and self.tokens[self.i + 1].text == "("
        ):
            self.i += 2
            inner = self.field()
            if inner.namespace != "metrics":
                raise self.fail(f"{tok.text.lower()}() applies to metrics only", tok)
            self.expect("punct", ")", f"')' to close {tok.text.lower()}(")
            return Field("metrics", inner.key, tok.text.lower())  # type: ignore[arg-type]
        if tok.kind != "word":
            raise self.fail("expected a field such as params.x, metrics.x, tags.x or status")
        self.i += 1
        name = tok.text.lower()
        if (
            name
            in (
                "params",
                "param",
                "metrics",
                "metric",
                "tags",
                "tag",
                "attributes",
                "attribute",
                "attr",
            )
            and self.tok.kind == "dot"
        ):
            namespace = {
                "param": "params",
                "metric": "metrics",
                "tag": "tags",
                "attribute": "attributes",
                "attr": "attributes",
            }.get(name, name)
            self.i += 1
            key = self.key()
            if namespace == "attributes":
                return self.attribute(key, tok)
            return Field(namespace, key)  # type: ignore[arg-type]
        return self.attribute(tok.text, tok)

    def attribute(self, name: str, tok: _Token) -> Field:
        if name.lower() not in ATTRIBUTES:
            raise self.fail(
                "unknown field; use params.NAME, metrics.NAME, tags.NAME or one of "
                + ", ".join(ATTRIBUTES),
                tok,
            )
        return Field("attributes", name.lower())

    def key(self) -> str:
        if self.tok.kind == "quoted":
            key = self.tok.text[1:-1]
            self.i += 1
            return key
        parts: list[str] = []
        while True:
            if self.tok.kind not in ("word", "number", "digits"):
                raise self.fail("expected a name after '.'")
            parts.append(self.tok.text)
            self.i += 1
            if self.tok.kind != "dot":
                return ".".join(parts)
            self.i += 1

    def literal(self) -> Scalar:
        tok = self.tok
        self.i += 1
        if tok.kind == "number":
            return float(tok.text)
        if tok.kind == "string":
            return _unquote(tok)
        if tok.kind == "word" and tok.text.lower() in ("true", "false"):
            return tok.text.lower() == "true"
        self.i -= 1
        raise self.fail("expected a number, a quoted string, true or false")

    def done(self) -> None:
        if self.tok.kind != "end":
            raise self.fail("expected 'and', 'or' or the end of the filter")


def parse_filter(text: str) -> Expr | None:
    """Parse a filter; an empty or blank string means no filter (``None``)."""
    if type(text) is str:  # the tree is immutable: a search run again reuses it
        return _parse_filter(text)
    return _parse_filter.__wrapped__(text)


@functools.lru_cache(maxsize=256)
def _parse_filter(text: str) -> Expr | None:
    if not text.strip():
        return None
    parser = _Parser(text)
    expr = parser.expr()
    parser.done()
    return expr


def parse_order_by(text: str) -> list[OrderBy]:
    """Parse ``"metrics.acc desc, start_time"`` into sort keys, first key first."""
    if type(text) is str:
        return list(_parse_order_by(text))
    return list(_parse_order_by.__wrapped__(text))


@functools.lru_cache(maxsize=256)
def _parse_order_by(text: str) -> tuple[OrderBy, ...]:
    orders: list[OrderBy] = []
    if not text.strip():
        return ()
    parser = _Parser(text)
    while True:
        field = parser.field()
        descending = False
        if parser.keyword("desc"):
            descending = True
        else:
            parser.keyword("asc")
        orders.append(OrderBy(field, descending))
        if len(orders) > MAX_ORDER_KEYS:
            raise FilterTooLarge("sort keys", MAX_ORDER_KEYS)
        if parser.tok.kind == "punct" and parser.tok.text == ",":
            parser.i += 1
            continue
        if parser.tok.kind != "end":
            raise parser.fail("expected ',', 'asc', 'desc' or the end of the sort")
        return tuple(orders)


def format_filter(expr: Expr) -> str:
    """The canonical text of an AST; ``parse_filter(format_filter(e)) == e``."""
    if isinstance(expr, Compare):
        return f"{expr.field} {expr.op} {_format_value(expr.value)}"
    if isinstance(expr, In):
        values = ", ".join(_format_value(v) for v in expr.values)
        return f"{expr.field} {'not in' if expr.negated else 'in'} ({values})"
    if isinstance(expr, Like):
        return (
            f"{expr.field} {'not like' if expr.negated else 'like'} {_format_value(expr.pattern)}"
        )
    if isinstance(expr, IsNull):
        return f"{expr.field} is {'not null' if expr.negated else 'null'}"
    if isinstance(expr, Not):
        return f"not ({format_filter(expr.item)})"
    joiner = " and " if isinstance(expr, And) else " or "
    return joiner.join(f"({format_filter(e)})" for e in expr.items)


def _format_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
