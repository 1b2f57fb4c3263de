"""``tether.dataset_ref("churn@latest")``: a dataset reference passed around as a value.

A pipeline param that is a :class:`DatasetRef` (or a string for a param annotated
``DatasetRef``) is resolved when the pipeline starts: ``latest`` becomes the version number it
is at that moment, the run records that version as an input, and the step cache keys use it.
Inside a step, ``tether.dataset(ref)`` reads that version.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (docs/architecture.md)
if TYPE_CHECKING:
    from typing import Any

LATEST = "latest"


class DatasetRef:
    """``name`` and ``version`` (``None``: the latest, not resolved yet)."""

    __slots__ = ("name", "version")

    def __init__(self, name: str, version: int | None = None) -> None:
        from tether.errors import InvalidInput

        if not isinstance(name, str) or not name.strip() or "@" in name:
            raise InvalidInput(f"dataset name {name!r} must be a non-empty name without '@'")
        if version is not None and (type(version) is not int or version < 1):
            raise InvalidInput(f"dataset {name!r}: version {version!r} must be a number >= 1")
        self.name = name
        self.version = version

    @classmethod
    def parse(cls, text: str | DatasetRef) -> DatasetRef:
        """``"churn"`` or ``"churn@latest"`` (the latest), ``"churn@3"``."""
        if isinstance(text, DatasetRef):
            return text
        from tether.errors import InvalidInput

        if not isinstance(text, str):
            raise InvalidInput(
                f"a dataset reference is a string like 'churn@latest' or 'churn@3', "
                f"not a {type(text).__name__}"
            )
        name, sep, version = text.rpartition("@")
        if sep and version == LATEST:
            text = name
        from tether.data.ref import parse_ref

        return cls(*parse_ref(text))

    @property
    def resolved(self) -> bool:
        return self.version is not None

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version if self.version is not None else LATEST}"

    def __str__(self) -> str:
        return self.ref

    def __repr__(self) -> str:
        return f"DatasetRef({self.ref!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DatasetRef) and (self.name, self.version) == (
            other.name,
            other.version,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.version))

    def __reduce__(self) -> tuple[Any, ...]:
        return (DatasetRef, (self.name, self.version))


def dataset_ref(text: str | DatasetRef) -> DatasetRef:
    """A dataset reference value: ``"churn@latest"``, ``"churn"`` or ``"churn@3"``."""
    return DatasetRef.parse(text)
