"""``save_model``: a model, its signature and input example as one folder, written whole.

The folder is built under a temporary sibling name and renamed into place, so a reader (or a
registry that stores it as a content-addressed tree with ``ObjectStore.put_tree``) sees a
complete model or nothing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.errors import InvalidInput, TetherError
from tether.models.errors import ModelExists, ModelWriteFailed, UnsupportedModel
from tether.models.files import FileEntry
from tether.models.flavor import Flavor
from tether.models.manifest import MANIFEST, ModelMeta
from tether.models.registry import choose_flavor, get_flavor
from tether.models.signature import Signature


def save_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    flavor: str | None = None,
    sample: Any = None,
    options: Mapping[str, Any] | None = None,
) -> ModelMeta:
    """Save ``model`` into the new folder ``path`` and return what its manifest records.

    ``flavor`` is chosen from the model's type when not given. ``sample`` (a DataFrame, NumPy
    array, Arrow table or dict of arrays) gives the signature: its schema, the schema of the
    model's output on it, and its first rows as the input example. ``options`` go to the
    flavour (``init_kwargs`` of a PyTorch module, say).
    """
    target = Path(path)
    if target.exists() and not (target.is_dir() and not any(target.iterdir())):
        raise ModelExists(target)
    chosen = get_flavor(flavor) if flavor is not None else choose_flavor(model)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as e:
        raise ModelWriteFailed(target, e) from None
    try:
        meta = _write(model, chosen, tmp, sample, dict(options or {}))
        try:
            os.rename(tmp, target)
        except OSError as e:
            if e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                raise ModelExists(target) from None
            raise
        _fsync(target.parent)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelWriteFailed(target, e) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return meta


def _write(
    model: Any, flavor: Flavor, folder: Path, sample: Any, options: dict[str, Any]
) -> ModelMeta:
    from tether.config.atomic import write_text_atomic

    with _translated(flavor, model, "save"):
        saved_options = flavor.save(model, folder, options)
    signature, example = None, None
    if sample is not None:
        signature, example = _signature(model, flavor, sample, folder)
    saved_options.update(flavor.save_fast(model, folder, sample))
    meta = ModelMeta(
        flavor=flavor.name,
        options=saved_options,
        libraries=flavor.versions(),
        files=_list_files(folder),
        signature=signature,
        example=example,
        python=platform.python_version(),
    )
    write_text_atomic(folder / MANIFEST, meta.to_json())
    return meta


def _signature(model: Any, flavor: Flavor, sample: Any, folder: Path) -> tuple[Signature, str]:
    from tether.models.conform import conform
    from tether.models.example import write_example
    from tether.models.infer import describe, kind_of

    inputs = describe(sample)
    try:
        output = flavor.predict(model, conform(inputs, sample))
    except TetherError:
        raise
    except Exception as e:
        raise InvalidInput(
            f"the model failed to predict on the sample ({type(e).__name__}: {e}); "
            "pass a sample the model accepts"
        ) from None
    if output is not None and kind_of(output) is None:
        import numpy as np

        output = np.asarray(output)  # a list, a pandas Series, a tuple of labels
    outputs = describe(output, "model's output") if output is not None else None
    return Signature(inputs, outputs), write_example(inputs.kind, sample, folder)


def _list_files(folder: Path) -> dict[str, FileEntry]:
    from tether.objects.digest import hash_file

    files = {}
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            path = Path(dirpath, name)
            rel = path.relative_to(folder).as_posix()
            if rel == MANIFEST:
                continue
            info = hash_file(path)
            files[rel] = FileEntry(info.size, info.digest)
            _fsync(path)  # on disk before the rename publishes the folder
    return files


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _translated(flavor: Flavor, model: Any, verb: str) -> Any:
    """A library's own exception while saving becomes an UnsupportedModel naming the model."""
    try:
        yield
    except (TetherError, OSError):  # OSError: the disk, not the model (ModelWriteFailed)
        raise
    except Exception as e:
        raise UnsupportedModel(
            f"the {flavor.name} flavour could not {verb} a {type(model).__qualname__} "
            f"({type(e).__name__}: {e}); pass another flavor="
        ) from None
