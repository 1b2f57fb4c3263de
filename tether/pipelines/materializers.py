"""Materialisers: how a step's output value becomes a folder of files, and back.

A materialiser has a ``name``, a ``version`` (part of every cache key: bump it when the stored
format changes), and three methods::

    can_save(value) -> bool       # cheap; must not import heavy libraries to answer "no"
    save(value, folder: Path)     # write the value's files into the empty ``folder``
    load(folder: Path) -> value   # read them back

The first registered materialiser whose ``can_save`` accepts a value stores it; user
materialisers registered with :func:`register_materializer` are asked before the built-ins.
The folder becomes a tree object; its materialiser's name is stored with it, so loading never
guesses. NumPy, pandas, pyarrow and skops are imported only when a value of theirs is met.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from tether.errors import InvalidInput, MissingDependency
from tether.pipelines.errors import MalformedValue, UntrustedTypes


@runtime_checkable
class Materializer(Protocol):
    name: str
    version: str

    def can_save(self, value: Any) -> bool: ...

    def save(self, value: Any, folder: Path) -> None: ...

    def load(self, folder: Path) -> Any: ...


def _is_instance(value: Any, module: str, qualname: str) -> bool:
    """``isinstance(value, module.qualname)`` without importing ``module`` when it isn't yet."""
    mod = sys.modules.get(module)
    if mod is None:
        return False
    cls: Any = mod
    for part in qualname.split("."):
        cls = getattr(cls, part, None)
        if cls is None:
            return False
    return isinstance(value, cls)


def _json_able(value: Any, depth: int = 0) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth > 64:
        return False
    if isinstance(value, list):
        return all(_json_able(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_able(v, depth + 1) for k, v in value.items())
    return False


class JsonMaterializer:
    """None, booleans, numbers, strings, and lists and string-keyed dicts of them."""

    name = "json"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return _json_able(value)

    def save(self, value: Any, folder: Path) -> None:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        (folder / "value.json").write_text(text, encoding="utf-8")

    def load(self, folder: Path) -> Any:
        return json.loads((folder / "value.json").read_text(encoding="utf-8"))


class BytesMaterializer:
    name = "bytes"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return isinstance(value, bytes | bytearray | memoryview)

    def save(self, value: Any, folder: Path) -> None:
        (folder / "value.bin").write_bytes(bytes(value))

    def load(self, folder: Path) -> Any:
        return (folder / "value.bin").read_bytes()


class PathMaterializer:
    """A file or folder, kept under its own name; loads as the path of the restored copy."""

    name = "path"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return isinstance(value, Path)

    def save(self, value: Any, folder: Path) -> None:
        source = Path(value)
        target = folder / (source.name or "data")
        if source.is_dir():
            shutil.copytree(source, target, symlinks=False)
        elif source.is_file():
            shutil.copyfile(source, target)
            shutil.copymode(source, target)
        else:
            raise InvalidInput(f"output path {source} is neither a file nor a folder")

    def load(self, folder: Path) -> Any:
        entries = list(folder.iterdir())
        if len(entries) != 1:
            return folder
        return entries[0]


class NumpyMaterializer:
    """``numpy.ndarray`` as ``.npy``; object arrays are refused (they would need pickle)."""

    name = "numpy"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return _is_instance(value, "numpy", "ndarray")

    def save(self, value: Any, folder: Path) -> None:
        import numpy as np

        if value.dtype.hasobject:
            raise InvalidInput(
                "NumPy arrays of dtype object cannot be stored without pickle; "
                "convert the array to a numeric or string dtype"
            )
        np.save(folder / "array.npy", value, allow_pickle=False)

    def load(self, folder: Path) -> Any:
        import numpy as np

        path = folder / "array.npy"
        try:
            return np.load(path, allow_pickle=False)  # never unpickles
        except ValueError as e:  # a bad header, or object arrays (which would need pickle)
            raise MalformedValue(path, "NumPy .npy", str(e)) from None


class PandasMaterializer:
    """``pandas.DataFrame`` as Parquet (index kept)."""

    name = "pandas"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return _is_instance(value, "pandas", "DataFrame")

    def save(self, value: Any, folder: Path) -> None:
        _require("pyarrow", "storing a pandas DataFrame", "pandas")
        value.to_parquet(folder / "frame.parquet", engine="pyarrow")

    def load(self, folder: Path) -> Any:
        import pandas as pd

        return pd.read_parquet(folder / "frame.parquet", engine="pyarrow")


class ArrowMaterializer:
    """``pyarrow.Table`` as Parquet."""

    name = "arrow"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return _is_instance(value, "pyarrow", "Table")

    def save(self, value: Any, folder: Path) -> None:
        import pyarrow.parquet as pq

        pq.write_table(value, folder / "table.parquet")

    def load(self, folder: Path) -> Any:
        import pyarrow.parquet as pq

        return pq.read_table(folder / "table.parquet")


_trusted_lock = threading.Lock()
_trusted: set[str] = set()


def trust_types(types: list[str] | tuple[str, ...] | set[str]) -> None:
    """Allow loading scikit-learn objects that use these fully qualified types.

    Call it at module level of the module that defines your steps, so that worker processes
    (which import that module) trust them too.
    """
    with _trusted_lock:
        _trusted.update(str(t) for t in types)


def trusted_types() -> list[str]:
    with _trusted_lock:
        return sorted(_trusted)


class SklearnMaterializer:
    """scikit-learn estimators with skops: loading refuses types not trusted, never unpickles."""

    name = "sklearn"
    version = "1"

    def can_save(self, value: Any) -> bool:
        return _is_instance(value, "sklearn.base", "BaseEstimator")

    def save(self, value: Any, folder: Path) -> None:
        sio = _require("skops.io", "storing a scikit-learn estimator", "sklearn")
        sio.dump(value, folder / "model.skops")

    def canonical_digest(self, folder: Path) -> str:
        """Equal estimators, equal digest: skops names arrays and objects by ``id()`` and
        stamps the time, so the bytes of one estimator differ from run to run (see
        ``canonical_skops``)."""
        return canonical_skops(folder / "model.skops")

    def load(self, folder: Path) -> Any:
        sio = _require("skops.io", "loading a scikit-learn estimator", "sklearn")
        path = folder / "model.skops"
        try:
            found = sio.get_untrusted_types(file=path)
        except Exception as e:  # missing, not a zip, no schema.json, a schema skops cannot read
            raise MalformedValue(path, "skops", f"{type(e).__name__}: {e}") from None
        untrusted = [t for t in found if t not in trusted_types()]
        if untrusted:
            raise UntrustedTypes(untrusted)
        try:
            return sio.load(path, trusted=found)
        except Exception as e:
            raise MalformedValue(path, "skops", f"{type(e).__name__}: {e}") from None


def canonical_skops(path: Path) -> str:
    """Digest of a skops file's content without what varies between equal estimators: each
    array file is replaced by the digest of its bytes, each ``__id__`` by its order of first
    appearance in the schema, and zip times are left out."""
    import zipfile

    from tether.objects.digest import hash_bytes

    with zipfile.ZipFile(path) as z:
        files = {i.filename: hash_bytes(z.read(i)) for i in z.infolist()}
        schema = json.loads(z.read("schema.json"))
    ids: dict[Any, int] = {}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "__id__":
                    out[key] = ids.setdefault(value, len(ids))
                elif key == "file" and isinstance(value, str) and value in files:
                    out[key] = files[value]
                else:
                    out[key] = walk(value)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    canonical = json.dumps(walk(schema), sort_keys=True, separators=(",", ":"))
    return hash_bytes(canonical.encode("utf-8"))


def _require(module: str, what: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(what, extra, module.split(".")[0]) from None


BUILTINS: tuple[Materializer, ...] = (
    SklearnMaterializer(),
    NumpyMaterializer(),
    PandasMaterializer(),
    ArrowMaterializer(),
    PathMaterializer(),
    BytesMaterializer(),
    JsonMaterializer(),
)

_lock = threading.Lock()
_user: list[Materializer] = []


def register_materializer(materializer: Materializer) -> None:
    """Ask ``materializer`` before every one registered earlier and before the built-ins.

    Registering a materialiser with the name of an existing user one replaces it. Register at
    module level of the module that defines your steps, so that worker processes see it too.
    """
    for attr in ("name", "version", "can_save", "save", "load"):
        if not hasattr(materializer, attr):
            raise InvalidInput(f"a materialiser needs a {attr!r} attribute; see docs/pipelines.md")
    if any(m.name == materializer.name for m in BUILTINS):
        raise InvalidInput(f"materialiser name {materializer.name!r} is taken by a built-in one")
    with _lock:
        _user[:] = [m for m in _user if m.name != materializer.name]
        _user.insert(0, materializer)


def unregister_materializer(name: str) -> None:
    with _lock:
        _user[:] = [m for m in _user if m.name != name]


def materializers() -> list[Materializer]:
    """Every materialiser in the order they are asked."""
    with _lock:
        return [*_user, *BUILTINS]


def for_value(value: Any) -> Materializer | None:
    for m in materializers():
        if m.can_save(value):
            return m
    return None


def by_name(name: str) -> Materializer:
    for m in materializers():
        if m.name == name:
            return m
    raise InvalidInput(
        f"no materialiser named {name!r} is registered; register it (at module level of the "
        "module that defines your steps) before loading this value"
    )


def versions_digest() -> str:
    """A short digest of every materialiser's name and version (part of each cache key)."""
    from tether.objects import hash_bytes

    text = ";".join(f"{m.name}={m.version}" for m in materializers())
    return hash_bytes(text.encode())[:16]
