"""The reference a model is monitored against, found through lineage: the dataset version the
run that trained it read. No user has to say what the reference is."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from tether.monitoring.errors import NoTrainingData

if TYPE_CHECKING:
    from tether.workspace import Workspace


def training_reference(
    run_id: str, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> str:
    """``"name@N"``: the dataset version run ``run_id`` read. A pipeline run (whose steps
    read the data) is searched through its step runs. NoTrainingData when it read none, or
    several (then name one: ``drift("name@N", ...)``)."""
    from tether.tracking.api import get_run, search_runs

    def inputs(rid: str) -> list[str]:
        run = get_run(rid, workspace=workspace)
        return [io.ref for io in run.inputs if io.kind == "dataset_version"]

    found = inputs(run_id)
    if not found:
        for child in search_runs(f"parent_id = '{run_id}'", workspace=workspace):
            found += inputs(child.id)
    found = list(dict.fromkeys(found))
    if len(found) != 1:
        raise NoTrainingData(run_id, found)
    return found[0]
