"""The executor interface: run step tasks somewhere, hand back futures of their results.

An executor is small on purpose. ``submit`` takes a picklable :class:`StepTask` and returns a
``concurrent.futures.Future`` of a :class:`StepResult`; the future must not raise for a failing
step (``execute_task`` turns failures into results), only for a broken executor. Executors
enforce ``task.timeout`` and may use ``task.resources``; the runner handles retries, caching and
tracking, and decides what runs when. A new executor (Ray, a batch system) wraps
``tether.pipelines.worker.execute_task``, which needs only the task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from concurrent.futures import Future
from types import TracebackType

from tether.pipelines.task import StepResult, StepTask


class Executor(ABC):
    name: str = "executor"
    max_workers: int = 1
    needs_import: bool = True
    """Whether steps must be importable by module path (False only when run in this process)."""

    @abstractmethod
    def submit(self, task: StepTask) -> Future[StepResult]: ...

    def shutdown(self, *, cancel: bool = False) -> None:  # noqa: B027 - optional hook
        """Release workers; ``cancel`` stops running tasks (Ctrl-C)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(cancel=exc is not None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_workers={self.max_workers})"
