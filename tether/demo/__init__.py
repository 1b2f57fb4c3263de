"""``tether demo``: the whole embedded stack on a small, generated, deterministic example."""

from tether.demo.run import DemoResult, run_demo

__all__ = ["DemoResult", "run_demo"]
