"""A pipeline run as users read it: its steps, their status, cache hits, outputs and values."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.errors import InvalidInput
from tether.pipelines.cache import outputs_from_json
from tether.pipelines.errors import PipelineFailed, PipelineRunNotFound
from tether.pipelines.values import StoredValue, load_value


@dataclass
class StepRun:
    """One step of a pipeline run. ``status``: finished, failed, skipped, killed or running."""

    name: str
    status: str
    run_id: str | None
    cached: bool
    inputs: dict[str, str]  # input name -> object digest
    stored: dict[str, StoredValue]
    duration_s: float | None
    error: str | None = None
    logs_digest: str | None = None
    attempts: int = 0
    session: Any = field(default=None, repr=False)

    @property
    def outputs(self) -> dict[str, str]:
        """Output name -> object digest."""
        return {n: v.digest for n, v in self.stored.items()}

    def load(self, name: str | None = None) -> Any:
        """The Python value of output ``name`` (default: the only output; several: a dict)."""
        if not self.stored:
            raise InvalidInput(f"step {self.name!r} has no outputs ({self.status})")
        if name is None:
            if len(self.stored) == 1:
                return self._load(next(iter(self.stored)))
            return {n: self._load(n) for n in self.stored}
        if name not in self.stored:
            raise InvalidInput(
                f"step {self.name!r} has no output {name!r}; outputs: {', '.join(self.stored)}"
            )
        return self._load(name)

    def _load(self, name: str) -> Any:
        return load_value(self.session.objects, self.stored[name].digest, cache_dir(self.session))

    def logs(self) -> str:
        """What the step printed (stdout and stderr)."""
        if self.logs_digest is None:
            return ""
        return self.session.objects.get_bytes(self.logs_digest).decode("utf-8", "replace")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "cached": self.cached,
            "duration_s": self.duration_s,
            "run_id": self.run_id,
            "attempts": self.attempts,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "error": self.error,
        }


@dataclass
class PipelineRun:
    id: str
    name: str
    status: str
    steps: dict[str, StepRun]
    spec: dict[str, Any]
    session: Any = field(default=None, repr=False)

    @property
    def failed(self) -> list[str]:
        return [n for n, s in self.steps.items() if s.status in ("failed", "killed")]

    def check(self) -> PipelineRun:
        """Raise ``PipelineFailed`` naming the failed steps (and carrying this run) unless the
        run finished."""
        if self.status != "finished":
            raise PipelineFailed(self.id, self.failed or [self.status], self)
        return self

    def output(self, name: str | None = None) -> Any:
        """What the pipeline function returned, loaded (``name``: ``"step"`` or ``"step.out"``)."""
        if name is not None:
            step, _, out = name.partition(".")
            if step not in self.steps:
                raise InvalidInput(f"no step {step!r} in pipeline run {self.id}")
            return self.steps[step].load(out or None)
        self.check()
        return self._resolve(self.spec.get("returns"))

    def _resolve(self, ref: Any) -> Any:
        if ref is None:
            return None
        if isinstance(ref, str):
            step, _, out = ref.partition(".")
            return self.steps[step].load(out)
        if isinstance(ref, list):
            return tuple(self._resolve(r) for r in ref)
        return {k: self._resolve(v) for k, v in ref.items()}

    def graph_lines(self) -> list[str]:
        """A small text drawing of the DAG: each step with the steps it reads from."""
        lines = []
        for s in self.spec.get("steps", []):
            deps = sorted({v.split(".", 1)[0] for v in s["inputs"].values() if "." in v})
            mark = _MARKS.get(self.steps[s["name"]].status, "?") if s["name"] in self.steps else "?"
            cached = " (cached)" if s["name"] in self.steps and self.steps[s["name"]].cached else ""
            arrow = f"  <- {', '.join(deps)}" if deps else ""
            lines.append(f"{mark} {s['name']}{cached}{arrow}")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "steps": [s.to_dict() for s in self.steps.values()],
        }


_MARKS = {"finished": "✔", "failed": "✘", "skipped": "-", "killed": "✘", "running": "…"}


def cache_dir(session: Any) -> Path:
    ws = session.settings.workspace
    return Path(ws.dir) / "cache" / "pipelines" / "values"


def load_pipeline_run(session: Any, run_id: str) -> PipelineRun:
    """A stored pipeline run, by id or unique prefix."""
    from tether.store.filter import parse_filter

    store = session.store
    run = store.get_run(store.resolve_run_id(run_id))
    spec = run.info.get("pipeline")
    if not isinstance(spec, dict):
        raise PipelineRunNotFound(
            f"run {run.id} is not a pipeline run; list them with `tether pipeline ls`"
        )
    children = store.search_runs(
        session.project, parse_filter(f"parent_id = '{run.id}'"), limit=100_000
    )
    by_name = {c.tags.get("tether.step", c.name or ""): c for c in children}
    steps: dict[str, StepRun] = {}
    for s in spec.get("steps", []):
        child = by_name.get(s["name"])
        if child is None:
            steps[s["name"]] = StepRun(
                s["name"], "skipped", None, False, {}, {}, None, session=session
            )
            continue
        info = child.info.get("step") or {}
        logs = info.get("logs")
        steps[s["name"]] = StepRun(
            s["name"],
            child.status,
            child.id,
            child.tags.get("tether.step.cached") == "true",
            dict(info.get("inputs") or {}),
            outputs_from_json(info.get("outputs") or {}),
            info.get("duration_s"),
            child.error,
            logs[0] if logs else None,
            int(info.get("attempts") or 0),
            session=session,
        )
    return PipelineRun(run.id, spec.get("name") or run.name or "", run.status, steps, spec, session)
