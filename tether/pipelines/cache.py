"""Step cache keys and where a key's outputs are found.

A key is the BLAKE3 digest of canonical JSON holding: the step's code digest (its source, the
values its code reads and the project code it reaches, see ``source.py``; for a shell step the
command and the scripts it names), its params in their canonical encoding (``canonical.py``; a
param with none is refused, naming it), its input digests by name, its output names, the
environment (``environment.py``: the interpreter and the distributions the step's code uses; for
a shell step every installed package) and the materialisers' versions.

Datasets a step reads with ``tether.dataset(...)`` inside its body are only known once it has
run: they are kept with the cache entry, and a hit is used only while each of them still
resolves to the version read then (``datasets.py``).

A finished step run carries its key as the tag ``tether.step.cache_key`` and its outputs in its
info, so a lookup is one run search in the metadata store. A local index under
``.tether/cache/pipelines/keys/`` remembers recent answers (a cache of the store, rebuilt from it
when missing) so that an all-cached pipeline costs no search per step.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.pipelines.errors import InvalidPipeline
from tether.pipelines.values import StoredValue

if TYPE_CHECKING:
    from tether.tracking.recorder import RunLogs

KEY_TAG = "tether.step.cache_key"
KEY_VERSION = 2


def cache_key(
    *,
    step: str,
    kind: str,
    code: str,
    params: dict[str, Any],
    inputs: dict[str, str],
    outputs: tuple[str, ...],
    environment: str,
    materializers: str,
) -> str:
    from tether.pipelines.canonical import encode
    from tether.pipelines.errors import NotEncodable

    encoded: dict[str, Any] = {}
    for name, value in params.items():
        try:
            encoded[name] = encode(value, f"param {name!r}")
        except NotEncodable as e:
            raise InvalidPipeline(
                f"step {step!r}: {e.where} is a {e.type_name}, which has no canonical encoding "
                "for the cache key; pass JSON values, paths or dataset references, or compute "
                "the value inside a step"
            ) from None
    doc = {
        "v": KEY_VERSION,
        "kind": kind,
        "code": code,
        "params": encoded,
        "inputs": inputs,
        "outputs": list(outputs),
        "env": environment,
        "materializers": materializers,
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return _hash(text.encode("utf-8"))


@dataclass(frozen=True)
class CacheHit:
    run_id: str
    outputs: dict[str, StoredValue]
    logs: StoredValue | None
    duration_s: float | None
    logged: RunLogs | None = None  # what the step logged, and the datasets it resolved


def outputs_to_json(outputs: dict[str, StoredValue]) -> dict[str, list[Any]]:
    return {
        n: [v.digest, v.size, v.count, v.materializer] + ([v.key] if v.key else [])
        for n, v in outputs.items()
    }


def outputs_from_json(data: Any) -> dict[str, StoredValue]:
    return {
        n: StoredValue(
            str(v[0]), int(v[1]), int(v[2]), str(v[3]), str(v[4]) if len(v) > 4 else None
        )
        for n, v in data.items()
    }


def _logs_from(data: Any) -> StoredValue | None:
    return None if not data else StoredValue(str(data[0]), int(data[1]), 1, "logs")


def logged_from(data: Any) -> RunLogs | None:
    if not data:
        return None
    from tether.tracking.recorder import RunLogs

    return RunLogs.from_json(data)


class StepCache:
    """Looks keys up in the local index, then in the metadata store; records new entries."""

    def __init__(self, session: Any, index_dir: Path) -> None:
        self.session = session
        self.index_dir = index_dir / session.project

    def _path(self, key: str) -> Path:
        return self.index_dir / key[:2] / f"{key}.json"

    def lookup(self, key: str, outputs: tuple[str, ...]) -> CacheHit | None:
        hit = self._from_index(key) or self._from_store(key)
        if hit is None or set(hit.outputs) != set(outputs):
            return None
        objects = self.session.objects
        if not all(objects.exists(v.digest) for v in hit.outputs.values()):
            return None  # collected or never pushed here: run the step again
        return hit

    def _from_index(self, key: str) -> CacheHit | None:
        try:
            data = json.loads(self._path(key).read_bytes())
            return CacheHit(
                data["run_id"],
                outputs_from_json(data["outputs"]),
                _logs_from(data.get("logs")),
                data.get("duration_s"),
                logged_from(data.get("logged")),
            )
        except (OSError, ValueError, KeyError, TypeError, IndexError):
            return None

    def _from_store(self, key: str) -> CacheHit | None:
        from tether.store.filter import parse_filter, parse_order_by

        runs = self.session.store.search_runs(
            self.session.project,
            parse_filter(f"tags.`{KEY_TAG}` = '{key}' and status = 'finished'"),
            parse_order_by("start_time desc"),
            limit=1,
        )
        if not runs:
            return None
        step = runs[0].info.get("step") or {}
        try:
            hit = CacheHit(
                runs[0].id,
                outputs_from_json(step["outputs"]),
                _logs_from(step.get("logs")),
                step.get("duration_s"),
                logged_from(step.get("logged")),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        self.remember(key, hit)
        return hit

    def remember(self, key: str, hit: CacheHit) -> None:
        data = {
            "run_id": hit.run_id,
            "outputs": outputs_to_json(hit.outputs),
            "logs": [hit.logs.digest, hit.logs.size] if hit.logs else None,
            "duration_s": hit.duration_s,
            "logged": hit.logged.to_json() if hit.logged else None,
        }
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
            with os.fdopen(fd, "wb") as f:
                f.write(json.dumps(data).encode("utf-8"))
            os.replace(tmp, path)  # no fsync: a lost entry is looked up in the store again
        except OSError:
            pass  # the index is only an accelerator

    def forget(self, key: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self._path(key))


def _hash(data: bytes) -> str:
    from tether.objects.digest import hash_bytes

    return hash_bytes(data)
