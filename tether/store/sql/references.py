"""The objects the store refers to: the roots of garbage collection, in a few batched queries.

The monitoring profiles of the trees of live dataset versions are roots too.
Soft-deleted datasets and runs are not roots: collecting is what frees their objects for good.
Model versions are always roots (the registry has no delete).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from tether.store.entities import ObjectRoot
from tether.store.sql import schema as t
from tether.store.sql.core import SqlCore

_CHUNK = 5000  # rows fetched at a time from the bigger queries


def _info_roots(run_id: str, info: Any) -> Iterator[ObjectRoot]:
    """The objects a run's info names: its diff, its package list, a step's outputs and logs."""
    if not isinstance(info, dict):
        return
    code = info.get("code")
    if isinstance(code, dict) and isinstance(code.get("diff_digest"), str):
        yield ObjectRoot(code["diff_digest"], f"run {run_id} diff", False)
    env = info.get("env")
    if isinstance(env, dict) and isinstance(env.get("packages_digest"), str):
        yield ObjectRoot(env["packages_digest"], f"run {run_id} environment", False)
    step = info.get("step")
    if not isinstance(step, dict):
        return
    outputs = step.get("outputs")
    if isinstance(outputs, dict):
        for name, value in outputs.items():
            if isinstance(value, list) and value and isinstance(value[0], str):
                yield ObjectRoot(value[0], f"run {run_id} step output {name}", True)
    logs = step.get("logs")
    if isinstance(logs, list) and logs and isinstance(logs[0], str):
        yield ObjectRoot(logs[0], f"run {run_id} step logs", False)


class ReferencesMixin(SqlCore):
    def object_roots(self) -> list[ObjectRoot]:
        roots: list[ObjectRoot] = []
        d, v, p = t.datasets.c, t.dataset_versions.c, t.projects.c
        r, io, o = t.runs.c, t.run_io.c, t.objects.c
        m, mv = t.models.c, t.model_versions.c
        with self._read() as conn:
            rows = conn.execute(
                sa.select(v.tree_digest, p.name, d.name, v.version)
                .join(t.datasets, d.id == v.dataset_id)
                .join(t.projects, p.id == d.project_id)
                .where(d.deleted_at.is_(None))
            )
            roots += [ObjectRoot(tree, f"dataset {pr}/{ds} v{n}", True) for tree, pr, ds, n in rows]
            rp = t.reference_profiles.c
            profiles = conn.execute(
                sa.select(rp.digest, rp.tree_digest)
                .where(
                    sa.exists()
                    .where(v.tree_digest == rp.tree_digest, d.id == v.dataset_id)
                    .where(d.deleted_at.is_(None))
                )
                .order_by(rp.tree_digest, rp.format)
            )
            roots += [
                ObjectRoot(digest, f"reference profile of tree {tree}", False)
                for digest, tree in profiles
            ]
            ps = t.prediction_segments.c
            segments = conn.execute(
                sa.select(ps.digest, p.name, ps.model, ps.version)
                .join(t.projects, p.id == ps.project_id)
                .execution_options(yield_per=_CHUNK)
            )
            roots += [
                ObjectRoot(digest, f"prediction log of {pr}/{mo} v{n}", False)
                for digest, pr, mo, n in segments
            ]
            rows = conn.execute(
                sa.select(mv.artifact_digest, p.name, m.name, mv.version)
                .join(t.models, m.id == mv.model_id)
                .join(t.projects, p.id == m.project_id)
            )
            roots += [ObjectRoot(a, f"model {pr}/{mo} v{n}", None) for a, pr, mo, n in rows]
            io_rows = conn.execute(
                sa.select(io.ref, io.run_id, io.direction, io.name, o.kind)
                .join(t.runs, r.id == io.run_id)
                .outerjoin(t.objects, o.digest == io.ref)
                .where(io.kind == "object", r.deleted_at.is_(None))
                .execution_options(yield_per=_CHUNK)
            )
            for ref, run_id, direction, name, kind in io_rows:
                what = f"run {run_id} {direction} {name or ref}"
                roots.append(ObjectRoot(ref, what, None if kind is None else kind == "tree"))
            info_rows = conn.execute(
                sa.select(r.id, r.info)
                .where(r.deleted_at.is_(None))
                .execution_options(yield_per=_CHUNK)
            )
            for run_id, info in info_rows:
                roots.extend(_info_roots(run_id, info))
        return roots

    def tree_digests(self) -> set[str]:
        o = t.objects.c
        with self._read() as conn:
            return set(conn.execute(sa.select(o.digest).where(o.kind == "tree")).scalars())
