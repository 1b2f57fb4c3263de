"""Slice predicates over the columns of a table: a small parser, never Python's ``eval``.

Grammar (keywords are case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | condition
    condition  := column OP literal
                | column ["not"] "in" ("[" | "(") literal ("," literal)* ("]" | ")")
                | column "is" ["not"] "null"
    column     := identifier | `any name in backquotes`
    OP         := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal    := number | 'string' | "string" | true | false

A comparison with a missing value (NaN, None, NaT) is false; ``is null`` finds them. The text
is tokenised and parsed into the dataclasses below, and a mask is computed from them with
vectorised column comparisons: nothing in it is ever run as code. Limits (``MAX_*``) keep a
hostile text from costing more than a moment; going past one is a ``SliceTooComplex``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tether.models.errors import SliceColumnError, SliceSyntaxError, SliceTooComplex

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_CHARS = 100_000
MAX_DEPTH = 32  # nested parentheses and 'not's
MAX_CONDITIONS = 100
MAX_VALUES = 10_000  # literals in all 'in' lists together

Scalar = str | float | int | bool
Op = Literal["==", "!=", "<", "<=", ">", ">="]


@dataclass(frozen=True)
class Compare:
    column: str
    op: Op
    value: Scalar


@dataclass(frozen=True)
class In:
    column: str
    values: tuple[Scalar, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    column: str
    negated: bool = False


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


Node = Compare | In | IsNull | Not | BoolOp

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<quoted>`[^`]+`)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<>|<=|>=|=|<|>)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false", "none"}
_OPS: dict[str, Op] = {
    "==": "==", "=": "==", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
}  # fmt: skip


@dataclass(frozen=True)
class _Tok:
    kind: str  # number, string, name, keyword, op, punct, end, bad (an unknown character)
    text: str
    pos: int


def _tokenise(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # reported when the parser gets here, so an earlier mistake wins
            tokens.append(_Tok("bad", text[pos], pos))
            return tokens
        kind = m.lastgroup or ""
        if kind != "ws":
            word = m.group()
            if kind == "name" and word.lower() in _KEYWORDS:
                kind = "keyword"
            tokens.append(_Tok(kind, word, pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


def _unquote(token: str) -> str:
    quote, body = token[0], token[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(body[i + 1])
            i += 2
        elif ch == quote:  # a doubled quote
            out.append(ch)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenise(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0
        self.values = 0

    def peek(self) -> _Tok:
        tok = self.tokens[self.i]
        if tok.kind == "bad":
            problem = (
                f"a string opened with {tok.text} and never closed"
                if tok.text in "'\"`"
                else f"unexpected character {tok.text!r}"
            )
            raise SliceSyntaxError(self.text, tok.pos, problem)
        return tok

    def take(self) -> _Tok:
        tok = self.peek()
        if tok.kind != "end":
            self.i += 1
        return tok

    def is_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "keyword" and tok.text.lower() == word

    def fail(self, tok: _Tok, expected: str) -> SliceSyntaxError:
        found = "the end of the slice" if tok.kind == "end" else repr(tok.text)
        return SliceSyntaxError(self.text, tok.pos, f"expected {expected}, found {found}")

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok.kind != "end":
            raise self.fail(tok, "'and', 'or' or the end of the slice")
        return node

    def expr(self) -> Node:
        parts = [self.and_expr()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self) -> Node:
        tok = self.peek()
        if self.is_kw("not") or (tok.kind == "punct" and tok.text == "("):
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise SliceTooComplex(
                    self.text, tok.pos, f"more than {MAX_DEPTH} nested parentheses or 'not's"
                )
            self.take()
            if tok.kind == "keyword":
                node: Node = Not(self.not_expr())
            else:
                node = self.expr()
                close = self.take()
                if close.text != ")" or close.kind != "punct":
                    raise self.fail(close, "')'")
            self.depth -= 1
            return node
        return self.condition()

    def column(self) -> str:
        tok = self.take()
        if tok.kind == "name":
            return tok.text
        if tok.kind == "quoted":
            return tok.text[1:-1]
        raise self.fail(tok, "a column name")

    def literal(self) -> Scalar:
        tok = self.take()
        if tok.kind == "number":
            text = tok.text
            return int(text) if re.fullmatch(r"[-+]?\d+", text) else float(text)
        if tok.kind == "string":
            return _unquote(tok.text)
        if tok.kind == "keyword" and tok.text.lower() in ("true", "false"):
            return tok.text.lower() == "true"
        raise self.fail(tok, "a number, a 'quoted string', true or false")

    def condition(self) -> Node:
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise SliceTooComplex(
                self.text, self.peek().pos, f"more than {MAX_CONDITIONS} conditions"
            )
        column = self.column()
        tok = self.peek()
        if tok.kind == "op":
            self.take()
            return Compare(column, _OPS[tok.text], self.literal())
        if self.is_kw("is"):
            self.take()
            negated = self.is_kw("not")
            if negated:
                self.take()
            if not (self.is_kw("null") or self.is_kw("none")):
                raise self.fail(self.peek(), "'null'")
            self.take()
            return IsNull(column, negated)
        negated = self.is_kw("not")
        if negated:
            self.take()
        if self.is_kw("in"):
            self.take()
            return In(column, self.value_list(), negated)
        expected = (
            "'in'"
            if negated
            else f"a comparison (==, !=, <, <=, >, >=, in, is null) after column {column!r}"
        )
        raise self.fail(self.peek(), expected)

    def value_list(self) -> tuple[Scalar, ...]:
        open_ = self.take()
        if open_.kind != "punct" or open_.text not in "[(":
            raise self.fail(open_, "'[' starting a list of values")
        close = "]" if open_.text == "[" else ")"
        values = [self.literal()]
        while self.peek().text == "," and self.peek().kind == "punct":
            self.take()
            values.append(self.literal())
        self.values += len(values)
        if self.values > MAX_VALUES:
            raise SliceTooComplex(self.text, open_.pos, f"more than {MAX_VALUES} listed values")
        end = self.take()
        if end.kind != "punct" or end.text != close:
            raise self.fail(end, f"',' or {close!r}")
        return tuple(values)


def _fmt_column(name: str) -> str:
    return (
        name
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) and name.lower() not in _KEYWORDS
        else f"`{name}`"
    )


def _fmt_value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _fmt(node: Node, top: bool = True) -> str:
    if isinstance(node, Compare):
        return f"{_fmt_column(node.column)} {node.op} {_fmt_value(node.value)}"
    if isinstance(node, In):
        listed = ", ".join(_fmt_value(v) for v in node.values)
        return f"{_fmt_column(node.column)} {'not in' if node.negated else 'in'} [{listed}]"
    if isinstance(node, IsNull):
        return f"{_fmt_column(node.column)} is {'not null' if node.negated else 'null'}"
    if isinstance(node, Not):
        return f"not {_fmt(node.operand, top=False)}"
    text = f" {node.op} ".join(_fmt(o, top=False) for o in node.operands)
    return text if top else f"({text})"


def _columns(node: Node) -> list[str]:
    if isinstance(node, Not):
        return _columns(node.operand)
    if isinstance(node, BoolOp):
        return [c for o in node.operands for c in _columns(o)]
    return [node.column]


@dataclass(frozen=True)
class Slice:
    """A parsed slice: ``text`` as written, ``name`` in one canonical spelling."""

    text: str
    node: Node

    @property
    def name(self) -> str:
        return _fmt(self.node)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(_columns(self.node)))

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """The rows of ``frame`` in the slice, as a boolean array."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
            raise SliceColumnError(
                f"slice {self.text!r}: the data has no column {missing[0]!r} (columns: {shown})"
            )
        return _mask(self.node, frame, self.text)


def parse_slice(text: str) -> Slice:
    """Parse one slice predicate; a ``SliceSyntaxError`` names the bad token and its position."""
    if not isinstance(text, str):
        raise SliceSyntaxError(repr(text), 0, f"a slice is a string, not {type(text).__name__}")
    if len(text) > MAX_CHARS:
        raise SliceTooComplex(text, MAX_CHARS, f"longer than {MAX_CHARS:,} characters")
    if not text.strip():
        raise SliceSyntaxError(text, 0, "empty slice")
    return Slice(text, _Parser(text).parse())


def _mask(node: Node, frame: pd.DataFrame, text: str) -> np.ndarray:
    import numpy as np

    if isinstance(node, Not):
        return ~_mask(node.operand, frame, text)
    if isinstance(node, BoolOp):
        masks = [_mask(o, frame, text) for o in node.operands]
        reduce = np.logical_and if node.op == "and" else np.logical_or
        return reduce.reduce(masks)
    series = frame[node.column]
    present = series.notna().to_numpy()
    if isinstance(node, IsNull):
        return present if node.negated else ~present
    if isinstance(node, In):
        values = [_coerce(series, v, node.column, text) for v in node.values]
        hit = series.isin(values).to_numpy() & present
        return ~hit & present if node.negated else hit
    value = _coerce(series, node.value, node.column, text)
    try:
        compared = {
            "==": series.eq, "!=": series.ne, "<": series.lt,
            "<=": series.le, ">": series.gt, ">=": series.ge,
        }[node.op](value)  # fmt: skip
    except TypeError as exc:
        raise SliceColumnError(
            f"slice {text!r}: column {node.column!r} ({series.dtype}) cannot be compared "
            f"with {node.op} {_fmt_value(node.value)}: {exc}"
        ) from None
    return compared.to_numpy(dtype=bool, na_value=False) & present


def _coerce(series: pd.Series, value: Scalar, column: str, text: str) -> Any:
    """``value`` as the column's kind of value, or a ``SliceColumnError`` naming both."""
    import pandas as pd
    from pandas.api import types

    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    numeric = types.is_numeric_dtype(dtype) and not types.is_bool_dtype(dtype)

    def wrong(kind: str) -> SliceColumnError:
        return SliceColumnError(
            f"slice {text!r}: column {column!r} holds {dtype} values, "
            f"compared with {kind} {_fmt_value(value)}; compare it with {_kind_of(series)}"
        )

    if types.is_datetime64_any_dtype(dtype):
        if not isinstance(value, str):
            raise wrong("the number" if not isinstance(value, bool) else "the boolean")
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError):
            raise wrong("the text that is not a date") from None
    if isinstance(value, bool):
        if not types.is_bool_dtype(dtype) and not types.is_object_dtype(dtype):
            raise wrong("the boolean")
        return value
    if isinstance(value, int | float):
        if not numeric and not types.is_object_dtype(dtype):
            raise wrong("the number")
        return value
    if numeric or types.is_bool_dtype(dtype):
        raise wrong("the string")
    return value


def _kind_of(series: pd.Series) -> str:
    from pandas.api import types

    dtype = series.dtype
    if types.is_bool_dtype(dtype):
        return "true or false"
    if types.is_numeric_dtype(dtype):
        return "a number"
    if types.is_datetime64_any_dtype(dtype):
        return "a date in quotes"
    return "a 'quoted string'"
