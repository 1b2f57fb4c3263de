"""``gate`` and ``promote_if_better`` on registered model versions.

Both models are evaluated on the same rows (each evaluation recorded as a run, see
``tracked.py``), then gated by ``gating.gate``. ``promote_if_better`` moves the alias only when
the gate passes, with the decision as the alias event's reason; nothing in the registry changes
when it fails or raises.

When the alias does not exist yet there is no champion: the challenger is promoted when it
passes the rules that need none (today the latency ceiling); the decision says so in its first
rule, and its champion evaluation is the challenger's own.

A race: the alias may move while the evaluations run. The alias is moved by compare and set
(the store's ``set_alias(expect=)``, atomic in SQLite and PostgreSQL, across processes): only if
it still points at the champion the challenger was gated against; if it moved, the challenger is
gated again against the new holder (at most ``ATTEMPTS`` times).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from tether.errors import InvalidInput
from tether.models.errors import AliasKeptMoving
from tether.models.gating import Decision, Rule, compare
from tether.models.gating import gate as gate_evaluations
from tether.models.policy import Policy, load_policy
from tether.models.tracked import (
    DataSource,
    TrackedEvaluation,
    is_ref,
    load_version,
    record_evaluation,
    version_ref,
    workspace_of,
)

if TYPE_CHECKING:
    from tether.models.datasource import Data, DataResolver
    from tether.models.evaluation import Evaluation
    from tether.models.slices import Slice
    from tether.store import ModelVersion
    from tether.workspace import Workspace

ATTEMPTS = 3
TAG_ROLE = "tether.gate.role"  # challenger or champion
TAG_AGAINST = "tether.gate.against"  # the other model version of the gate
TAG_PASSED = "tether.gate.passed"  # "true" or "false"

PolicyArg = Policy | Mapping[str, Any] | str | os.PathLike[str]


def gate(
    challenger: Any,
    champion: Any,
    data: Any = None,
    policy: PolicyArg | None = None,
    *,
    target: str | None = None,
    metrics: Sequence[str] | None = None,
    slices: Sequence[str | Slice] | None = None,
    resolver: DataResolver | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Decision:
    """Does ``challenger`` beat ``champion`` under ``policy``?

    ``gate(challenger_eval, champion_eval, policy)``: two evaluations made on the same rows.
    ``gate(challenger, champion, data, policy, *, target)``: two models (objects with
    ``predict``, or references such as ``"churn-model@3"`` / ``"churn-model@champion"``,
    whose evaluations are recorded as runs) evaluated on the same rows of ``data`` first.
    """
    from tether.models.evaluation import Evaluation

    if isinstance(challenger, Evaluation) and isinstance(champion, Evaluation):
        chosen = policy if policy is not None else data
        if chosen is None:
            raise InvalidInput("gate(challenger_eval, champion_eval, policy) needs a policy")
        return gate_evaluations(challenger, champion, chosen)
    if data is None or policy is None or target is None:
        raise InvalidInput(
            "gate(challenger, champion, data, policy, target=...) needs the data, the policy "
            "and the target column"
        )
    policy = load_policy(policy)
    ws = workspace_of(workspace) if is_ref(challenger) or is_ref(champion) else None
    chal = load_version(challenger, ws) if ws is not None and is_ref(challenger) else None
    champ = load_version(champion, ws) if ws is not None and is_ref(champion) else None
    source = DataSource(data, resolver=resolver, workspace=ws or workspace)
    decision = compare(
        challenger if chal is None else chal[1],
        champion if champ is None else champ[1],
        source.table.frame,
        policy,
        target=target,
        metrics=metrics,
        slices=slices,
    )
    challenger_ev = replace(decision.challenger, source=source.table.source)
    champion_ev = replace(decision.champion, source=source.table.source)
    if ws is not None:
        challenger_ev, champion_ev = _record(
            decision.passed, challenger_ev, champion_ev, chal, champ, source, ws
        )
    return replace(decision, challenger=challenger_ev, champion=champion_ev)


def _record(
    passed: bool,
    challenger: Evaluation,
    champion: Evaluation,
    chal: tuple[ModelVersion, Any] | None,
    champ: tuple[ModelVersion, Any] | None,
    source: DataSource,
    ws: Workspace,
) -> tuple[Evaluation, Evaluation]:
    def tags(role: str, other: tuple[ModelVersion, Any] | None) -> dict[str, str]:
        out = {TAG_ROLE: role, TAG_PASSED: "true" if passed else "false"}
        if other is not None:
            out[TAG_AGAINST] = version_ref(other[0])
        return out

    if chal is not None:
        challenger = record_evaluation(
            challenger, chal[0], source, ws, tags=tags("challenger", champ)
        )
    if champ is not None:
        champion = record_evaluation(champion, champ[0], source, ws, tags=tags("champion", chal))
    return challenger, champion


def promote_if_better(
    challenger: str | ModelVersion,
    alias: str,
    data: Data,
    policy: PolicyArg,
    *,
    target: str,
    reason: str | None = None,
    metrics: Sequence[str] | None = None,
    slices: Sequence[str | Slice] | None = None,
    resolver: DataResolver | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
    actor: str | None = None,
) -> Decision:
    """Gate ``challenger`` (a model reference) against the version ``alias`` of the same model
    points at, and move ``alias`` to the challenger only when the gate passes.

    The alias event's reason is ``reason`` (when given) followed by the decision's rules.
    """
    from tether.store import ModelVersion
    from tether.store.errors import AliasMoved, AliasNotFound

    if not is_ref(challenger):
        raise InvalidInput(
            "promote_if_better needs a registered model version as the challenger "
            "('name@3' or a ModelVersion), not an object: log the model first"
        )
    policy = load_policy(policy)
    ws = workspace_of(workspace)
    store, project = ws.store, ws.project
    version = (
        challenger
        if isinstance(challenger, ModelVersion)
        else load_version(challenger, ws)[0]  # the artifact is checked before any evaluation
    )

    def holder() -> ModelVersion | None:
        try:
            return store.get_alias(project, version.model, alias)
        except AliasNotFound:
            return None

    champion = holder()
    source = DataSource(data, resolver=resolver, workspace=ws)  # read once, for every attempt
    for _ in range(ATTEMPTS):
        if champion is None:
            decision = _first(version, alias, source, policy, target, metrics, slices, ws)
        else:
            decision = gate(
                version, champion, source.table.frame, policy, target=target,
                metrics=metrics, slices=slices, workspace=ws,
            )  # fmt: skip
            decision = _with_source(decision, source)
        if not decision.passed:
            return decision
        try:  # compare and set: only if the alias still points at the champion gated against
            store.set_alias(
                project,
                version.model,
                alias,
                version.version,
                actor=actor or _actor(),
                reason=alias_reason(decision, reason),
                expect=_number(champion),
            )
            return decision
        except AliasMoved:
            champion = holder()
    raise AliasKeptMoving(version.model, alias, ATTEMPTS)


def _with_source(decision: Decision, source: DataSource) -> Decision:
    """The evaluations name the data as given (``churn@4``), not ``<DataFrame>``."""
    name = source.table.source
    return replace(
        decision,
        challenger=replace(decision.challenger, source=name),
        champion=replace(decision.champion, source=name),
    )


def _first(
    version: ModelVersion,
    alias: str,
    source: DataSource,
    policy: Policy,
    target: str,
    metrics: Sequence[str] | None,
    slices: Sequence[str | Slice] | None,
    ws: Workspace,
) -> Decision:
    """The decision for an alias nobody holds: the rules that need no champion."""
    _, model = load_version(version, ws)
    own = compare(model, model, source.table.frame, policy, target=target, metrics=metrics,
                  slices=slices)  # fmt: skip
    rules = [
        Rule(
            "champion",
            True,
            f"model {version.model!r} has no alias {alias!r} yet: nothing to compare with, so "
            "only the rules that need no champion apply",
        ),
        *(r for r in own.rules if r.name == "latency"),
    ]
    passed = all(r.passed for r in rules)
    ev = record_evaluation(
        replace(own.challenger, source=source.table.source),
        version,
        source,
        ws,
        tags={TAG_ROLE: "challenger", TAG_PASSED: "true" if passed else "false"},
    )
    return replace(own, passed=passed, rules=tuple(rules), challenger=ev, champion=ev)


def alias_reason(decision: Decision, reason: str | None = None) -> str:
    """The alias event's reason: the caller's, then the gate's verdict and rules."""
    chal, champ = decision.challenger, decision.champion
    against = ""
    if isinstance(champ, TrackedEvaluation) and champ is not chal:
        against = f" against {champ.model}"
    head = f"gate passed{against}" if decision.passed else f"gate failed{against}"
    if isinstance(chal, TrackedEvaluation):
        head = f"{chal.model}: {head} (evaluation run {chal.run_id})"
    lines = [reason, head] if reason else [head]
    return "\n".join([*lines, *decision.reasons])


def _number(version: ModelVersion | None) -> int | None:
    return None if version is None else version.version


def _actor() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry and no USER/LOGNAME (some containers)
        return "unknown"
