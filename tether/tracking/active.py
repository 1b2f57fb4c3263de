"""A run in progress: params, metrics, artifacts, inputs, and how it ends."""

from __future__ import annotations

import json
import logging
import os
import traceback
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import tether.tracking.lifecycle as lifecycle
from tether.errors import InvalidInput
from tether.tracking.buffer import MetricBuffer
from tether.tracking.capture.redact import redact, redact_text
from tether.tracking.ticker import ticker

if TYPE_CHECKING:
    from tether.store import DatasetVersion, ModelVersion, Run
    from tether.tracking.session import Session

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0


def param_text(value: Any) -> str:
    """Params are stored as text: strings as they are, everything else as JSON (or repr)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def params_text(values: Mapping[str, Any]) -> dict[str, str]:
    """Params or tags as stored: secrets redacted (nested ones too), then each value as text."""
    return {k: param_text(v) for k, v in redact(values).items()}


class ActiveRun:
    """Returned by ``tether.run()``; use it as a context manager or call ``end()``."""

    def __init__(self, session: Session, run: Run) -> None:
        self.session = session
        self.id = run.id
        self.name = run.name
        self.experiment = run.experiment
        self.project = run.project
        self.parent_id = run.parent_id
        self._steps: dict[str, int] = {}
        self._ended = False
        self._buffer = MetricBuffer(self._write_metrics)
        self._heartbeat = ticker.add(HEARTBEAT_S, self._beat)

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} name={self.name!r}>"

    # params and tags
    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.session.store.log_params(self.id, params_text(params))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self.session.store.set_tags(self.id, params_text(tags))

    # metrics
    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        self.log_metrics({key: value}, step)

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Buffer metric values; ``step`` defaults to one more than each key's last step."""
        if step is None:
            step = max((self._steps.get(k, -1) for k in metrics), default=-1) + 1
        self._buffer.add(metrics, step)
        steps = self._steps
        for key in metrics:
            if steps.get(key, -1) < step:
                steps[key] = step

    def flush(self) -> None:
        """Make every metric logged so far durable now (the buffer does it within 0.5 s)."""
        self._buffer.flush()
        self.session.store.flush()

    def _write_metrics(self, series: dict[str, tuple[list[int], list[int], list[float]]]) -> None:
        self.session.store.log_metric_series(self.id, series)

    # artifacts and lineage
    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Store a file or folder as an output of this run; return its digest."""
        from tether.objects.gclock import writing

        source = Path(path)
        with writing(self.session.objects):  # recorded before `tether gc` may look
            digest = self._store_path(source)
            self.session.store.add_run_io(
                self.id, "output", "object", digest, name=name or _relative_name(source)
            )
        return digest

    def _store_path(self, source: Path) -> str:
        from tether.store import ObjectRecord

        objects = self.session.objects
        if source.is_dir():
            tree = objects.put_tree(source)
            record = ObjectRecord(tree.digest, tree.size, "tree")
        elif source.is_file():
            info = objects.put_file(source)
            record = ObjectRecord(info.digest, info.size, "blob")
        else:
            raise InvalidInput(f"path {source} is not a file or folder; check the path")
        self.session.store.record_objects([record])
        return record.digest

    def log_input(
        self,
        source: DatasetVersion | ModelVersion | str | os.PathLike[str],
        name: str | None = None,
    ) -> str:
        """Record what this run read; return the reference recorded.

        ``source`` is a local file or folder (stored as an object, so that ``tether reproduce``
        can put it back at the same relative path), a dataset version or ``"dataset@3"``, a
        model version, an object digest, or a run id.
        """
        if isinstance(source, os.PathLike) or (isinstance(source, str) and os.path.exists(source)):
            from tether.objects.gclock import writing

            with writing(self.session.objects):  # recorded before `tether gc` may look
                digest = self._store_path(Path(source))
                self.session.store.add_run_io(
                    self.id, "input", "object", digest, name=name or _relative_name(Path(source))
                )
            return digest
        kind, ref = lineage_ref(self.session, source)
        self.session.store.add_run_io(self.id, "input", kind, ref, name=name)
        return ref

    def log_output(
        self, source: DatasetVersion | ModelVersion | str, name: str | None = None
    ) -> None:
        kind, ref = lineage_ref(self.session, source)
        self.session.store.add_run_io(self.id, "output", kind, ref, name=name)

    # ending
    def end(self, status: str = "finished", error: str | None = None) -> None:
        if self._ended:
            return
        self._ended = True
        lifecycle.forget(self)
        ticker.remove(self._heartbeat)
        self.session.store.finish_run(
            self.id,
            status,
            error=None if error is None else redact_text(error),
            metrics=self._buffer.drain(),
            defer=True,
        )

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.end("finished")
        elif isinstance(exc, KeyboardInterrupt):
            self.end("killed", error=f"{type(exc).__name__}")
        elif isinstance(exc, SystemExit) and exc.code in (0, None):
            self.end("finished")
        else:
            text = "".join(traceback.format_exception(exc_type, exc, tb))
            self.end("failed", error=text)

    def _beat(self) -> None:
        try:
            self.session.store.heartbeat(self.id)
        except Exception as e:  # a missed heartbeat is not worth stopping the training loop
            log.warning("heartbeat of run %s failed: %s", self.id, e)


def _relative_name(path: Path) -> str:
    """The path as the run's code would open it again: relative to the working folder."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.name


def lineage_ref(session: Session, source: Any) -> tuple[str, str]:
    """(kind, ref) for something a run read or wrote."""
    from tether.store import DatasetVersion, ModelVersion

    if isinstance(source, DatasetVersion):
        return "dataset_version", f"{source.dataset}@{source.version}"
    if isinstance(source, ModelVersion):
        return "model_version", f"{source.model}@{source.version}"
    if isinstance(source, ActiveRun):
        return "run", source.id
    if isinstance(source, str):
        if len(source) == 64 and all(c in "0123456789abcdef" for c in source):
            return "object", source
        if "@" in source:
            name, _, version = source.rpartition("@")
            if not version.isdigit():
                raise InvalidInput(
                    f"dataset reference {source!r} needs a version number, like 'name@3'"
                )
            session.store.get_dataset_version(session.project, name, int(version))
            return "dataset_version", source
        session.store.get_run(source)
        return "run", source
    raise InvalidInput(
        f"cannot record {type(source).__name__} as a run input or output; "
        "pass a dataset version, 'name@version', an object digest or a run id"
    )
