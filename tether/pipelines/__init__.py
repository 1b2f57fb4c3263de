"""Pipelines: ``@step`` and ``@pipeline``, cached steps, shell steps, executors, resume."""

from tether.pipelines.errors import (
    InvalidPipeline,
    MalformedValue,
    NoMaterializer,
    NotImportable,
    PipelineFailed,
    StepFailed,
    UntrustedTypes,
)
from tether.pipelines.executors import Executor, make_executor
from tether.pipelines.materializers import (
    Materializer,
    register_materializer,
    trust_types,
    unregister_materializer,
)
from tether.pipelines.metrics import Metrics
from tether.pipelines.pipeline_def import Pipeline, pipeline
from tether.pipelines.result import PipelineRun, StepRun
from tether.pipelines.resuming import get_pipeline_run, resume
from tether.pipelines.shell import shell_step
from tether.pipelines.step_def import Step, step

__all__ = [
    "Executor",
    "InvalidPipeline",
    "MalformedValue",
    "Materializer",
    "Metrics",
    "NoMaterializer",
    "NotImportable",
    "Pipeline",
    "PipelineFailed",
    "PipelineRun",
    "Step",
    "StepFailed",
    "StepRun",
    "UntrustedTypes",
    "get_pipeline_run",
    "make_executor",
    "pipeline",
    "register_materializer",
    "resume",
    "shell_step",
    "step",
    "trust_types",
    "unregister_materializer",
]
