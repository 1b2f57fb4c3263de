"""Dataset-version records on a remote: what a fresh clone needs besides the objects.

Objects are named by their digest; a dataset version is not: ``images@3`` is a number that the
metadata store which made it gave it. So ``tether data push`` writes, beside the objects, one
small JSON record per version (name, number, tree digest, counts, message, time, producing
run) at ``<remote>/datasets/<key>/<version>.json``, where ``key`` is the BLAKE3 digest of the
project and dataset names: any name makes a safe key of fixed length, and the record itself
names both. A clone's ``tether data pull`` reads them to register the versions its pointer
files name, with their history.

A record is written after the objects it names, atomically (a temporary file linked into place
in a folder, one PUT on object storage), and never replaced: pushing again skips it, and a
push of another tree under a number the remote already holds is refused before anything is
copied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from tether.data.errors import BadRecord
from tether.objects import ObjectStore
from tether.objects.digest import hash_bytes, is_digest
from tether.objects.sidefiles import SideFiles
from tether.store import DatasetVersion

FOLDER = "datasets"
FORMAT = 1
KIND = "tether.dataset-version"


def dataset_key(project: str, dataset: str) -> str:
    """The folder of a dataset's records: a digest, whatever characters the names hold."""
    return hash_bytes(f"{project}\0{dataset}".encode())


def record_path(project: str, dataset: str, version: int) -> str:
    """Where a version's record lives, relative to the remote's root."""
    return f"{FOLDER}/{dataset_key(project, dataset)}/{version}.json"


def encode(v: DatasetVersion) -> bytes:
    doc = {
        "kind": KIND,
        "format": FORMAT,
        "project": v.project,
        "dataset": v.dataset,
        "version": v.version,
        "tree": v.tree_digest,
        "files": v.file_count,
        "size": v.total_size,
        "message": v.message,
        "created_at": v.created_at.isoformat(),
        "run_id": v.run_id,
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def _count(doc: Mapping[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = doc.get(key)
    if type(value) is not int or value < minimum:
        raise BadRecord(where, f"{key} must be a whole number >= {minimum}")
    return value


def _text(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRecord(where, f"{key} must be a string or null")
    return value


def decode(data: bytes, where: str, *, project: str, dataset: str, version: int) -> DatasetVersion:
    """The version a record describes; BadRecord (naming ``where``) when it is not a valid
    record of ``project``'s ``dataset@version``."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRecord(where, f"not JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("kind") != KIND:
        raise BadRecord(where, f"not a {KIND} record")
    fmt = doc.get("format")
    if type(fmt) is not int or fmt < 1:
        raise BadRecord(where, "format must be a whole number >= 1")
    if fmt > FORMAT:
        raise BadRecord(where, f"format {fmt} is newer than this Tether reads; upgrade Tether")
    if doc.get("project") != project or doc.get("dataset") != dataset:
        raise BadRecord(where, f"it does not describe dataset {dataset!r} of project {project!r}")
    if _count(doc, "version", where, 1) != version:
        raise BadRecord(where, f"its version is {doc['version']}, its name says {version}")
    tree = doc.get("tree")
    if not isinstance(tree, str) or not is_digest(tree):
        raise BadRecord(where, "tree must be a digest of 64 lowercase hex characters")
    created = doc.get("created_at")
    try:
        created_at = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        created_at = None
    if created_at is None or created_at.utcoffset() is None:
        raise BadRecord(where, "created_at must be an ISO 8601 time with a time zone")
    return DatasetVersion(
        project=project,
        dataset=dataset,
        version=version,
        tree_digest=tree,
        file_count=_count(doc, "files", where),
        total_size=_count(doc, "size", where),
        message=_text(doc, "message", where),
        run_id=_text(doc, "run_id", where),
        created_at=created_at,
    )


class RemoteRecords:
    """The records under a remote object store's root (a local folder or a bucket prefix),
    kept there as the object layer's side files (:mod:`tether.objects.sidefiles`)."""

    def __init__(self, objects: ObjectStore) -> None:
        self.url = objects.url
        self._files = SideFiles(objects)

    def where(self, path: str) -> str:
        return self._files.where(path)

    # -- reading ----------------------------------------------------------------------------

    def versions(self, project: str, dataset: str) -> list[int]:
        """The version numbers the remote holds records of, in order."""
        found = []
        for name in self._files.names(f"{FOLDER}/{dataset_key(project, dataset)}"):
            stem, dot, ext = name.partition(".")
            if dot and ext == "json" and stem.isascii() and stem.isdigit() and stem[0] != "0":
                found.append(int(stem))
        return sorted(found)

    def _read(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The bytes of the records that exist among ``paths``."""
        return self._files.read(paths)

    def read(
        self, project: str, wanted: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], DatasetVersion]:
        """The records of ``(dataset, version)`` pairs that the remote holds, checked."""
        paths = {record_path(project, d, n): (d, n) for d, n in wanted}
        out = {}
        for path, data in self._read(list(paths)).items():
            d, n = paths[path]
            out[(d, n)] = decode(data, self.where(path), project=project, dataset=d, version=n)
        return out

    def history(self, project: str, dataset: str) -> dict[int, DatasetVersion]:
        """Every version of ``dataset`` the remote holds a record of."""
        got = self.read(project, [(dataset, n) for n in self.versions(project, dataset)])
        return {n: v for (_, n), v in got.items()}

    # -- writing ----------------------------------------------------------------------------

    def to_write(
        self, versions: Sequence[DatasetVersion], *, strict: bool = True
    ) -> dict[str, bytes]:
        """The records that ``versions`` lack on the remote, ready to write.

        Raises RemoteVersionConflict (nothing written) when the remote holds a record of one of
        them with another tree, unless not ``strict`` (history: the remote's record is kept and
        this one left out); a damaged record there is a BadRecord.
        """
        from tether.data.errors import RemoteVersionConflict

        if not versions:
            return {}
        project = versions[0].project
        there = self.read(project, [(v.dataset, v.version) for v in versions])
        out = {}
        for v in versions:
            known = there.get((v.dataset, v.version))
            if known is None:
                out[record_path(v.project, v.dataset, v.version)] = encode(v)
            elif known.tree_digest != v.tree_digest and strict:
                raise RemoteVersionConflict(
                    f"{v.dataset}@{v.version}", self.url, known.tree_digest, v.tree_digest
                )
        return out

    def write(self, records: Mapping[str, bytes]) -> None:
        """Write records (paths from :meth:`to_write`), each atomically; never replaces one."""
        self._files.write_new(records)
