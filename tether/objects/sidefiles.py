"""Named files beside the objects, under the store's root (a folder or a bucket prefix).

Objects are named by their digest; a few things a store holds are not (a remote's dataset
records, ``<root>/datasets/...``). This is the one place that reads and writes them, for a
local folder and for object storage alike, so that the data layer never touches a backend.
Each file is written atomically and never replaced.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

from tether.objects.remote import translate
from tether.objects.store import ObjectStore


class SideFiles:
    """Files at paths relative to ``store``'s root (``datasets/<key>/3.json``)."""

    def __init__(self, store: ObjectStore) -> None:
        self.url = store.url
        self._fsync = store.fsync
        self._local = store.local
        backend: Any = store.backend
        self._root: str = (self._local.root if self._local is not None else backend.root).rstrip(
            "/"
        )
        self._fs: Any = None if self._local is not None else backend.fs

    def where(self, path: str) -> str:
        """The file's address, for messages."""
        return f"{self.url.rstrip('/')}/{path}"

    def names(self, folder: str) -> list[str]:
        """The names in ``folder`` (empty when there is no such folder)."""
        where = f"{self._root}/{folder}"
        try:
            if self._fs is None:
                return os.listdir(where)
            return [n.rsplit("/", 1)[-1] for n in self._fs.ls(where, detail=False, refresh=True)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except Exception as e:
            translate(e, self.url)

    def read(self, paths: Sequence[str]) -> dict[str, bytes]:
        """The bytes of the files that exist among ``paths`` (fetched together on object
        storage)."""
        out: dict[str, bytes] = {}
        if self._fs is None:
            for path in paths:
                try:
                    with open(f"{self._root}/{path}", "rb") as f:
                        out[path] = f.read()
                except (FileNotFoundError, NotADirectoryError):
                    continue
                except OSError as e:
                    translate(e, self.url)
            return out
        if not paths:
            return out
        keys = {f"{self._root}/{p}": p for p in paths}
        try:
            got = self._fs.cat(list(keys), on_error="return")
        except Exception as e:
            translate(e, self.url)
        for key, path in keys.items():
            value = got.get(key, FileNotFoundError(key))
            if isinstance(value, FileNotFoundError):
                continue
            if isinstance(value, BaseException):
                translate(value, self.url)
            out[path] = bytes(value)
        return out

    def write_new(self, files: Mapping[str, bytes]) -> None:
        """Write each file atomically, keeping one already there (never replaced)."""
        if not files:
            return
        if self._fs is not None:
            try:
                self._fs.pipe({f"{self._root}/{p}": data for p, data in files.items()})
            except Exception as e:
                translate(e, self.url, write=True)
            return
        for path, data in files.items():
            try:
                self._write_local(path, data)
            except OSError as e:
                translate(e, self.url, write=True)

    def _write_local(self, path: str, data: bytes) -> None:
        final = f"{self._root}/{path}"
        tmp_dir = os.path.join(self._root, "tmp")  # the store's own; stale files are cleaned
        os.makedirs(tmp_dir, exist_ok=True)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, prefix="record-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if self._fsync:
                    f.flush()
                    os.fsync(f.fileno())
            try:
                os.link(tmp, final)  # fails when a file is there: never replaced
            except FileExistsError:
                pass  # written meanwhile by another writer
            except OSError:  # a filesystem without hard links
                if not os.path.exists(final):
                    os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
