"""Reference profiles of dataset versions, kept in ``.tether/cache/monitoring/`` under the
version's tree digest: a version's content never changes, so its profile is computed once and
every later window against it reads the profile instead of the reference data. The cache is
local and rebuildable (a damaged or older-format file is recomputed), like the dataset cache."""

from __future__ import annotations

from typing import Any

from tether.monitoring.errors import CorruptProfile
from tether.monitoring.reference import FORMAT, ReferenceProfile, profile_table
from tether.monitoring.tables import Table, read_table


def cached_profile(table: Table) -> ReferenceProfile:
    """The profile of a dataset version's table: read from the cache, else computed and kept."""
    assert table.dataset_key is not None and table.cache_dir is not None
    path = table.cache_dir / f"{table.dataset_key}.v{FORMAT}.npz"
    if path.is_file():
        try:
            found = ReferenceProfile.load(path)
            found.label = table.label
            return found
        except CorruptProfile:
            pass  # recomputed and rewritten below
    made = profile_table(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    made.save(path)
    return made


def profile(
    reference: Any, *, columns: list[str] | None = None, workspace: Any = None
) -> ReferenceProfile:
    """Reference statistics of a DataFrame, Arrow table, Parquet/CSV path or dataset reference;
    a dataset version's profile is stored in the workspace cache and reused."""
    if isinstance(reference, ReferenceProfile):
        return reference
    table = read_table(reference, "reference", workspace)
    if table.dataset_key is not None and columns is None:
        return cached_profile(table)
    return profile_table(table, columns)
