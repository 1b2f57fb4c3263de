"""E1 log and load: a scikit-learn LogisticRegression (S1's data: 10,000 rows, 20 features,
seed 0) logged with a 5-row input example, then loaded by alias in a fresh process to predict
one row; Tether against MLflow (``mlflow.sklearn.log_model``, ``mlflow.pyfunc.load_model(
"models:/m@a")``), both on an embedded SQLite store with the same durability.

Both sides run in their own virtual environment with the same scientific stack (scikit-learn,
skops, NumPy, pandas and pyarrow at their latest releases, no PyTorch): MLflow's anchor venv,
and ``.venvs/tether-sklearn`` holding Tether's dependencies (Tether itself from this checkout).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import tomllib
from pathlib import Path

from benchmarks import harness
from benchmarks.common import Options, anchor_bin
from benchmarks.t1 import host_load

WORKLOAD = "e1"
RUNNER = harness.BENCH_DIR / "_models_runner.py"
ROOT = harness.BENCH_DIR.parent
TARGET_LOG = 20.0
TARGET_LOAD = 10.0


def tether_venv() -> Path:
    """The bin folder of a venv with Tether's dependencies plus scikit-learn, skops, pandas."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = meta["optional-dependencies"]
    packages = [*meta["dependencies"], *extras["sklearn"], *extras["pandas"]]
    return harness.ensure_venv("tether-sklearn", packages)


MODEL = os.environ.get("E1_MODEL", "linear")  # or "forest": a 100-tree RandomForestClassifier
MODELS = {"linear": "LogisticRegression(max_iter=1000)",
          "forest": "RandomForestClassifier(n_estimators=100, random_state=0)"}  # fmt: skip


def _env(tool: str) -> dict[str, str]:
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "E1_MODEL": MODEL}
    if tool == "tether":
        env["PYTHONPATH"] = str(ROOT)  # this checkout, not an installed release
    return env


def _new_workspace(tool: str, python: Path) -> Path:
    ws = Path(tempfile.mkdtemp(prefix=f"tether-bench-e1-{tool}-"))
    shutil.copy2(RUNNER, ws / RUNNER.name)
    if tool == "tether":
        cmd = [str(python), "-m", "tether", "init", str(ws)]
        harness.run_measured(cmd, cwd=ws, env=_env(tool), timeout=120)
    return ws


def _step(python: Path, ws: Path, step: str, tool: str, timeout: float) -> harness.Sample:
    cmd = [str(python), str(ws / RUNNER.name), step, tool, str(ws)]
    return harness.run_measured(cmd, cwd=ws, env=_env(tool), timeout=timeout, stdout_json=True)


def run(opts: Options) -> list[harness.Result]:
    n = opts.repeat
    load_before = host_load()
    pythons: dict[str, Path | Exception] = {}
    for tool, find in (("tether", tether_venv), ("mlflow", lambda: anchor_bin("mlflow"))):
        try:
            pythons[tool] = find() / "python"
        except Exception as e:  # a venv that could not be installed: an error row
            pythons[tool] = e
    if isinstance(pythons["tether"], Path):
        harness.byte_compile_checkout(pythons["tether"])  # as installed, like MLflow's modules
    log_rows = {t: harness.Result(WORKLOAD, "log", t) for t in ("tether", "mlflow")}
    load_rows = {t: harness.Result(WORKLOAD, "load+predict", t) for t in ("tether", "mlflow")}
    load_rows["tether"].note = "tether.models.load('m@a')"
    load_rows["mlflow"].note = "mlflow.pyfunc.load_model('models:/m@a')"
    log_rows["tether"].note = "tether.models.log(clf, 'm', sample=X[:5])"
    log_rows["mlflow"].note = "mlflow.sklearn.log_model(..., input_example, registered)"
    cases: list[harness.Case] = []
    workspaces: dict[str, Path] = {}
    for tool, python in pythons.items():
        if isinstance(python, Exception):
            log_rows[tool].error = load_rows[tool].error = str(python)
            continue
        if not opts.wants(tool):
            log_rows[tool].error = load_rows[tool].error = "skipped (--only)"
            continue

        def log_once(ws: Path, tool: str = tool, python: Path = python) -> harness.Sample:
            return _step(python, ws, "log", tool, opts.timeout)

        def setup(tool: str = tool, python: Path = python) -> Path:
            return _new_workspace(tool, python)

        def keep(ws: Path, tool: str = tool) -> None:
            old = workspaces.pop(tool, None)
            if old is not None:
                harness.rmtree(old)
            workspaces[tool] = ws  # the last logged model is the one the loads read

        cases.append(harness.Case(log_rows[tool], log_once, setup, keep))
    harness.run_cases(cases, n=n)

    load_cases = []
    for tool, ws in workspaces.items():
        python = pythons[tool]
        assert isinstance(python, Path)

        def load_once(
            _: None, tool: str = tool, python: Path = python, ws: Path = ws
        ) -> harness.Sample:
            sample = _step(python, ws, "load", tool, opts.timeout)
            sample.op_s = None  # the whole process is the measure
            return sample

        load_cases.append(harness.Case(load_rows[tool], load_once))
    harness.run_cases(load_cases, n=n, warmup=1)  # the warm-up fills Tether's per-tree cache
    for ws in workspaces.values():
        harness.rmtree(ws)

    for rows in (log_rows, load_rows):
        rows["mlflow"].baseline = rows["tether"].label
    results = [*log_rows.values(), *load_rows.values()]
    notes = [
        f"data: make_classification(10,000 x 20, seed 0), {MODELS[MODEL]},"
        " fitted untimed; input example: the first 5 rows",
        "log: time inside a fresh process around the call that makes the model version"
        " (Tether: tether.models.log + flush; MLflow: start_run + log_model with"
        " registered_model_name + end of run); fitting, imports of skops and of each tool's"
        " modules, and store creation are before the clock; alias set after it",
        "load+predict: the whole fresh process (interpreter start-up, imports, store, load,"
        " one-row predict); one untimed warm-up each (it fills Tether's per-tree cache);"
        " Tether's checkout byte-compiled first, as pip compiles an installed package",
        "both on SQLite with WAL and synchronous=NORMAL (MLflow's engine given Tether's"
        " pragmas); each side in its own venv with the same scikit-learn/skops stack, no torch",
        f"host: {load_before} before, {host_load()} after",
    ]
    notes += summary(log_rows, load_rows, pythons)
    harness.print_table(f"E1 log and load, median of {n}", results, notes)
    harness.save_results(WORKLOAD, results, {"repeat": n, "summary": notes})
    return results


def _ratio(anchor: harness.Result, tether: harness.Result) -> float | None:
    a, t = anchor.median, tether.median
    return a / t if a and t else None


def summary(
    log_rows: dict[str, harness.Result],
    load_rows: dict[str, harness.Result],
    pythons: dict[str, Path | Exception],
) -> list[str]:
    out = []
    for what, rows, target in (("log", log_rows, TARGET_LOG), ("load", load_rows, TARGET_LOAD)):
        q = _ratio(rows["mlflow"], rows["tether"])
        if q is not None:
            verdict = "meets" if q >= target else "MISSES"
            out.append(f"{what}: MLflow / Tether = {q:,.1f}x (target >= {target:.0f}x: {verdict})")
    floor = _import_floor(pythons)
    if floor[0]:
        out.append(floor[0])
        anchor = load_rows["mlflow"].median
        if anchor and floor[1]:
            out.append(
                f"ceiling: MLflow's load / the Tether venv's floor = {anchor / floor[1]:,.1f}x,"
                " the most a loader that imports scikit-learn could reach here"
            )
    return out


def _import_floor(pythons: dict[str, Path | Exception]) -> tuple[str, float | None]:
    """What a load that builds the estimator pays: a fresh ``import sklearn.linear_model``
    (which imports SciPy, pandas and pyarrow), in each venv (median of 3); and the Tether
    venv's. MLflow's load pays it; Tether's predicts with the NumPy predictor it saved."""
    parts, tether = [], None
    for tool, python in pythons.items():
        if isinstance(python, Exception):
            continue
        times = []
        for _ in range(3):
            try:
                module = "sklearn.ensemble" if MODEL == "forest" else "sklearn.linear_model"
                cmd = [str(python), "-c", f"import {module}"]
                s = harness.run_measured(cmd, timeout=300)
            except harness.CommandError:
                return "", None
            times.append(s.wall_s)
        parts.append(f"{tool} venv {statistics.median(times):.2f} s")
        if tool == "tether":
            tether = statistics.median(times)
    return (
        "floor: a fresh import of the model's scikit-learn module (MLflow's load builds the"
        " estimator; Tether's predicts with its saved NumPy predictor, no scikit-learn): "
        + ", ".join(parts),
        tether,
    )


if __name__ == "__main__":
    sys.exit("run it as: python -m benchmarks e1")
