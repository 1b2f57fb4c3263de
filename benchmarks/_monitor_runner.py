"""One drift comparison in a fresh process, timed from before the first import to the verdict:
``python _monitor_runner.py TOOL REFERENCE CURRENT``. Prints one JSON line: op_s, flagged."""

import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

EXTRA: dict = {}


def tether(reference: str, current: str) -> list[str]:
    import tether.monitoring as tm

    t = time.perf_counter()
    EXTRA["import_s"] = t - T0
    profile = tm.profile(reference)  # computed, or read from the stored profile
    EXTRA["reference_s"] = time.perf_counter() - t
    EXTRA["profile_stored"] = profile.stored  # read from the store: nothing computed
    t = time.perf_counter()
    flagged = tm.drift(profile, current).drifted_columns  # the one pass over the window
    EXTRA["window_s"] = time.perf_counter() - t
    return flagged


def evidently(reference: str, current: str) -> list[str]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    result = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref).dict()
    flagged = []
    for m in result["metrics"]:
        cfg = m["config"]
        if not cfg.get("type", "").endswith("ValueDrift"):
            continue
        value, threshold = float(m["value"]), float(cfg["threshold"])
        pvalue = "p_value" in cfg["method"].lower().replace("-", "_")
        if (value < threshold) if pvalue else (value >= threshold):
            flagged.append(cfg["column"])
    return flagged


def nannyml(reference: str, current: str) -> list[str]:
    """NannyML sets its thresholds from the spread of a statistic over the reference's chunks,
    so both tables are cut into 10 chunks; a column is flagged when most window chunks alert."""
    import nannyml as nml
    import pandas as pd

    ref = pd.read_parquet(reference)
    cur = pd.read_parquet(current)
    cols = list(ref.columns)
    calc = nml.UnivariateDriftCalculator(
        column_names=cols,
        continuous_methods=["wasserstein"],
        categorical_methods=["jensen_shannon"],
        chunk_number=10,
    )
    calc.fit(ref)
    res = calc.calculate(cur).filter(period="analysis").to_df()
    flagged = []
    for c in cols:
        method = "wasserstein" if c.startswith("num") else "jensen_shannon"
        if res[(c, method, "alert")].astype(bool).mean() > 0.5:
            flagged.append(c)
    return flagged


if __name__ == "__main__":
    tool, reference, current = sys.argv[1:4]
    flagged = {"tether": tether, "evidently": evidently, "nannyml": nannyml}[tool](
        reference, current
    )
    op_s = time.perf_counter() - T0
    print(json.dumps({"op_s": op_s, "flagged": sorted(flagged), **EXTRA}))
