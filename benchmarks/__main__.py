"""``python -m benchmarks WORKLOAD [--repeat N] [--quick]``: run one workload, print, save JSON."""

from __future__ import annotations

import argparse
import importlib
import sys

from benchmarks.common import Options

WORKLOADS = {
    "c1": ("benchmarks.c1", "start-up: import and CLI of Tether vs MLflow, DVC, Evidently", 5),
    "d1": ("benchmarks.d1", "one 2 GiB file: store it, vs dvc add, cat and BLAKE3", 3),
    "d2": (
        "benchmarks.d2",
        "20,000 files of 50 KiB: add, status, re-add, push, checkout, vs dvc",
        3,
    ),
    "d3": ("benchmarks.d3", "200,000 files of 1 KiB: add, status, push, vs dvc", 1),
    "t1": ("benchmarks.t1", "100 metrics x 1,000 steps into one run, vs MLflow (SQLite)", 3),
    "t2": ("benchmarks.t2", "create 10,000 runs and search them, vs MLflow (SQLite)", 1),
    "e1": ("benchmarks.e1", "log a scikit-learn model, load it by alias, vs MLflow (SQLite)", 5),
    "m1": ("benchmarks.m1", "drift of 50 columns (M1, M2, M3), vs Evidently and NannyML", 1),
    "s1": (
        "benchmarks.s1",
        "serve a LogisticRegression: tether serve vs mlflow, MLServer (wrk)",
        1,
    ),
    "p1": ("benchmarks.p1", "100 chained no-op steps, first and cached run, vs Metaflow", 3),
    "l0": ("benchmarks.l0", "continuous-training controller: one tick with nothing to do", 5),
    "l1": (
        "benchmarks.l1",
        "the whole loop: tether demo end to end, per phase, failed requests",
        3,
    ),
    "e2": (
        "benchmarks.e2",
        "model gate: 100,000 rows, 1,000 paired resamples, 3 slices, vs a scikit-learn loop",
        3,
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "workload",
        choices=sorted(WORKLOADS),
        help="; ".join(f"{k}: {v[1]}" for k, v in WORKLOADS.items()),
    )
    parser.add_argument(
        "--repeat", "-n", type=int, help="repetitions per case (default per workload)"
    )
    parser.add_argument("--quick", action="store_true", help="small variant for smoke runs")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed per repetition (default 900)"
    )
    parser.add_argument(
        "--only", help="comma-separated sub-benchmarks or tools, where a workload has them"
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="drop the page cache before each storing repetition (needs root; default: warm)",
    )
    args = parser.parse_args(argv)
    module_name, _, default_repeat = WORKLOADS[args.workload]
    opts = Options(
        repeat=args.repeat or default_repeat,
        quick=args.quick,
        timeout=args.timeout,
        only=set(args.only.split(",")) if args.only else None,
        cold=args.cold,
    )
    module = importlib.import_module(module_name)
    results = module.run(opts)
    return 1 if results and all(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
