"""Gate policies: a dict or a TOML file, checked key by key into a ``Policy``.

```toml
primary = "accuracy"              # the metric that must improve
min_improvement = 0.01            # absolute, on the primary metric
max_regression = { log_loss = 0.02 }
slices = ["segment == 'b'"]       # each must not regress beyond max_slice_regression
max_slice_regression = 0.0
max_latency_p99_ms = 5.0
confidence = 0.95                 # paired bootstrap of the improvement
resamples = 1000
seed = 0
```

Only ``primary`` is required. Every error names the key (``InvalidPolicy``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.models.errors import InvalidPolicy, PolicyNotFound, SliceSyntaxError
from tether.models.metrics import METRICS
from tether.models.slices import Slice, parse_slice

KEYS = (
    "primary",
    "min_improvement",
    "max_regression",
    "slices",
    "max_slice_regression",
    "max_latency_p99_ms",
    "confidence",
    "resamples",
    "seed",
)
MAX_RESAMPLES = 1_000_000


@dataclass(frozen=True)
class Policy:
    primary: str
    min_improvement: float = 0.0
    max_regression: dict[str, float] = field(default_factory=dict)
    slices: tuple[Slice, ...] = ()
    max_slice_regression: float = 0.0
    max_latency_p99_ms: float | None = None
    confidence: float = 0.95
    resamples: int = 1000
    seed: int | None = 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "primary": self.primary,
            "min_improvement": self.min_improvement,
            "max_regression": dict(self.max_regression),
            "slices": [s.text for s in self.slices],
            "max_slice_regression": self.max_slice_regression,
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
        }
        if self.max_latency_p99_ms is not None:
            out["max_latency_p99_ms"] = self.max_latency_p99_ms
        return out


def load_policy(policy: Policy | Mapping[str, Any] | str | os.PathLike[str]) -> Policy:
    """A ``Policy`` from itself, a dict, or the path of a TOML file."""
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, str | os.PathLike):
        return parse_policy(_read_toml(Path(policy)))
    if isinstance(policy, Mapping):
        return parse_policy(policy)
    raise InvalidPolicy(
        "policy", f"expected a dict or the path of a TOML file, not {type(policy).__name__}"
    )


def _read_toml(path: Path) -> Mapping[str, Any]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyNotFound(f"policy file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidPolicy(str(path), f"cannot read it ({exc})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidPolicy(str(path), f"not valid TOML: {exc}") from None


def parse_policy(raw: Mapping[str, Any]) -> Policy:
    unknown = [k for k in raw if k not in KEYS]
    if unknown:
        raise InvalidPolicy(str(unknown[0]), f"unknown key; the keys are: {', '.join(KEYS)}")
    if "primary" not in raw:
        raise InvalidPolicy("primary", "missing; name the metric that must improve")
    primary = _metric("primary", raw["primary"])
    regression = raw.get("max_regression", {})
    if not isinstance(regression, Mapping):
        raise InvalidPolicy(
            "max_regression", f"expected a table of metric = limit, not {_kind(regression)}"
        )
    max_regression = {
        _metric(f"max_regression.{name}", name): _number(f"max_regression.{name}", value)
        for name, value in regression.items()
    }
    for name in max_regression:
        if METRICS[name].task != METRICS[primary].task:
            raise InvalidPolicy(
                f"max_regression.{name}",
                f"a {METRICS[name].task} metric, and the primary metric {primary!r} is "
                f"{METRICS[primary].task}",
            )
    latency = raw.get("max_latency_p99_ms")
    confidence = _number("confidence", raw.get("confidence", 0.95))
    if not 0 < confidence < 1:
        raise InvalidPolicy("confidence", f"must be between 0 and 1 (e.g. 0.95), not {confidence}")
    resamples = raw.get("resamples", 1000)
    if type(resamples) is not int or not 1 <= resamples <= MAX_RESAMPLES:
        raise InvalidPolicy(
            "resamples", f"must be a whole number from 1 to {MAX_RESAMPLES:,}, not {resamples!r}"
        )
    seed = raw.get("seed", 0)
    if seed is not None and (type(seed) is not int or seed < 0):
        raise InvalidPolicy("seed", f"must be a whole number >= 0, not {seed!r}")
    return Policy(
        primary=primary,
        min_improvement=_number("min_improvement", raw.get("min_improvement", 0.0)),
        max_regression=max_regression,
        slices=_slices(raw.get("slices", [])),
        max_slice_regression=_number("max_slice_regression", raw.get("max_slice_regression", 0.0)),
        max_latency_p99_ms=None
        if latency is None
        else _number("max_latency_p99_ms", latency, positive=True),
        confidence=confidence,
        resamples=resamples,
        seed=seed,
    )


def _kind(value: object) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def _metric(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidPolicy(key, f"expected a metric name, not {_kind(value)}")
    if value not in METRICS:
        raise InvalidPolicy(key, f"unknown metric {value!r}; known metrics: {', '.join(METRICS)}")
    return value


def _number(key: str, value: object, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidPolicy(key, f"expected a number, not {_kind(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidPolicy(key, f"must be a finite number {bound}, not {value!r}")
    return number


def _slices(value: object) -> tuple[Slice, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidPolicy("slices", f"expected a list of slice strings, not {_kind(value)}")
    parsed = []
    for i, text in enumerate(value):
        if not isinstance(text, str):
            raise InvalidPolicy(f"slices[{i}]", f"expected a slice string, not {_kind(text)}")
        try:
            parsed.append(parse_slice(text))
        except SliceSyntaxError as exc:
            raise InvalidPolicy(f"slices[{i}]", str(exc)) from None
    return tuple({s.name: s for s in parsed}.values())
