"""M1/M2/M3 drift detection: Tether against Evidently (DataDriftPreset) on the same Parquet
files, each tool in its own fresh process from start to verdict (imports included).

Data (seeded, generated once into benchmarks/.data/m1/): a reference of 100,000 rows and
windows of 1,000,000 (M1) and 100,000 rows (M2, M3), 50 columns: 40 numeric N(0, 1), of which
10 get a mean shift in the windows, and 10 categorical with 20 categories, of which 3 get a
changed distribution. A correct verdict flags exactly those 13 columns.

In M1 and M2 every tool reads the same two Parquet files (Tether profiles the reference in the
run). M3 is Tether's second window against a stored reference: the reference added as dataset
``m1-ref`` to a workspace, its profile stored by an untimed first comparison.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks import harness
from benchmarks.common import Options, anchor_bin, tether_python

WORKLOAD = "m1"
SEED = 16
N_NUM, N_CAT, N_CATS = 40, 10, 20
SHIFTED_NUM = [f"num_{i:02d}" for i in range(0, 40, 4)]  # 10 columns
SHIFTED_CAT = ["cat_0", "cat_4", "cat_8"]
SHIFTED = sorted(SHIFTED_NUM + SHIFTED_CAT)
RUNNER = harness.BENCH_DIR / "_monitor_runner.py"
# the Tether runner's split: imports; reference profile (computed in M1/M2, read in M3); window
PARTS = ("import_s", "reference_s", "window_s")
CHUNK_ROWS = 100_000
# evidently 0.7 imports a pandas internal that pandas 3 removed (see common.ANCHORS)
NANNYML = ["nannyml", "pandas<3", "statsmodels"]  # nannyml 0.13.1 imports statsmodels undeclared


def _probs(shifted: bool) -> Any:
    import numpy as np

    p = 1.0 / np.arange(1, N_CATS + 1) ** 0.8
    p = p / p.sum()
    return p[::-1].copy() if shifted else p


def _write(path: Path, rows: int, seed: int, shifted: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    cats = pa.array([f"c{k:02d}" for k in range(N_CATS)])
    tmp = path.with_suffix(".tmp")
    writer = None
    for start in range(0, rows, CHUNK_ROWS):
        n = min(CHUNK_ROWS, rows - start)
        cols: dict[str, Any] = {}
        for i in range(N_NUM):
            name = f"num_{i:02d}"
            shift = 0.2 + 0.05 * SHIFTED_NUM.index(name) if shifted and name in SHIFTED_NUM else 0
            cols[name] = rng.normal(shift, 1.0, n)
        for i in range(N_CAT):
            name = f"cat_{i}"
            idx = rng.choice(N_CATS, n, p=_probs(shifted and name in SHIFTED_CAT))
            cols[name] = pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32()), cats)
        table = pa.table(cols)
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    tmp.replace(path)


def data() -> dict[str, Path]:
    folder = harness.DATA_DIR / "m1"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "reference": (100_000, SEED, False),
        "m1": (1_000_000, SEED + 1, True),
        "m2": (100_000, SEED + 2, True),
        "m3": (100_000, SEED + 3, True),
    }
    out = {}
    for name, (rows, seed, shifted) in files.items():
        path = folder / f"{name}.parquet"
        meta = {"rows": rows, "seed": seed, "shifted": shifted, "columns": SHIFTED, "v": 1}
        if not harness._meta_ok(path, meta):
            harness.log(f"generating {path.name} ({rows:,} rows)")
            _write(path, rows, seed, shifted)
            harness._write_meta(path, meta)
        out[name] = path
    return out


def _tether_workspace(reference: Path) -> Path:
    """A workspace holding the reference as dataset ``m1-ref`` (made once)."""
    ws = harness.DATA_DIR / "m1" / "ws"
    marker = ws / ".m1-ready"
    if marker.exists():
        return ws
    harness.rmtree(ws)
    ws.mkdir(parents=True)
    tether = str(Path(sys.executable).parent / "tether")
    subprocess.run([tether, "init"], cwd=ws, check=True, capture_output=True)
    shutil.copy(reference, ws / "reference.parquet")
    subprocess.run(
        [tether, "data", "add", "reference.parquet", "--name", "m1-ref"],
        cwd=ws,
        check=True,
        capture_output=True,
    )
    marker.write_text("ok")
    return ws


def _verdict(r: harness.Result) -> str:
    flagged = set(r.samples[-1].extra.get("flagged", [])) if r.samples else set()
    wrong = sorted(flagged - set(SHIFTED))
    missed = sorted(set(SHIFTED) - flagged)
    ok = not wrong and not missed
    return f"{r.label}: flagged {len(flagged)} " + (
        "(exactly the 13 shifted)" if ok else f"(false: {wrong}, missed: {missed})"
    )


def run(opts: Options) -> list[harness.Result]:
    files = data()
    ws = _tether_workspace(files["reference"])
    py = str(tether_python())
    windows = {"M1": files["m1"], "M2": files["m2"]}
    results: list[harness.Result] = []
    jobs: list[harness.Case] = []

    def measured(cmd: list[str], cwd: Path | None = None) -> Any:
        return lambda _: harness.run_measured(cmd, cwd=cwd, timeout=opts.timeout, stdout_json=True)

    anchors: dict[str, Path | str] = {}
    for name, install in (("evidently", None), ("nannyml", NANNYML)):
        if opts.only and name not in opts.only:  # --only evidently,nannyml picks anchors
            continue
        try:
            anchors[name] = (
                anchor_bin(name) if install is None else harness.ensure_venv(name, install)
            )
        except Exception as e:  # an anchor that does not install is a row, not a crash
            anchors[name] = f"install failed: {e}"

    for case, window in windows.items():
        # the same Parquet files as the other tools: the reference is profiled in the run
        t = harness.Result(WORKLOAD, case, "tether", note="reference profiled in the run")
        results.append(t)
        jobs.append(
            harness.Case(
                t, measured([py, str(RUNNER), "tether", str(files["reference"]), str(window)])
            )
        )
        for name, b in anchors.items():
            if name == "nannyml" and case != "M2":
                continue
            a = harness.Result(WORKLOAD, case, name, baseline=f"{case}/tether")
            results.append(a)
            if isinstance(b, str):
                a.error = b
                continue
            cmd = [str(b / "python"), str(RUNNER), name, str(files["reference"]), str(window)]
            jobs.append(harness.Case(a, measured(cmd)))
    harness.run_cases(jobs, n=opts.repeat)

    # M3: a second window against the stored profile (stored in the workspace's object store
    # by one untimed run first, or by an earlier run of the benchmark: it is kept by tree digest)
    harness.run_measured(
        [py, str(RUNNER), "tether", "m1-ref@1", str(files["m2"])], cwd=ws, timeout=opts.timeout
    )
    m3 = harness.Result(WORKLOAD, "M3", "tether", baseline="M2/tether", note="stored profile")
    results.append(m3)
    harness.run_cases(
        [harness.Case(m3, measured([py, str(RUNNER), "tether", "m1-ref@1", str(files["m3"])], ws))],
        n=opts.repeat,
    )

    notes = [_verdict(r) for r in results if not r.error and r.samples]
    for r in results:
        if r.tool == "tether" and r.samples:
            parts = {k: [s.extra.get(k, 0.0) for s in r.samples] for k in PARTS}
            notes.append(
                f"{r.label} split (median): "
                + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in parts.items())
            )
    if m3.samples:
        stored = all(s.extra.get("profile_stored") for s in m3.samples)
        notes.append(f"M3 profile read from the store in every sample (none computed): {stored}")
    notes.append("time: inside the fresh process from before the first import to the verdict")
    notes.append("M3 ratio: M3 time / M2 time (what a second window costs of a first one)")
    notes.append("M3 reference_s: resolving the dataset version (the store), reading its profile")
    harness.print_table(
        f"M1/M2/M3 drift: 50 columns, 13 shifted, median of {opts.repeat}"
        " (ratio = other tool's time / Tether's)",
        results,
        notes,
    )
    extra = {"shifted": SHIFTED, "repeat": opts.repeat}
    extra["flagged"] = {r.label: r.samples[-1].extra.get("flagged") for r in results if r.samples}
    harness.save_results(WORKLOAD, results, extra)
    print(json.dumps({"verdicts": notes[:-2]}))
    return results
