"""A run that records in memory: what ``tether.log_metrics`` and friends log inside a pipeline
step, in whatever process runs it.

Pipeline steps run in the calling process, in worker processes or on Ray workers, and only the
calling process writes to the metadata store. While a step runs, a :class:`RunRecorder` is the
active run of its thread (``lifecycle.recording``); it keeps params, tags, metric points, inputs,
outputs and the dataset versions the step resolved, and hands them back as one picklable
:class:`RunLogs` that the caller writes to the step's run. Artifacts are stored in the object
store at once (workers may write objects), so only their digests travel.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.errors import InvalidInput
from tether.tracking.buffer import Entry, MetricBuffer, _as_float, _columns

if TYPE_CHECKING:
    from tether.objects import ObjectStore

MetricColumns = dict[str, tuple[list[int], list[int], list[float]]]


@dataclass
class RunLogs:
    """What a step logged, in the form the store takes it."""

    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: MetricColumns = field(default_factory=dict)
    io: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    objects: list[tuple[str, int, str]] = field(default_factory=list)  # digest, size, kind
    datasets: dict[str, str] = field(default_factory=dict)  # as asked -> "name@version" read
    returned: dict[str, dict[str, float]] = field(default_factory=dict)  # output -> metrics
    # model versions to create: name, tree digest, flavour, signature (JSON), reserved number
    models: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.params
            or self.tags
            or self.metrics
            or self.io
            or self.objects
            or self.datasets
            or self.returned
            or self.models
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "tags": self.tags,
            "metrics": {k: [list(c) for c in cols] for k, cols in self.metrics.items()},
            "io": [list(r) for r in self.io],
            "objects": [list(o) for o in self.objects],
            "datasets": self.datasets,
            "returned": self.returned,
            "models": self.models,
        }

    @classmethod
    def from_json(cls, data: Any) -> RunLogs:
        if not isinstance(data, dict):
            return cls()
        metrics = {
            str(k): ([int(s) for s in v[0]], [int(t) for t in v[1]], [float(x) for x in v[2]])
            for k, v in (data.get("metrics") or {}).items()
        }
        return cls(
            {str(k): str(v) for k, v in (data.get("params") or {}).items()},
            {str(k): str(v) for k, v in (data.get("tags") or {}).items()},
            metrics,
            [
                (str(a), str(b), str(c), None if d is None else str(d))
                for a, b, c, d in data.get("io") or []
            ],
            [(str(d), int(s), str(k)) for d, s, k in data.get("objects") or []],
            {str(k): str(v) for k, v in (data.get("datasets") or {}).items()},
            {
                str(o): {str(k): float(v) for k, v in m.items()}
                for o, m in (data.get("returned") or {}).items()
            },
            [dict(m) for m in data.get("models") or [] if isinstance(m, dict)],
        )


class RunRecorder:
    """Stands for the step's run while the step runs; see the module docstring."""

    def __init__(self, run_id: str | None, objects: ObjectStore | None = None) -> None:
        self.id = run_id or ""
        self.name: str | None = None
        self.parent_id: str | None = None
        self._objects = objects
        self._entries: list[Entry] = []
        self._steps: dict[str, int] = {}
        self.logs = RunLogs()
        self._ended = False  # a recorder is active only inside lifecycle.recording

    def __repr__(self) -> str:
        return f"<RunRecorder {self.id}>"

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        from tether.tracking.active import params_text

        self.logs.params.update(params_text(params))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from tether.tracking.active import params_text

        self.logs.tags.update(params_text(tags))

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        values = {k: _as_float(k, v) for k, v in metrics.items()}
        for key in values:
            if not key.strip():
                raise InvalidInput(f"metric name {key!r} must be a non-empty string")
        if step is None:
            step = max((self._steps.get(k, -1) for k in values), default=-1) + 1
        elif type(step) is not int:
            step = MetricBuffer._check_step(step)
        self._entries.append((step, int(time.time() * 1000), values))
        for key in values:
            if self._steps.get(key, -1) < step:
                self._steps[key] = step

    def flush(self) -> None:
        """Nothing to do: the step's logs are written when the step ends."""

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        from tether.tracking.active import _relative_name

        source = Path(path)
        digest = self._store(source)
        self.logs.io.append(("output", "object", digest, name or _relative_name(source)))
        return digest

    def _store(self, source: Path) -> str:
        if self._objects is None:
            raise InvalidInput("this step cannot store artifacts: it has no object store")
        if source.is_dir():
            tree = self._objects.put_tree(source)
            self.logs.objects.append((tree.digest, tree.size, "tree"))
            return str(tree.digest)
        if source.is_file():
            info = self._objects.put_file(source)
            self.logs.objects.append((info.digest, info.size, "blob"))
            return str(info.digest)
        raise InvalidInput(f"path {source} is not a file or folder; check the path")

    def log_input(self, source: Any, name: str | None = None) -> str:
        kind, ref = self._ref(source, name)
        self.logs.io.append(("input", kind, ref, name))
        return ref

    def log_output(self, source: Any, name: str | None = None) -> None:
        kind, ref = self._ref(source, None)
        self.logs.io.append(("output", kind, ref, name))

    def _ref(self, source: Any, name: str | None) -> tuple[str, str]:
        from tether.store import DatasetVersion, ModelVersion

        if isinstance(source, DatasetVersion):
            return "dataset_version", f"{source.dataset}@{source.version}"
        if isinstance(source, ModelVersion):
            return "model_version", f"{source.model}@{source.version}"
        if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.exists(source)):
            return "object", self._store(Path(source))
        if isinstance(source, str):
            if len(source) == 64 and all(c in "0123456789abcdef" for c in source):
                return "object", source
            if "@" in source:
                version = source.rpartition("@")[2]
                if not version.isdigit():
                    raise InvalidInput(
                        f"dataset reference {source!r} needs a version number, like 'name@3'"
                    )
                return "dataset_version", source
            return "run", source
        raise InvalidInput(
            f"cannot record {type(source).__name__} as a run input or output; "
            "pass a dataset version, 'name@version', an object digest or a run id"
        )

    def log_model(
        self,
        name: str,
        digest: str,
        size: int,
        flavor: str,
        signature: dict[str, Any] | None,
        version: int | None = None,
    ) -> None:
        """A model version of ``name`` whose tree is stored: created when the step is recorded,
        under ``version`` (a number reserved in the store) when given."""
        self.logs.objects.append((digest, size, "tree"))
        self.logs.models.append(
            {
                "name": name,
                "digest": digest,
                "flavor": flavor,
                "signature": signature,
                "version": version,
            }
        )

    def note_dataset(self, asked: str, name: str, version: int) -> None:
        """``tether.dataset(asked)`` resolved to ``name@version`` in this step."""
        self.logs.datasets[asked] = f"{name}@{version}"

    def finish(self) -> RunLogs:
        """The logs, each dataset version resolved recorded as an input (once)."""
        recorded = {(r[1], r[2]) for r in self.logs.io if r[0] == "input"}
        for ref in dict.fromkeys(self.logs.datasets.values()):
            if ("dataset_version", ref) not in recorded:
                self.logs.io.append(("input", "dataset_version", ref, None))
        self.logs.metrics = _columns(self._entries)
        self._entries = []
        return self.logs

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """A step's run ends with the step; ending it from inside is not possible."""
