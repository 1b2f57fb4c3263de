"""Dataset versions in pipelines: dataset-reference params resolved at the start, and the
datasets a step read re-checked before its cached result is used.

- A pipeline param whose value is a ``tether.DatasetRef`` (``tether.dataset_ref("churn@latest")``),
  or a string given for a pipeline param annotated ``DatasetRef`` (as ``tether pipeline run -p
  data=churn@latest`` passes it), is resolved when the run starts: ``latest`` becomes the
  version it is then. The same holds for a ``DatasetRef`` passed straight to a step call. The
  pipeline run and each step that receives it record the version as an input, and the resolved
  ``name@N`` is the param in the steps' cache keys: a new version re-runs them.
- ``tether.dataset("name")`` called inside a step body is only known once the step ran: the
  version it resolved to is recorded as an input of the step's run and kept with its cache
  entry. A later cache hit is used only if each such reference still resolves to the version
  read then (``name``/``name@latest`` to the latest version; ``name@3`` always does).
"""

from __future__ import annotations

from typing import Any

from tether.data.dataset_ref import DatasetRef
from tether.errors import NotFound


class Resolver:
    """Resolves dataset references once per pipeline run (one version per name)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self._latest: dict[str, int] = {}

    def latest(self, name: str, *, fresh: bool = False) -> int:
        version = None if fresh else self._latest.get(name)
        if version is None:
            dv = self.session.store.get_dataset_version(self.session.project, name, None)
            version = self._latest[name] = int(dv.version)
        return version

    def resolve(self, value: Any) -> Any:
        """``value`` with every unresolved ``DatasetRef`` inside it resolved."""
        if isinstance(value, DatasetRef):
            if value.version is None:
                return DatasetRef(value.name, self.latest(value.name))
            self.session.store.get_dataset_version(self.session.project, value.name, value.version)
            return value
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


def refs_in(value: Any) -> list[str]:
    """The ``name@N`` of every resolved ``DatasetRef`` inside ``value``."""
    if isinstance(value, DatasetRef):
        return [value.ref] if value.version is not None else []
    if isinstance(value, list | tuple):
        return [r for v in value for r in refs_in(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    return []


def input_rows(params: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    """Run input rows for the dataset versions among ``params``, named after the param."""
    rows: list[tuple[str, str, str, str | None]] = []
    for name, value in params.items():
        for ref in dict.fromkeys(refs_in(value)):
            rows.append(("input", "dataset_version", ref, name))
    return rows


def plain(value: Any) -> Any:
    """``value`` with dataset references as their ``name@N`` text (for run params)."""
    if isinstance(value, DatasetRef):
        return value.ref
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def still_current(resolver: Resolver, reads: dict[str, str]) -> bool:
    """Whether every dataset reference a step resolved (asked -> ``name@N``) still does."""
    for asked, read in reads.items():
        ref = DatasetRef.parse(asked)
        if ref.version is not None:
            continue
        try:
            # fresh: an upstream step of this run may have added a version
            if f"{ref.name}@{resolver.latest(ref.name, fresh=True)}" != read:
                return False
        except NotFound:
            return False
    return True
