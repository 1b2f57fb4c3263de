"""Continuous training: loops that retrain, gate and promote by themselves
(docs/continuous-training.md)."""

from tether.automation.controller import Controller, Outcome
from tether.automation.errors import InvalidLoopPolicy, LoopNotFound, TrainingFailed
from tether.automation.manual import trigger
from tether.automation.policy import LoopPolicy, load_loops
from tether.automation.signals import DRIFT, PERFORMANCE

__all__ = [
    "DRIFT",
    "PERFORMANCE",
    "Controller",
    "InvalidLoopPolicy",
    "LoopNotFound",
    "LoopPolicy",
    "Outcome",
    "TrainingFailed",
    "load_loops",
    "trigger",
]
