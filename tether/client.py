"""``tether.Workspace``: the workspace client, with the operations of every layer.

``tether.workspace.Workspace`` (below the data layer) resolves settings once and opens the
store and objects on first use; this subclass adds what the layers above it do with them, so
that ``tether.Workspace(path, project="x").run(...)`` works on that workspace exactly as
``tether.run(...)`` works on the default one (the workspace found from the current folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tether.workspace.core import Workspace as _Core

if TYPE_CHECKING:
    from tether.data import CheckoutReport, DataRepo, LinkMode, PointerCheckout, Transfer
    from tether.data.dataset_ref import DatasetRef
    from tether.objects import Progress
    from tether.objects.gc import GcReport
    from tether.store import DatasetVersion
    from tether.tracking.active import ActiveRun
    from tether.tracking.datasets import DatasetHandle
    from tether.tracking.recorder import RunRecorder
    from tether.tracking.view import RunList, RunView


class Workspace(_Core):
    """``tether.Workspace(path=None, **overrides)``: runs, datasets and data transfers of the
    workspace found from ``path``, under settings ``overrides`` (``project=``,
    ``store_url=``, ``objects_url=``, ...). Use it as a context manager, or call
    :meth:`close`, to close its store."""

    # runs
    def run(
        self,
        experiment: str = "default",
        name: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        *,
        parent: ActiveRun | RunRecorder | str | None = None,
        capture: bool = True,
    ) -> ActiveRun:
        """Start a run here; see :func:`tether.run`. Unlike it, the run is top-level unless
        ``parent`` names one (the active run may belong to another workspace)."""
        from tether.tracking.api import run

        return run(experiment, name, params, tags, parent=parent, capture=capture, workspace=self)

    def get_run(self, run_id: str) -> RunView:
        from tether.tracking.api import get_run

        return get_run(run_id, workspace=self)

    def search_runs(
        self,
        filter: str = "",
        order_by: str = "",
        limit: int = 1000,
        *,
        experiment: str | None = None,
    ) -> RunList:
        from tether.tracking.api import search_runs

        return search_runs(filter, order_by, limit, experiment=experiment, workspace=self)

    # data
    def dataset(self, ref: str | DatasetRef) -> DatasetHandle:
        from tether.tracking.datasets import dataset

        return dataset(ref, workspace=self)

    def add(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        message: str | None = None,
        *,
        pointer: bool = True,
    ) -> DatasetVersion:
        """Version ``path`` as the next version of dataset ``name`` (see ``tether data add``);
        inside an active run, the run is recorded as its maker."""
        from tether.tracking.datasets import add

        return add(path, name, message, workspace=self, pointer=pointer)

    def data(self) -> DataRepo:
        """This workspace as the data functions (``tether.data.*``) take it."""
        from tether.data import DataRepo

        return DataRepo(self, workers=self.settings.objects_workers)

    def push(
        self,
        refs: Sequence[str] | None = None,
        *,
        remote: str | None = None,
        all_versions: bool = False,
        progress: Progress | None = None,
    ) -> Transfer:
        """Send dataset versions to ``remote`` (default: ``core.remote``); see
        ``tether data push``."""
        from tether.data import push

        return push(self.data(), refs, remote=remote, all_versions=all_versions, progress=progress)

    def pull(
        self,
        refs: Sequence[str] | None = None,
        *,
        remote: str | None = None,
        all_versions: bool = False,
        progress: Progress | None = None,
    ) -> Transfer:
        """Fetch dataset versions from ``remote``; see ``tether data pull``."""
        from tether.data import pull

        return pull(self.data(), refs, remote=remote, all_versions=all_versions, progress=progress)

    def checkout(
        self,
        ref: str | None = None,
        *,
        to: str | os.PathLike[str] | None = None,
        link: LinkMode = "copy",
        force: bool = False,
    ) -> CheckoutReport | list[PointerCheckout]:
        """Write ``ref`` (``name@version``) where its pointer says, or under ``to``; without
        ``ref``, restore every pointer's dataset to the pointer's version."""
        from tether.data import checkout, checkout_pointers
        from tether.errors import InvalidInput

        if ref is None:
            if to is not None:
                raise InvalidInput("checkout(to=...) needs a dataset: checkout('name@3', to=...)")
            return checkout_pointers(self.data(), link=link, force=force)
        return checkout(self.data(), ref, to=to, link=link, force=force)

    # objects
    def gc(
        self,
        *,
        grace_s: float | None = None,
        dry_run: bool = False,
        pack_threshold: float | None = None,
        progress: Progress | None = None,
    ) -> GcReport:
        """Remove the objects nothing in this workspace's store refers to; see ``tether gc``
        (``grace_s`` defaults to an hour, ``pack_threshold`` to half)."""
        from tether.objects.gc import DEFAULT_GRACE_S, DEFAULT_PACK_THRESHOLD, collect

        return collect(
            self.objects,
            self.store,
            grace_s=DEFAULT_GRACE_S if grace_s is None else grace_s,
            dry_run=dry_run,
            pack_threshold=DEFAULT_PACK_THRESHOLD if pack_threshold is None else pack_threshold,
            progress=progress,
        )
