"""Errors of the pipelines layer; each names what went wrong and what to do."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tether.errors import IntegrityError, InvalidInput, NotFound, TetherError
from tether.store.ids import short_id


class PipelineError(TetherError):
    """A pipeline could not be built or run."""


class InvalidPipeline(InvalidInput):
    """A step or pipeline definition, or a call inside a pipeline, is malformed."""


class NotEncodable(InvalidPipeline):
    """A value has no canonical encoding; ``where`` names the part that failed."""

    def __init__(self, where: str, value: object) -> None:
        self.where = where
        self.type_name = type(value).__name__
        super().__init__(f"{where} is a {self.type_name}, which has no canonical encoding")


class NoMaterializer(InvalidInput):
    """No materialiser knows how to store a value of this type."""

    def __init__(self, what: str, value: object) -> None:
        kind = f"{type(value).__module__}.{type(value).__qualname__}"
        super().__init__(
            f"{what}: no materialiser stores values of type {kind}; return JSON-able data, "
            "bytes, a pathlib.Path, a NumPy array, a pandas DataFrame, an Arrow table or a "
            "scikit-learn estimator, or register one with "
            "tether.pipelines.register_materializer(...)"
        )


class UntrustedTypes(InvalidInput):
    """A stored estimator names types that were not trusted; nothing was unpickled."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = list(types)
        names = ", ".join(self.types)
        super().__init__(
            f"refusing to load a scikit-learn object that uses untrusted types: {names}; "
            "if you trust where it came from, call "
            f"tether.pipelines.trust_types({self.types!r}) before loading it"
        )


class MalformedValue(IntegrityError):
    """A stored value's file cannot be read as what its materialiser wrote."""

    def __init__(self, path: Path, kind: str, reason: str) -> None:
        self.path = path
        super().__init__(
            f"stored value {path} is malformed: not a readable {kind} file ({reason}); "
            "check it with `tether objects verify`, or run the step again to store it anew"
        )


class NotImportable(InvalidInput):
    """A step must be a module-level function importable by module path or file."""


class StepFailed(PipelineError):
    """A step raised, exited non-zero or ran out of time."""

    def __init__(self, step: str, error: str) -> None:
        self.step = step
        self.error = error
        super().__init__(f"step {step!r} failed: {error.strip().splitlines()[-1] if error else ''}")


class PipelineFailed(PipelineError):
    """A pipeline run ended ``failed``; ``failed`` names the steps that failed, ``result`` is
    the run (a ``PipelineRun``: the steps that finished, their outputs, each step's error)."""

    def __init__(self, run_id: str, failed: Sequence[str], result: Any = None) -> None:
        self.run_id = run_id
        self.failed = list(failed)
        self.result = result
        super().__init__(
            f"pipeline run {run_id} failed in step(s) {', '.join(self.failed)}; "
            f"see `tether pipeline show {short_id(run_id)}`, fix them and run "
            f"`tether pipeline resume {short_id(run_id)}`"
        )


class PipelineRunNotFound(NotFound):
    """The run is not a pipeline run."""
