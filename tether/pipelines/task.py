"""What an executor runs and what it hands back: small, picklable values.

A :class:`StepTask` says everything a worker needs without the metadata store: where the step's
code is (module path and qualified name, or a shell command), its params, the digests of its
inputs, the object store to read and write, and its timeout. The worker answers with a
:class:`StepResult`; only the calling process writes to the metadata store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.pipelines.values import StoredValue

if TYPE_CHECKING:
    from tether.tracking.recorder import RunLogs


@dataclass(frozen=True)
class FunctionRef:
    """Where a step function lives: ``module`` and ``qualname``, and its file as a fallback."""

    module: str
    qualname: str
    file: str | None = None

    def __str__(self) -> str:
        return f"{self.module}:{self.qualname}"


@dataclass(frozen=True)
class ShellSpec:
    command: str | tuple[str, ...]
    outputs: dict[str, str]  # output name -> relative path the command writes
    env: dict[str, str] | None = None


@dataclass(frozen=True)
class ObjectsSpec:
    """How a worker opens the object store (``ObjectStore(url, ...)``)."""

    url: str
    storage_options: dict[str, Any] = field(default_factory=dict)
    fsync: bool = False
    workers: int | None = None


@dataclass
class StepTask:
    step: str
    kind: str  # "python" | "shell"
    target: FunctionRef | None
    shell: ShellSpec | None
    params: dict[str, Any]
    inputs: dict[str, str]  # input name -> digest of the stored value
    packs: dict[str, int]
    outputs: tuple[str, ...]
    multi_output: bool
    objects: ObjectsSpec
    cache_dir: str
    scratch_dir: str
    cwd: str
    sys_path: tuple[str, ...] = ()
    timeout: float | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    trusted: tuple[str, ...] = ()
    attempt: int = 1
    run_id: str | None = None  # the step's run, as ``tether.active_run().id`` in the step
    fn: Any = field(default=None, compare=False)  # the function itself; never pickled

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["fn"] = None
        return state


@dataclass(frozen=True)
class StepResult:
    ok: bool
    outputs: dict[str, StoredValue]
    logs: StoredValue | None  # a blob (count 1, materializer "logs")
    duration_s: float
    error: str | None = None
    timed_out: bool = False
    logged: RunLogs | None = None  # what the step logged with tether.log_* (recorder.py)
