"""Reference profiles of dataset versions, stored as objects: a version's content never
changes, so its profile is computed once, put in the workspace's object store and recorded in
the metadata store under the version's tree digest and the profile FORMAT
(``reference_profiles``). Every later window, in any process and on any machine that shares
the two stores (a fresh clone, a server, a scheduled monitor), reads the profile instead of the
reference data, which it then neither downloads nor reads.

A stored profile is trusted only as far as it checks out: its bytes must hash to the recorded
digest (the object store checks), and it is read as plain arrays and JSON, never unpickled. One
that is missing, damaged or of another layout is computed again, stored, and recorded in its
place, with a warning in the log."""

from __future__ import annotations

import logging
from typing import Any

from tether.monitoring.reference import FORMAT, ReferenceProfile, profile_table
from tether.monitoring.tables import is_dataset_ref, read_table

log = logging.getLogger(__name__)

profiled = 0  # profiles of dataset versions computed in this process (tests and benchmarks read it)


def stored_profile(ref: str, workspace: Any = None) -> ReferenceProfile:
    """The profile of the dataset version ``ref`` names: the stored one, else computed from the
    data, stored and recorded."""
    from tether.errors import NotFound, TetherError
    from tether.monitoring.errors import CorruptProfile, UnreadableTable
    from tether.tracking.datasets import dataset
    from tether.tracking.session import open_session

    global profiled
    try:
        handle = dataset(ref, workspace=workspace)
    except NotFound as e:
        raise UnreadableTable("reference", str(e)) from None
    ws = open_session(workspace).workspace
    label = f"reference {handle.ref}"
    key = handle.tree_digest
    digest = ws.store.get_reference_profile(key, FORMAT)
    if digest is not None:
        try:
            found = ReferenceProfile.from_bytes(ws.objects.get_bytes(digest), f"object {digest}")
        except (CorruptProfile, TetherError) as e:
            log.warning("the stored profile of %s is not used, it is computed again: %s", ref, e)
        else:
            found.label, found.digest, found.stored = label, digest, True
            return found
    made = profile_table(read_table(handle.ref, "reference", ws))
    made.label = label
    profiled += 1
    data = made.to_bytes()
    from tether.objects.gclock import writing
    from tether.store import ObjectRecord

    with writing(ws.objects):  # stored and recorded before a collection can see it unreferenced
        info = ws.objects.put_bytes(data)
        ws.store.record_objects([ObjectRecord(info.digest, info.size, "blob")])
        ws.store.set_reference_profile(key, FORMAT, info.digest)
    made.digest = info.digest
    return made


def profile(
    reference: Any, *, columns: list[str] | None = None, workspace: Any = None
) -> ReferenceProfile:
    """Reference statistics of a DataFrame, Arrow table, Parquet/CSV path or dataset reference;
    a dataset version's profile is stored in the workspace's object store and reused."""
    if isinstance(reference, ReferenceProfile):
        return reference
    if columns is None and is_dataset_ref(reference):
        return stored_profile(reference, workspace)
    return profile_table(read_table(reference, "reference", workspace), columns)
