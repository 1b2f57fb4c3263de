"""Dataset references: ``name`` (the latest version) or ``name@N``."""

from __future__ import annotations

from tether.data.errors import BadReference
from tether.store import DatasetNotFound, DatasetVersion, ProjectNotFound, Store


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


def get_version(store: Store, project: str, ref: str) -> DatasetVersion:
    """The version ``ref`` names in ``project``: DatasetNotFound also when the project has no
    record at all yet (a fresh clone before ``tether data pull``)."""
    name, version = parse_ref(ref)
    try:
        return store.get_dataset_version(project, name, version)
    except ProjectNotFound:
        raise DatasetNotFound(project, name) from None
