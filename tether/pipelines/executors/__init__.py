"""Executors: where step tasks run (inline, local processes; Ray from the ``[ray]`` extra)."""

from tether.pipelines.executors.base import Executor
from tether.pipelines.executors.factory import make_executor

__all__ = ["Executor", "make_executor"]
