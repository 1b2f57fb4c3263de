"""``tether reproduce RUN`` for a pipeline run: rebuild its code, re-run every step, compare.

1. the parent run's recorded commit is checked out in a temporary git worktree and its recorded
   uncommitted diff applied (as for single runs, ``tracking/reproduce.py``);
2. the pipeline function is imported from that worktree and called with the recorded params
   (dataset references pinned to the versions the original read), in a fresh process, with
   the cache off: every step runs again, since the point is to check the results;
3. every step's outputs are compared digest by digest with the original's (canonical digests
   where the materialiser gives one, as for cache keys); a re-run that fails hands back its
   output (the failed steps' errors included).

It works for pipelines started from Python and from ``tether pipeline run`` alike: what is
re-run is the pipeline function, not the command that called it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.tracking.errors import ReproduceError
from tether.tracking.reproduce import Comparison, recorded_code

LOG_TAIL = 8000


@dataclass
class PipelineReproduceReport:
    original_id: str
    new_id: str | None
    workdir: Path
    returncode: int
    comparisons: list[Comparison] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    output: str = ""  # the re-run's stdout and stderr (its tail), kept when it failed

    @property
    def identical(self) -> bool:
        return (
            self.returncode == 0
            and self.new_id is not None
            and bool(self.comparisons)
            and all(c.same for c in self.comparisons)
        )


def is_pipeline_run(run: Any) -> bool:
    return isinstance(run.info.get("pipeline"), dict)


def _code(run: Any) -> dict[str, Any]:
    code = run.info.get("code")
    if not code or not code.get("commit"):
        raise ReproduceError(
            f"pipeline run {run.id} recorded no git commit; reproduce needs the pipeline's code "
            "to have been in a git repository with at least one commit"
        )
    if not Path(code["root"]).is_dir():
        raise ReproduceError(
            f"the repository {code['root']} that run {run.id} came from is gone; "
            "run `tether reproduce` from a clone that has commit " + code["commit"]
        )
    return dict(code)


def _function_file(spec: dict[str, Any], root: Path, src: Path) -> Path:
    file = (spec.get("function") or {}).get("file")
    if not file:
        raise ReproduceError(
            "the pipeline function was defined without a file (a notebook or the prompt); "
            "only pipelines defined in .py files can be reproduced"
        )
    try:
        return src / Path(file).resolve().relative_to(root.resolve())
    except ValueError:
        raise ReproduceError(
            f"the pipeline file {file} lies outside the repository {root}; "
            "it cannot be rebuilt from the commit"
        ) from None


def reproduce_pipeline(
    session: Any,
    run_id: str,
    *,
    scratch: Path | None = None,
    keep: bool = False,
    executor: str | None = None,
    echo: Callable[[str], None] = print,
) -> PipelineReproduceReport:
    store = session.store
    original = store.get_run(store.resolve_run_id(run_id))
    if not is_pipeline_run(original):
        raise ReproduceError(f"run {original.id} is not a pipeline run")
    spec = original.info["pipeline"]
    code = _code(original)
    scratch = Path(scratch or tempfile.mkdtemp(prefix=f"tether-reproduce-{original.id[:13]}-"))
    scratch.mkdir(parents=True, exist_ok=True)
    repo = Path(code["root"])
    with recorded_code(session.objects, code, scratch, keep=keep, echo=echo) as (
        src,
        workdir,
        warnings,
    ):
        file = _function_file(spec, repo, src)
        returncode, new_id, output = _rerun(
            session, original, spec, file, workdir, scratch, executor or spec.get("executor")
        )
        report = PipelineReproduceReport(original.id, new_id, workdir, returncode, [], warnings)
        if returncode != 0 or new_id is None:
            report.output = output[-LOG_TAIL:]
        if new_id is not None:
            report.comparisons = compare_pipeline_runs(session, original.id, new_id)
        return report


def _rerun(
    session: Any,
    original: Any,
    spec: dict[str, Any],
    file: Path,
    workdir: Path,
    scratch: Path,
    executor: str | None,
) -> tuple[int, str | None, str]:
    from tether.store.filter import Compare, Field, parse_order_by

    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_STORE_URL": session.settings.store_url,
            "TETHER_OBJECTS_URL": session.settings.objects_url,
            "TETHER_CORE_PROJECT": session.project,
            "TETHER_TRACKING_REPRODUCES": original.id,
        }
    )
    if not (workdir / ".tether").exists():
        from tether.config import init_workspace

        init_workspace(workdir, project=session.project)
    job = scratch / "pipeline.json"
    function = spec.get("function") or {}
    job.write_text(
        json.dumps(
            {
                "file": str(file),
                "module": function.get("module"),
                "qualname": function.get("qualname"),
                "params": spec.get("params") or {},
                "executor": executor,
            }
        )
    )
    started = time.time()
    argv = [sys.executable, "-m", "tether.pipelines.reproduce", str(job)]
    proc = subprocess.run(
        argv, cwd=workdir, env=env, capture_output=True, text=True, errors="replace", check=False
    )
    found = session.store.search_runs(
        session.project,
        Compare(Field("tags", "tether.reproduces"), "=", original.id),
        parse_order_by("start_time desc"),
        limit=1,
    )
    new = [r for r in found if r.start_time.timestamp() >= started - 1 and r.parent_id is None]
    return proc.returncode, new[0].id if new else None, proc.stdout + proc.stderr


def compare_pipeline_runs(session: Any, original_id: str, new_id: str) -> list[Comparison]:
    """Each step's status and each of its outputs, original against the re-run."""
    from tether.pipelines.result import load_pipeline_run

    old = load_pipeline_run(session, original_id)
    new = load_pipeline_run(session, new_id)
    out: list[Comparison] = []
    for name in sorted(old.steps.keys() | new.steps.keys()):
        a, b = old.steps.get(name), new.steps.get(name)
        out.append(Comparison("step", name, a.status if a else None, b.status if b else None))
        # canonical digests where the materialiser gives one: a refitted equal estimator
        # is the same result
        a_out = {k: v.cache_digest for k, v in a.stored.items()} if a else {}
        b_out = {k: v.cache_digest for k, v in b.stored.items()} if b else {}
        for output in sorted(a_out.keys() | b_out.keys()):
            out.append(
                Comparison("output", f"{name}.{output}", a_out.get(output), b_out.get(output))
            )
    return out


def _main(job_file: str) -> int:
    """The re-run itself, in the worktree: import the pipeline, call it with the cache off."""
    from tether.pipelines.loader import load_file
    from tether.pipelines.params import decode_params
    from tether.pipelines.pipeline_def import Pipeline

    job = json.loads(Path(job_file).read_text())
    module = job.get("module") or "__main__"
    name = "__tether_main__" if module == "__main__" else module
    obj: Any = load_file(job["file"], name)
    for part in str(job["qualname"]).split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, Pipeline):
        print(f"{job['qualname']} in {job['file']} is not a @pipeline function", file=sys.stderr)
        return 2
    run = obj.run(
        decode_params(job["params"]),
        executor=job.get("executor"),
        no_cache=True,
        raise_on_failure=False,
    )
    print(f"pipeline run {run.id} {run.status}")
    for step in run.failed:
        print(f"--- step {step} failed ---\n{run.steps[step].error or ''}", file=sys.stderr)
    return 0 if run.status == "finished" else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
