"""Aliases: ``set_alias``, ``history``, ``rollback``, and the model listing the CLI shows.

Every move is an alias event (who, why, when, from which version to which) written in the
same transaction as the move, so that concurrent moves never lose one.
"""

from __future__ import annotations

import os
from types import EllipsisType
from typing import TYPE_CHECKING

from tether.models.fetch import workspace_of

if TYPE_CHECKING:
    from tether.store import AliasEvent, ModelVersion
    from tether.workspace import Workspace


def actor() -> str:
    """Who moves an alias: the login name (``unknown`` where the system has none)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry and no USER/LOGNAME (some containers)
        return "unknown"


def set_alias(
    name: str,
    alias: str,
    version: int,
    *,
    reason: str | None = None,
    expect: int | EllipsisType | None = ...,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> AliasEvent:
    """Point ``alias`` of model ``name`` at ``version``; return the recorded move.

    With ``expect`` (compare and set) the alias moves only if it points at version ``expect``
    now (``None``: only if it is not set yet); otherwise ``AliasMoved`` is raised and nothing
    changes. Without it the alias moves wherever it points.
    """
    from tether.models.refs import LATEST

    if alias == LATEST:
        from tether.errors import InvalidInput

        raise InvalidInput(
            f"alias {LATEST!r} is reserved: 'name@latest' means the latest version; "
            "choose another alias name"
        )
    ws = workspace_of(workspace)
    return ws.store.set_alias(
        ws.project, name, alias, version, actor=actor(), reason=reason, expect=expect
    )


def history(
    name: str,
    alias: str | None = None,
    *,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> list[AliasEvent]:
    """Every alias move of model ``name`` (or of one ``alias``), oldest first."""
    ws = workspace_of(workspace)
    return ws.store.list_alias_events(ws.project, name, alias)


def rollback(
    name: str,
    alias: str,
    *,
    reason: str | None = None,
    expect: int | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> AliasEvent:
    """Move ``alias`` back to the version it pointed at before its current one.

    The previous version is read from the alias's last move, so a rollback is itself a move
    (recorded, with ``reason``), and rolling back twice returns to where it started. The move
    is a compare and set: it happens only if the alias still points where it was read, so two
    concurrent rollbacks (or a rollback and a promotion) never roll back twice; the one that
    lost raises ``AliasMoved`` and changes nothing.

    ``expect``: roll back only if the alias points at that version now (else ``AliasMoved``).
    Rollbacks that name the version they roll back from happen once however many are sent,
    even one after the other: without it, a second rollback that reads the alias after the
    first moved it rolls the first one back.
    """
    from tether.models.errors import NothingToRollBack

    ws = workspace_of(workspace)
    current = ws.store.get_alias(ws.project, name, alias).version  # AliasNotFound names it
    if expect is not None and current != expect:
        from tether.store.errors import AliasMoved

        raise AliasMoved(ws.project, name, alias, expect, current)
    events = ws.store.list_alias_events(ws.project, name, alias)
    last = events[-1]
    if last.to_version != current:  # moved between the two reads
        from tether.store.errors import AliasMoved

        raise AliasMoved(ws.project, name, alias, last.to_version, current)
    if last.from_version is None:
        raise NothingToRollBack(name, alias)
    why = reason or f"rollback from version {last.to_version}"
    return ws.store.set_alias(
        ws.project, name, alias, last.from_version, actor=actor(), reason=why, expect=current
    )


def versions(
    name: str, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> list[ModelVersion]:
    """The versions of model ``name``, oldest first."""
    ws = workspace_of(workspace)
    return ws.store.list_model_versions(ws.project, name)


def aliases_of(
    name: str, *, workspace: Workspace | str | os.PathLike[str] | None = None
) -> dict[str, int]:
    """Each alias of model ``name`` and the version it points at now."""
    current: dict[str, int] = {}
    for event in history(name, workspace=workspace):
        current[event.alias] = event.to_version
    return dict(sorted(current.items()))


def list_models(*, workspace: Workspace | str | os.PathLike[str] | None = None) -> list[str]:
    ws = workspace_of(workspace)
    return ws.store.list_models(ws.project)
