"""``tether reproduce RUN``: rebuild a run's inputs in a scratch folder, re-run it, compare.

1. the recorded commit is checked out in a temporary git worktree and the recorded diff applied;
2. the recorded input objects are restored at the paths the run read them from;
3. the recorded command runs again, in the current environment (every package whose version
   differs is named) or, with ``exact_env``, in a fresh virtual environment of the recorded list;
4. the new run's outputs and final metrics are compared with the original's.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.errors import InvalidInput, NotFound
from tether.tracking.capture import PackageChange, diff_packages
from tether.tracking.errors import ReproduceError

if TYPE_CHECKING:
    from tether.store import Run
    from tether.tracking.session import Session


@dataclass(frozen=True)
class Comparison:
    kind: str  # output | metric
    key: str
    original: str | None
    new: str | None

    @property
    def same(self) -> bool:
        return self.original == self.new


@dataclass
class ReproduceReport:
    original_id: str
    new_id: str | None
    workdir: Path
    returncode: int
    package_changes: list[PackageChange] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return (
            self.returncode == 0
            and self.new_id is not None
            and all(c.same for c in self.comparisons)
        )


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> None:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, timeout=300, check=False
    )
    if proc.returncode != 0:
        raise ReproduceError(
            f"git {' '.join(args[:2])} failed in {repo}: "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )


def _check_reproducible(run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
    code, command = run.info.get("code"), run.info.get("command")
    if not command or command.get("interactive") or not command.get("argv"):
        raise ReproduceError(
            f"run {run.id} was started interactively (notebook, REPL or -c); only runs "
            "started from a script or with -m can be re-run"
        )
    if not code or not code.get("commit"):
        raise ReproduceError(
            f"run {run.id} recorded no git commit; reproduce needs the run's code to have been "
            "in a git repository with at least one commit"
        )
    if not Path(code["root"]).is_dir():
        raise ReproduceError(
            f"the repository {code['root']} that run {run.id} came from is gone; "
            "run `tether reproduce` from a clone that has commit " + code["commit"]
        )
    return code, command


def reproduce(
    session: Session,
    run_id: str,
    *,
    exact_env: bool = False,
    scratch: Path | None = None,
    keep: bool = False,
    echo: Callable[[str], None] = print,
) -> ReproduceReport:
    store, objects = session.store, session.objects
    original = store.get_run(store.resolve_run_id(run_id))
    code, command = _check_reproducible(original)
    scratch = Path(scratch or tempfile.mkdtemp(prefix=f"tether-reproduce-{original.id[:13]}-"))
    with recorded_code(objects, code, scratch, keep=keep, echo=echo) as (src, workdir, warnings):
        warnings += _restore_inputs(session, original, workdir, echo)

        changes = _package_changes(session, original)
        python = sys.executable
        if exact_env:
            python = str(_exact_env(session, original, scratch, echo))
        else:
            for change in changes:
                warnings.append(f"package differs from the recorded environment: {change}")

        argv = _argv(python, command, Path(code["root"]), src, warnings)
        echo("running " + " ".join(argv))
        returncode, new_id = _rerun(session, original, argv, workdir, scratch)
        report = ReproduceReport(original.id, new_id, workdir, returncode, changes, [], warnings)
        if new_id is not None:
            report.comparisons = compare_runs(session, original.id, new_id)
        elif returncode == 0:
            warnings.append("the command finished but started no tracked run")
        return report


@contextlib.contextmanager
def recorded_code(
    objects: Any, code: dict[str, Any], scratch: Path, *, keep: bool, echo: Callable[[str], None]
) -> Iterator[tuple[Path, Path, list[str]]]:
    """The run's recorded commit checked out in a git worktree ``scratch/src``, with its
    recorded uncommitted diff applied: yields (source root, working folder, warnings). The
    worktree and ``scratch`` are removed afterwards unless ``keep``."""
    src = scratch / "src"
    repo = Path(code["root"])
    echo(f"checking out {code['commit'][:12]} into {src}")
    _git(repo, "worktree", "add", "--detach", "--force", str(src), code["commit"])
    warnings: list[str] = []
    try:
        if code.get("diff_digest"):
            echo(f"applying the recorded uncommitted diff ({code.get('diff_size')} bytes)")
            diff = objects.get_bytes(code["diff_digest"])
            _git(src, "apply", "--binary", "--whitespace=nowarn", "-", stdin=diff)
        if code.get("untracked"):
            warnings.append(
                "untracked files were not recorded and are missing: "
                + ", ".join(code["untracked"][:10])
            )
        workdir = src / (code.get("workdir") or "")
        workdir.mkdir(parents=True, exist_ok=True)
        yield src, workdir, warnings
    finally:
        if not keep:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", str(src)],
                capture_output=True,
                check=False,
            )
            shutil.rmtree(scratch, ignore_errors=True)


def _restore_inputs(
    session: Session, run: Run, workdir: Path, echo: Callable[[str], None]
) -> list[str]:
    warnings = []
    for io in session.store.list_run_io(run.id, "input"):
        if not io.name:
            warnings.append(f"input {io.kind} {io.ref} has no recorded path; not restored")
            continue
        dest = workdir / io.name
        if io.kind == "object":
            kind = session.store.get_object_record(io.ref).kind
        elif io.kind == "dataset_version":
            name, _, version = io.ref.rpartition("@")
            dv = session.store.get_dataset_version(session.project, name, int(version))
            kind, io = "tree", type(io)(io.run_id, io.direction, "object", dv.tree_digest, io.name)
        else:
            continue
        echo(f"restoring input {io.name} ({io.ref[:16]})")
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        if kind == "tree":
            session.objects.get_tree(io.ref, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            session.objects.get_file(io.ref, dest)
    return warnings


def _package_changes(session: Session, run: Run) -> list[PackageChange]:
    digest = (run.info.get("env") or {}).get("packages_digest")
    if not digest:
        return []
    try:
        return diff_packages(session.objects.get_bytes(digest))
    except NotFound:
        return []


def recorded_requirements(session: Session, run: Run) -> list[str]:
    """The run's package list as pip requirements, without Tether (installed from here)."""
    digest = (run.info.get("env") or {}).get("packages_digest")
    if not digest:
        raise ReproduceError(f"run {run.id} recorded no package list; drop --exact-env")
    lines = session.objects.get_bytes(digest).decode().splitlines()
    return [ln for ln in lines if ln.strip() and not ln.startswith("tether==")]


def _exact_env(session: Session, run: Run, scratch: Path, echo: Callable[[str], None]) -> Path:
    """A fresh virtual environment with the recorded packages; Tether itself from this install."""
    wanted = recorded_requirements(session, run)
    venv = scratch / "venv"
    echo(f"creating a virtual environment with {len(wanted)} recorded packages in {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = venv / "bin" / "python"
    requirements = scratch / "requirements.txt"
    requirements.write_text("\n".join(wanted) + "\n")
    import tether

    project_root = Path(tether.__file__).resolve().parent.parent
    for args in (["-r", str(requirements)], ["--no-deps", str(project_root)]):
        proc = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ReproduceError(
                "installing the recorded environment failed: "
                + proc.stderr.strip().splitlines()[-1:][0]
                if proc.stderr.strip()
                else "pip failed"
            )
    return python


def _argv(
    python: str, command: dict[str, Any], root: Path, src: Path, warnings: list[str]
) -> list[str]:
    argv = list(command["argv"])
    if any("***redacted***" in a for a in argv):
        warnings.append("the command line had secrets redacted; they are passed as recorded")
    if command.get("module"):
        return [python, "-m", command["module"], *argv[1:]]
    entry = command.get("entry_point")
    if not entry:
        raise InvalidInput("the run recorded no entry point to re-run")
    try:
        script = src / Path(entry).resolve().relative_to(root.resolve())
    except ValueError:
        raise ReproduceError(
            f"the entry point {entry} lies outside the repository {root}; "
            "it cannot be rebuilt from the commit"
        ) from None
    return [python, str(script), *argv[1:]]


def _rerun(
    session: Session, original: Run, argv: list[str], workdir: Path, scratch: Path
) -> tuple[int, str | None]:
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
    if session.settings.workspace is not None and not (workdir / ".tether").exists():
        from tether.config import init_workspace

        init_workspace(workdir, project=session.project)
    started = time.time()
    with open(scratch / "output.log", "wb") as log:
        proc = subprocess.run(
            argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    found = session.store.search_runs(
        session.project,
        Compare(Field("tags", "tether.reproduces"), "=", original.id),
        parse_order_by("start_time desc"),
        limit=1,
    )
    new = [r for r in found if r.start_time.timestamp() >= started - 1]
    return proc.returncode, new[0].id if new else None


def compare_runs(session: Session, original_id: str, new_id: str) -> list[Comparison]:
    store = session.store
    result = []
    old_out = {io.name or io.ref: io.ref for io in store.list_run_io(original_id, "output")}
    new_out = {io.name or io.ref: io.ref for io in store.list_run_io(new_id, "output")}
    for key in sorted(old_out.keys() | new_out.keys()):
        result.append(Comparison("output", key, old_out.get(key), new_out.get(key)))
    old_m = store.get_metric_summaries(original_id)
    new_m = store.get_metric_summaries(new_id)
    for key in sorted(old_m.keys() | new_m.keys()):
        result.append(
            Comparison("metric", key, _metric_text(old_m.get(key)), _metric_text(new_m.get(key)))
        )
    return result


def _metric_text(summary: Any) -> str | None:
    if summary is None:
        return None
    value = summary.last_value
    return "nan" if math.isnan(value) else repr(value)
