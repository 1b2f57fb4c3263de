"""Dataset references: ``name`` (the latest version) or ``name@N``."""

from __future__ import annotations

from tether.data.errors import BadReference


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``"images@3"`` -> ``("images", 3)``; ``"images"`` -> ``("images", None)``."""
    if not isinstance(ref, str) or not ref.strip():
        raise BadReference(str(ref), "it is empty")
    name, sep, version = ref.rpartition("@")
    if not sep:
        return ref, None
    if not name:
        raise BadReference(ref, "the name before '@' is empty")
    if not version.isdigit() or int(version) < 1:
        raise BadReference(ref, f"version {version!r} is not a number >= 1")
    return name, int(version)
