"""What a model takes and returns: named columns or tensors with dtype, shape, nullability and
the categories seen, as plain JSON in the model's manifest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tether.models.errors import BadManifest

KINDS = ("dataframe", "arrow", "ndarray", "dict")
"""``dataframe``/``arrow``: named columns; ``ndarray``: one tensor; ``dict``: named tensors."""

Scalar = str | int | float | bool

DTYPE = re.compile(
    r"string|category|bool|boolean|u?int(8|16|32|64)|U?Int(8|16|32|64)|float(16|32|64)"
    r"|Float(32|64)|datetime64\[(s|ms|us|ns)(, [\w/+-]+)?\]"
)
"""The dtypes ``infer.py`` writes; a manifest naming another is refused when read."""


@dataclass(frozen=True)
class TensorSpec:
    """One column (shape ``(-1,)``) or tensor. ``-1`` in a shape matches any size."""

    name: str | None
    dtype: str
    shape: tuple[int, ...] = (-1,)
    nullable: bool = False
    categories: tuple[Scalar, ...] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "nullable": self.nullable,
        }
        if self.categories is not None:
            out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_json(cls, data: Any) -> TensorSpec:
        if not isinstance(data, dict):
            raise TypeError("a tensor spec must be an object")
        name, dtype, shape = data.get("name"), data["dtype"], data.get("shape", [-1])
        cats = data.get("categories")
        if not (name is None or isinstance(name, str)) or not isinstance(dtype, str):
            raise TypeError("name and dtype must be strings")
        if DTYPE.fullmatch(dtype) is None:
            raise TypeError(f"dtype {dtype!r} is not one a signature describes")
        if not isinstance(shape, list) or not all(type(d) is int for d in shape):
            raise TypeError("shape must be a list of integers")
        if cats is not None and not isinstance(cats, list):
            raise TypeError("categories must be a list")
        return cls(
            name, dtype, tuple(shape), bool(data.get("nullable", False)),
            None if cats is None else tuple(cats),
        )  # fmt: skip


@dataclass(frozen=True)
class Schema:
    kind: str
    specs: tuple[TensorSpec, ...]

    def names(self) -> list[str]:
        return [s.name for s in self.specs if s.name is not None]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "specs": [s.to_json() for s in self.specs]}

    @classmethod
    def from_json(cls, data: Any) -> Schema:
        if not isinstance(data, dict) or data.get("kind") not in KINDS:
            raise TypeError(f"kind must be one of {', '.join(KINDS)}")
        specs = data.get("specs")
        if not isinstance(specs, list):
            raise TypeError("specs must be a list")
        return cls(data["kind"], tuple(TensorSpec.from_json(s) for s in specs))


@dataclass(frozen=True)
class Signature:
    inputs: Schema
    outputs: Schema | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_json(),
            "outputs": None if self.outputs is None else self.outputs.to_json(),
        }

    @classmethod
    def from_json(cls, data: Any, manifest: object) -> Signature:
        try:
            outputs = data.get("outputs")
            return cls(
                Schema.from_json(data.get("inputs")),
                None if outputs is None else Schema.from_json(outputs),
            )
        except (TypeError, KeyError, AttributeError) as e:
            raise BadManifest(manifest, f"its signature is malformed ({e})") from None
