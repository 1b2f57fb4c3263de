"""Checks on arguments shared by every Store implementation; each failure names the field."""

from __future__ import annotations

import json
import math
import re
from array import array
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tether.store.entities import (
    IO_DIRECTIONS,
    IO_KINDS,
    OBJECT_KINDS,
    RUN_STATUSES,
    MetricPoint,
    ObjectRecord,
)
from tether.store.errors import InvalidField

MAX_NAME = 250
# Longest text value (param, tag, message, error): far beyond any real one, and well inside
# what SQLite and PostgreSQL store, so one runaway value cannot bloat every read of a run.
MAX_TEXT = 1_000_000
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _utf8(value: str) -> bool:
    """Whether ``value`` can be stored as UTF-8 (no lone surrogates, as from bad decoding)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# names that passed: a sweep checks the same param and metric keys on every run
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_MAX = 10_000


def name(field: str, value: object) -> str:
    """A name or key: a non-empty string without surrounding blanks or control characters."""
    if type(value) is str and value in _GOOD_NAMES:
        return value
    if (
        type(value) is str
        and 0 < len(value) <= MAX_NAME
        and value == value.strip()
        and not _CONTROL.search(value)
        and (value.isascii() or _utf8(value))
    ):
        if len(_GOOD_NAMES) < _GOOD_NAMES_MAX:
            _GOOD_NAMES.add(value)
        return value  # the common case, checked in one go; the rest says what is wrong
    if not isinstance(value, str):
        raise InvalidField(field, f"expected a string, got {type(value).__name__}")
    if not value:
        raise InvalidField(field, "must not be empty")
    if value != value.strip():
        raise InvalidField(field, f"{value!r} has leading or trailing whitespace")
    if len(value) > MAX_NAME:
        raise InvalidField(field, f"longer than {MAX_NAME} characters")
    if _CONTROL.search(value):
        raise InvalidField(field, f"{value!r} contains control characters")
    if not _utf8(value):
        raise InvalidField(field, f"{value!r} is not valid Unicode (a lone surrogate)")
    return value


NAME_RULE = (
    "dataset, model and experiment names are 1 to 250 characters of valid Unicode, without "
    "'/', '\\', '@', control characters or leading/trailing spaces, and not '.' or '..'"
)
_NOT_IN_NAMES = re.compile(r"[/\\@\x00-\x1f\x7f]")


def entity_name(field: str, value: object) -> str:
    """A dataset, model or experiment name: the one rule every entry point applies.

    Stricter than :func:`name` (keys may hold '/'): such names become paths (checkouts,
    caches) and references (``name@3``), so they hold no separator and no '@'.
    """
    if (
        type(value) is str
        and 0 < len(value) <= MAX_NAME
        and value == value.strip()
        and not _NOT_IN_NAMES.search(value)
        and value not in (".", "..")
        and (value.isascii() or _utf8(value))
    ):
        return value
    shown = repr(value) if isinstance(value, str) else type(value).__name__
    raise InvalidField(field, f"{shown} is not a valid name: {NAME_RULE}")


def optional_entity_name(field: str, value: object) -> str | None:
    return None if value is None else entity_name(field, value)


def optional_name(field: str, value: object) -> str | None:
    return None if value is None else name(field, value)


def text(field: str, value: object) -> str:
    """A text value the database can store: no NUL, valid Unicode, at most ``MAX_TEXT``."""
    if type(value) is str and "\x00" not in value and len(value) <= MAX_TEXT:
        if value.isascii() or _utf8(value):
            return value
        raise InvalidField(
            field, f"{_start(value)} is not valid Unicode (a lone surrogate, as from bad decoding)"
        )
    if not isinstance(value, str):
        raise InvalidField(field, f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidField(
            field, f"{_start(value)} contains a NUL character, which databases cannot store"
        )
    if len(value) > MAX_TEXT:
        raise InvalidField(
            field, f"{len(value):,} characters, longer than {MAX_TEXT:,}; store it as an artifact"
        )
    return text(field, str(value))  # a str subclass


def optional_text(field: str, value: object) -> str | None:
    return None if value is None else text(field, value)


def error_text(value: object) -> str | None:
    """A run's error as it can be stored: NUL and lone surrogates escaped, too long cut.

    An error describes a failure that already happened; refusing it would lose the run's end.
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidField("error", f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if not value.isascii() and not _utf8(value):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(value) > MAX_TEXT:
        value = value[: MAX_TEXT // 2] + "\n[... cut ...]\n" + value[-(MAX_TEXT // 2) :]
    return value


def _start(value: str) -> str:
    """The start of a value for a message (a long value is cut, a secret is not shown whole)."""
    return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."


def one_of(field: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise InvalidField(field, f"{value!r} is not one of {', '.join(allowed)}")
    assert isinstance(value, str)
    return value


def status(value: object) -> str:
    return one_of("status", value, RUN_STATUSES)


def string_map(field: str, values: Mapping[str, str] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidField(field, f"expected a mapping, got {type(values).__name__}")
    out: dict[str, str] = {}
    for key, value in values.items():
        name(f"{field} key", key)
        if not isinstance(value, str):
            raise InvalidField(
                f"{field}[{key!r}]", f"expected a string value, got {type(value).__name__}"
            )
        out[key] = text(f"{field}[{key!r}]", value)
    return out


def json_map(field: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    return json_map_text(field, value)[0]


def json_map_text(field: str, value: Mapping[str, Any] | None) -> tuple[dict[str, Any], str]:
    """``json_map``, and the map as the JSON text ``json.dumps`` gives (what SQLite stores)."""
    if value is None:
        return {}, "{}"
    if not isinstance(value, Mapping):
        raise InvalidField(field, f"expected a mapping, got {type(value).__name__}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise InvalidField(
            field, f"must be JSON (str keys; str, number, bool, list, dict): {e}"
        ) from None
    return dict(value), text


def count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"expected a whole number, got {value!r}")
    if not 0 <= value <= INT64_MAX:
        raise InvalidField(field, f"{value} is negative or too large")
    return value


def version(field: str, value: object) -> int:
    v = count(field, value)
    if v < 1:
        raise InvalidField(field, "versions start at 1")
    return v


def _int64(field: str, value: object) -> int:
    if isinstance(value, bool):
        raise InvalidField(field, f"expected a whole number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise InvalidField(field, f"expected a finite whole number, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidField(field, f"expected a whole number, got {type(value).__name__}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise InvalidField(field, f"{value} does not fit in 64 bits")
    return value


def metric_point(p: object) -> MetricPoint:
    """The point with its step and timestamp as ints and its value as a float."""
    if not isinstance(p, MetricPoint):
        raise InvalidField("points", f"expected MetricPoint items, got {type(p).__name__}")
    name("metric key", p.key)
    step = _int64(f"step of metric {p.key!r}", p.step)
    ts = _int64(f"timestamp_ms of metric {p.key!r}", p.timestamp_ms)
    value = p.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidField(f"value of metric {p.key!r}", f"expected a number, got {value!r}")
    return MetricPoint(p.key, step, ts, float(value))


def metric_series(
    points: Iterable[MetricPoint],
) -> dict[str, tuple[array[int], array[int], array[float]]]:
    """Checked points grouped by key into (steps, timestamps ms, values) arrays, in order.

    The hot path of metric logging: well-typed points take the fast branch.
    """
    series: dict[str, tuple[array[int], array[int], array[float]]] = {}
    for p in points:
        if (
            type(p) is not MetricPoint
            or type(p.step) is not int
            or (type(p.timestamp_ms) is not int or type(p.value) is not float)
        ):
            p = metric_point(p)
        s = series.get(p.key)
        if s is None:
            name("metric key", p.key)
            s = series[p.key] = (array("q"), array("q"), array("d"))
        try:
            s[0].append(p.step)
            s[1].append(p.timestamp_ms)
        except OverflowError:
            raise InvalidField(
                f"step or timestamp_ms of metric {p.key!r}", "does not fit in 64 bits"
            ) from None
        s[2].append(p.value)
    return series


def metric_columns(
    series: Mapping[str, tuple[Sequence[int], Sequence[int], Sequence[float]]],
) -> dict[str, tuple[array[int], array[int], array[float]]]:
    """Checked ``{key: (steps, timestamps ms, values)}`` columns as packed arrays."""
    out: dict[str, tuple[array[int], array[int], array[float]]] = {}
    for key, columns in series.items():
        name("metric key", key)
        try:
            steps, times, values = columns
            packed = (array("q", steps), array("q", times), array("d", values))
        except (TypeError, ValueError, OverflowError) as e:
            raise InvalidField(
                f"metric {key!r}",
                f"expected (steps, timestamps_ms, values) of whole numbers, "
                f"whole numbers and numbers: {e}",
            ) from None
        if not len(packed[0]) == len(packed[1]) == len(packed[2]):
            raise InvalidField(f"metric {key!r}", "steps, timestamps and values differ in length")
        out[key] = packed
    return out


def object_records(records: Iterable[ObjectRecord]) -> list[ObjectRecord]:
    out = []
    for r in records:  # thousands per `data add`: the messages are made only for a bad one
        if not isinstance(r, ObjectRecord):
            raise InvalidField("records", f"expected ObjectRecord items, got {type(r).__name__}")
        name("digest", r.digest)
        size = r.size
        if type(size) is not int or not 0 <= size <= INT64_MAX:
            count(f"size of object {r.digest}", size)
        if r.kind not in OBJECT_KINDS:
            one_of(f"kind of object {r.digest}", r.kind, OBJECT_KINDS)
        out.append(r)
    return out


def io(direction: object, kind: object) -> tuple[str, str]:
    return one_of("direction", direction, IO_DIRECTIONS), one_of("kind", kind, IO_KINDS)


def aware_time(field: str, value: datetime | None) -> None:
    """``value``, when given, is a timezone-aware datetime."""
    if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
        raise InvalidField(field, f"expected a timezone-aware datetime, got {value!r}")


def prediction_segment(
    project: str, model: str, version: int, start_time: datetime, end_time: datetime,
    rows: int, digest: str,
) -> None:  # fmt: skip
    """A prediction-log segment's fields, as every writer of one checks them."""
    name("project", project)
    entity_name("model name", model)
    name("digest", digest)
    for field, n in (("version", version), ("rows", rows)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidField(field, f"expected a whole number >= 0, got {n!r}")
    if start_time is None or end_time is None:
        raise InvalidField("start_time" if start_time is None else "end_time", "is required")
    aware_time("start_time", start_time)
    aware_time("end_time", end_time)
    if end_time < start_time:
        raise InvalidField("end_time", "is before start_time")
