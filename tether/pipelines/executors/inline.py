"""The inline executor: each step runs in the calling process, one at a time (for debugging).

Breakpoints and ``pdb`` work; ``print`` output is captured through ``sys.stdout``. A timeout is
enforced with SIGALRM when the pipeline runs in the main thread (elsewhere it is not).
"""

from __future__ import annotations

from concurrent.futures import Future

from tether.pipelines.executors.base import Executor
from tether.pipelines.task import StepResult, StepTask
from tether.pipelines.worker import execute_task


class InlineExecutor(Executor):
    name = "inline"
    max_workers = 1
    needs_import = False

    def submit(self, task: StepTask) -> Future[StepResult]:
        future: Future[StepResult] = Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(execute_task(task, in_process=True))
        except Exception as e:
            future.set_exception(e)
        return future
