"""One E1 step (log a model, or load it by alias and predict) in a fresh interpreter; prints
one JSON line. Run by path from the Tether venv or the MLflow venv: only the standard library is
imported at the top, each tool inside its own functions.

    python _models_runner.py log TOOL WORKSPACE     # fit (untimed), log (timed), set alias a
    python _models_runner.py load TOOL WORKSPACE    # load m@a, predict one row (whole process)

The workspace is the current folder, outside any git repository; Tether's was made with
``tether init``; MLflow's store is ``WORKSPACE/mlflow.db`` with artifacts under ``WORKSPACE``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

ROWS, FEATURES, SEED = 10_000, 20, 0  # S1's data (docs: benchmarks/README.md, E1)


def _data() -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=ROWS, n_features=FEATURES, random_state=SEED)


def _fit() -> tuple[Any, Any]:
    """The model E1_MODEL names: ``linear`` (the default, LogisticRegression) or ``forest``
    (RandomForestClassifier, 100 trees, seed 0)."""
    import numpy as np

    x, y = _data()
    np.save("row.npy", x[:1], allow_pickle=False)  # what the load step predicts on
    if os.environ.get("E1_MODEL", "linear") == "forest":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, random_state=SEED).fit(x, y), x
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=1000).fit(x, y), x


def _mlflow_uri() -> str:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    return "sqlite:///" + os.path.abspath("mlflow.db")


def _same_durability() -> None:
    """MLflow's SQLite with Tether's settings: WAL journal, synchronous=NORMAL."""
    import sqlalchemy as sa

    @sa.event.listens_for(sa.engine.Engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        if type(dbapi_conn).__module__.startswith("sqlite3"):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.close()


def log_tether() -> dict[str, Any]:
    clf, x = _fit()
    import skops.io  # noqa: F401  both sides import the format's library before the clock

    import tether
    import tether.models as tm
    import tether.models.publish
    from tether.tracking.session import open_session

    open_session()  # the store opened (and created) before the clock, as MLflow's is
    t0 = time.perf_counter()
    mv = tm.log(clf, "m", sample=x[:5])
    tether.flush()
    op = time.perf_counter() - t0
    tm.set_alias("m", "a", mv.version)
    return {"op_s": op, "version": mv.version}


def log_mlflow() -> dict[str, Any]:
    clf, x = _fit()
    import skops.io  # noqa: F401

    uri = _mlflow_uri()
    _same_durability()
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("e1", artifact_location=os.path.abspath("artifacts"))
    t0 = time.perf_counter()
    with mlflow.start_run(experiment_id=exp):
        # a forest's trees are a type skops does not trust by default: MLflow needs it named
        trusted = ["sklearn.tree._tree.Tree"] if "Forest" in type(clf).__name__ else None
        info = mlflow.sklearn.log_model(
            clf, name="model", input_example=x[:5], registered_model_name="m",
            **({"skops_trusted_types": trusted} if trusted else {}),
        )  # fmt: skip
    op = time.perf_counter() - t0
    version = int(info.registered_model_version)
    MlflowClient().set_registered_model_alias("m", "a", str(version))
    return {"op_s": op, "version": version}


def load_tether() -> dict[str, Any]:
    import numpy as np

    import tether.models as tm

    row = np.load("row.npy", allow_pickle=False)
    return {"prediction": int(tm.load("m@a").predict(row)[0])}


def load_mlflow() -> dict[str, Any]:
    uri = _mlflow_uri()
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # needed for skops models too
    _same_durability()
    import mlflow.pyfunc
    import numpy as np

    mlflow.set_tracking_uri(uri)
    row = np.load("row.npy", allow_pickle=False)
    return {"prediction": int(mlflow.pyfunc.load_model("models:/m@a").predict(row)[0])}


STEPS = {
    ("log", "tether"): log_tether,
    ("log", "mlflow"): log_mlflow,
    ("load", "tether"): load_tether,
    ("load", "mlflow"): load_mlflow,
}


def main() -> None:
    step, tool, workspace = sys.argv[1:4]
    os.chdir(workspace)
    print(json.dumps(STEPS[(step, tool)]()))


if __name__ == "__main__":
    main()
