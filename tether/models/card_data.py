"""What a model card shows, gathered from lineage (never typed by hand).

Conventions read here (docs/models.md, "Model cards"):

- an **evaluation** of ``name@v`` is a run that has the model version as an input and the tag
  ``tether.evaluation`` (any value; the data it used, say). Its metrics are the overall ones
  (``accuracy``) and per slice ``slices/<slice>/<metric>``, as ``Evaluation.flat_metrics()``
  names them;
- a **gate decision** is a run with the challenger version as an input and the tags
  ``tether.gate.passed`` (``true``/``false``) and ``tether.gate.reasons`` (one line per rule);
  a promotion carries its decision in the alias move's reason, which the history shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.store import AliasEvent, ModelVersion, Run
    from tether.workspace import Workspace

EVALUATION_TAG = "tether.evaluation"
GATE_PASSED_TAG = "tether.gate.passed"
GATE_REASONS_TAG = "tether.gate.reasons"
SLICE_PREFIX = "slices/"
# the packages a card lists from the environment, when installed
MAIN_PACKAGES = (
    "python",
    "tether",
    "numpy",
    "pandas",
    "pyarrow",
    "scikit-learn",
    "skops",
    "scipy",
    "xgboost",
    "lightgbm",
    "torch",
    "safetensors",
    "onnx",
    "onnxruntime",
)


@dataclass
class DataInput:
    ref: str
    files: int
    size: int
    tables: list[dict[str, Any]] = field(default_factory=list)  # path, rows, columns


@dataclass
class Evaluation:
    run_id: str
    time: str
    data: str
    overall: dict[str, float]
    slices: dict[str, dict[str, float]]


@dataclass
class Gate:
    run_id: str
    time: str
    passed: bool
    reasons: list[str]


@dataclass
class CardData:
    version: ModelVersion
    run: Run | None
    pipeline_run: Run | None
    data: list[DataInput]
    metrics: dict[str, float]
    evaluations: list[Evaluation]
    gates: list[Gate]
    history: list[AliasEvent]
    aliases: dict[str, int]
    packages: dict[str, str]


def signature_rows(signature: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """(input|output, name, dtype, shape) for each column or tensor of a stored signature."""
    for direction in ("inputs", "outputs"):
        schema = signature.get(direction) or {}
        for spec in schema.get("specs") or []:
            shape = spec.get("shape")
            yield (
                direction[:-1],
                str(spec.get("name") if spec.get("name") is not None else "(array)"),
                str(spec.get("dtype")),
                "" if shape is None else "x".join("n" if d == -1 else str(d) for d in shape),
            )


def gather(workspace: Workspace, ref: str) -> CardData:
    from tether.models.aliases import aliases_of
    from tether.models.refs import resolve

    store, project = workspace.store, workspace.project
    version = resolve(store, project, ref)
    run = _run(workspace, version.run_id)
    pipeline_run = _run(workspace, run.parent_id) if run is not None and run.parent_id else None
    refs: list[str] = []
    for r in (run, pipeline_run):
        if r is not None:
            refs += [
                io.ref for io in store.list_run_io(r.id, "input") if io.kind == "dataset_version"
            ]
    metrics: dict[str, float] = {}
    if run is not None:
        metrics = {k: s.last_value for k, s in store.get_metric_summaries(run.id).items()}
    evaluations, gates = _evaluations(workspace, f"{version.model}@{version.version}")
    return CardData(
        version=version,
        run=run,
        pipeline_run=pipeline_run,
        data=[_data_input(workspace, r) for r in dict.fromkeys(refs)],
        metrics=dict(sorted(metrics.items())),
        evaluations=evaluations,
        gates=gates,
        history=store.list_alias_events(project, version.model),
        aliases=aliases_of(version.model, workspace=workspace),
        packages=_packages(workspace, run),
    )


def _run(workspace: Workspace, run_id: str | None) -> Run | None:
    from tether.errors import NotFound

    if run_id is None:
        return None
    try:
        return workspace.store.get_run(run_id)
    except NotFound:
        return None


def _data_input(workspace: Workspace, ref: str) -> DataInput:
    from tether.data.table_summary import summarize_table, table_format
    from tether.errors import TetherError

    name, _, number = ref.rpartition("@")
    try:
        dv = workspace.store.get_dataset_version(workspace.project, name, int(number))
    except (TetherError, ValueError):
        return DataInput(ref + " (gone)", 0, 0)
    found = DataInput(ref, dv.file_count, dv.total_size)
    try:
        tree = workspace.objects.read_tree(dv.tree_digest)
    except TetherError:
        return found
    for entry in tree.entries:
        fmt = table_format(entry.path)
        if fmt is None:
            continue
        try:
            with workspace.objects.open(entry.digest) as f:
                summary = summarize_table(f, fmt)
        except TetherError:
            continue
        found.tables.append(
            {
                "path": entry.path,
                "rows": summary.num_rows,
                "columns": [(c.name, c.type, c.null_count) for c in summary.columns],
            }
        )
    return found


def _evaluations(workspace: Workspace, ref: str) -> tuple[list[Evaluation], list[Gate]]:
    store = workspace.store
    evaluations: list[Evaluation] = []
    gates: list[Gate] = []
    run_ids = dict.fromkeys(io.run_id for io in store.find_run_io("model_version", ref, "input"))
    for run_id in run_ids:
        run = _run(workspace, run_id)
        if run is None or run.deleted_at is not None:
            continue
        time = run.start_time.isoformat()[:19]
        if EVALUATION_TAG in run.tags:
            values = {k: s.last_value for k, s in store.get_metric_summaries(run.id).items()}
            overall = {k: v for k, v in values.items() if not k.startswith(SLICE_PREFIX)}
            slices: dict[str, dict[str, float]] = {}
            for key, value in values.items():
                if key.startswith(SLICE_PREFIX):
                    name, _, metric = key[len(SLICE_PREFIX) :].rpartition("/")
                    if name:
                        slices.setdefault(name, {})[metric] = value
            data = run.tags[EVALUATION_TAG]
            evaluations.append(
                Evaluation(run.id, time, data, dict(sorted(overall.items())), slices)
            )
        if GATE_PASSED_TAG in run.tags:
            reasons = run.tags.get(GATE_REASONS_TAG, "").splitlines()
            gates.append(Gate(run.id, time, run.tags[GATE_PASSED_TAG] == "true", reasons))
    evaluations.sort(key=lambda e: e.time)
    gates.sort(key=lambda g: g.time)
    return evaluations, gates


def latest_slices(evaluations: list[Evaluation]) -> dict[str, tuple[Evaluation, dict[str, float]]]:
    """Each slice's metrics from the latest evaluation that measured it."""
    latest: dict[str, tuple[Evaluation, dict[str, float]]] = {}
    for e in evaluations:  # oldest first: later ones win
        for name, values in e.slices.items():
            latest[name] = (e, values)
    return dict(sorted(latest.items()))


def _packages(workspace: Workspace, run: Run | None) -> dict[str, str]:
    from tether.errors import TetherError

    if run is None:
        return {}
    env = run.info.get("env") or {}
    found: dict[str, str] = {}
    if env.get("python_version"):
        found["python"] = str(env["python_version"])
    digest = env.get("packages_digest")
    if not digest:
        return found
    try:
        lines = workspace.objects.get_bytes(digest).decode("utf-8").splitlines()
    except (TetherError, UnicodeDecodeError):
        return found
    installed = dict(line.split("==", 1) for line in lines if "==" in line)
    for name in MAIN_PACKAGES:
        if name in installed:
            found[name] = installed[name]
    return found
