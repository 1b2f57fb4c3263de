"""What the server holds: for each served reference the version being served, loaded and warmed
up, and the swap to a new version when its alias moves.

A request takes ``served.current`` once and uses that version for everything (validation,
the batch it joins, the response): a swap replaces the reference atomically, so no request
sees two versions, and requests already queued on the old version finish on it.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from tether.errors import TetherError
from tether.serving.batching import Batcher
from tether.serving.errors import BadRequest, LoadFailed, ServingError, UnknownModel
from tether.serving.source import ModelSource, Ref

log = logging.getLogger(__name__)


@dataclass
class Options:
    max_batch: int = 1024  # rows per model call
    max_wait_ms: float = 0.0  # the longest a batch waits for more requests (0: none)
    poll_s: float = 10.0  # how often each alias is checked; 0: only on POST .../load
    max_body: int = 16 << 20  # bytes
    trust: bool = False  # load_model(trust=...)
    # run the model in a thread of its own (True), in the event loop (False), or None: in the
    # loop when a full warm-up batch (max_batch rows) takes under FAST_S, else in a thread
    model_thread: bool | None = None


FAST_S = 0.002
LogBatch = Callable[["Version", list[Any], "tuple[Any, Any] | None", list[Any]], None]
"""Called in the event loop once a batch is answered: (the version, the requests' batcher
tags, the batch's (inputs, outputs), each request's result): the prediction log's hook."""


class Version:
    """One loaded model version with its batcher."""

    def __init__(
        self, name: str, version: int, loaded: Any, executor: ThreadPoolExecutor,
        opts: Options, on_batch: Any = None, log_batch: LogBatch | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.version = version
        self.loaded = loaded
        sig = loaded.signature
        self.inputs = None if sig is None else sig.inputs
        self.outputs = None if sig is None else sig.outputs
        from tether.serving.tensors import QuickTensor

        self.quick = QuickTensor.of(self.inputs)  # the common request, decoded in one step
        self._executor = executor
        self._mode = opts.model_thread
        self._log_batch = log_batch
        self._last_batch: tuple[Any, Any] | None = None  # the last batch's inputs and outputs
        self.batcher = Batcher(
            self._run,
            executor if opts.model_thread is not False else None,
            max_batch=opts.max_batch,
            max_wait_s=opts.max_wait_ms / 1e3,
            on_batch=on_batch,
            on_delivered=None if log_batch is None else self._delivered,
        )

    def conform(self, value: Any) -> Any:
        """``value`` checked against the signature and converted, or ``BadRequest``."""
        if self.inputs is None:
            return value
        from tether.models.conform import conform
        from tether.models.errors import SignatureError

        try:
            return conform(self.inputs, value)
        except SignatureError as e:
            if e.column is not None:
                raise BadRequest(str(e), input=e.column) from None
            from tether.serving.tensors import input_names

            name = input_names(self.inputs)[0]  # an unnamed array: the name clients send
            raise BadRequest(f"input {name!r}: {e}", input=name) from None

    def _run(self, values: list[Any], sizes: list[int]) -> list[Any]:
        from tether.serving.tensors import concat, split

        inputs = concat(values)
        outputs = self.loaded.predict_conformed(inputs)
        if self._log_batch is not None:  # (one batch at a time: read by ``_delivered``)
            self._last_batch = (inputs, outputs)
        return split(outputs, sizes)

    def _delivered(self, tags: list[Any], results: list[Any]) -> None:
        ran, self._last_batch = self._last_batch, None
        if self._log_batch is not None:
            self._log_batch(self, tags, ran, results)

    def warm_up(self) -> None:
        """Predict on the stored input example (loads caches, fails early). In auto mode, a
        model that answers a full batch fast runs in the event loop from now on: the example
        repeated to ``max_batch`` rows, so that a model quick on a few rows but slow on many
        (a forest, say) never holds up the loop for a whole batch."""
        example = self.loaded.input_example()
        if example is None:
            return
        self.loaded.predict(example)
        if self._mode is not None:
            return
        started = time.perf_counter()
        self.loaded.predict(example)
        if time.perf_counter() - started >= FAST_S:
            return
        from tether.serving.tensors import full_batch

        batch = full_batch(example, self.batcher.max_batch)
        try:
            self.loaded.predict(batch)
            started = time.perf_counter()
            self.loaded.predict(batch)
        except Exception as e:  # only where batches run is at stake: the model serves
            log.warning(
                "%s v%d: a %d-row warm-up batch failed (%s: %s); batches run in its thread",
                self.name, self.version, self.batcher.max_batch, type(e).__name__, e,
            )  # fmt: skip
            return
        if time.perf_counter() - started < FAST_S:
            self.batcher.in_loop()

    @property
    def in_loop(self) -> bool:
        return self.batcher.runs_in_loop


class Served:
    """One served reference: the version now served, and why the last load failed."""

    def __init__(self, ref: Ref) -> None:
        self.ref = ref
        self.current: Version | None = None
        self.error: str | None = None
        self.failed_version: int | None = None
        self.executor = ThreadPoolExecutor(1, thread_name_prefix=f"tether-model-{ref.name}")
        self.lock = threading.Lock()  # one load at a time


class Repository:
    def __init__(
        self,
        source: ModelSource,
        refs: list[Ref],
        opts: Options,
        metrics: Any = None,
        log_batch: LogBatch | None = None,
    ) -> None:
        names = [r.name for r in refs]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ServingError(f"model {sorted(dup)[0]!r} is named twice; serve each model once")
        if not refs:
            raise ServingError("no model to serve: name at least one NAME@ALIAS")
        self.source = source
        self.opts = opts
        self.metrics = metrics
        self.log_batch = log_batch
        self.served = {r.name: Served(r) for r in refs}

    def get(self, name: str) -> Served:
        try:
            return self.served[name]
        except KeyError:
            raise UnknownModel(name, sorted(self.served)) from None

    @property
    def ready(self) -> bool:
        return all(s.current is not None for s in self.served.values())

    def load_all(self) -> None:
        """Load every model (at start-up: the first failure raises)."""
        for s in self.served.values():
            self.refresh(s.ref.name, raise_errors=True)

    def refresh(self, name: str, *, raise_errors: bool = False) -> Version | None:
        """Serve the version the reference names now, if it is not already served.

        A version that fails to load is reported (``error``, metrics, log) and not tried again
        until the alias moves or a load is asked for; the previous version keeps serving.
        """
        s = self.get(name)
        with s.lock:
            try:
                version = self.source.version_of(s.ref)
            except TetherError as e:
                s.error = str(e)
                if raise_errors:
                    raise
                log.error("%s", e)
                return s.current
            if s.current is not None and s.current.version == version:
                return s.current
            if s.failed_version == version and not raise_errors:
                return s.current
            try:
                new = self._load(s, version)
            except LoadFailed as e:
                s.error, s.failed_version = str(e), version
                if self.metrics is not None:
                    self.metrics.reload_failures.labels(name).inc()
                log.error("%s; still serving version %s", e, s.current and s.current.version)
                if raise_errors:
                    raise
                return s.current
            old, s.current = s.current, new  # the swap
            s.error, s.failed_version = None, None
            if self.metrics is not None:
                self.metrics.version.labels(name).set(version)
            log.info(
                "serving %s version %d%s", s.ref, version,
                f" (was {old.version})" if old is not None else "",
            )  # fmt: skip
            return new

    def _load(self, s: Served, version: int) -> Version:
        from tether.models import load_model

        name = s.ref.name
        try:
            folder = self.source.folder(name, version)
            loaded = load_model(folder, trust=self.opts.trust)
            on_batch = None
            if self.metrics is not None:
                on_batch = functools.partial(self.metrics.observe_batch, name)
            v = Version(name, version, loaded, s.executor, self.opts, on_batch, self.log_batch)
            v.warm_up()
        except TetherError as e:
            raise LoadFailed(name, version, str(e)) from None
        except Exception as e:  # a model library failing in warm-up
            raise LoadFailed(name, version, f"{type(e).__name__}: {e}") from None
        return v

    def close(self) -> None:
        for s in self.served.values():
            s.executor.shutdown(wait=True)
