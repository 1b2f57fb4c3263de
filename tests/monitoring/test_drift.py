"""drift(): known shifts found, unshifted data left alone, exact and streamed windows agree
with SciPy, data quality issues reported, bad input answered with a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy import stats as ss
from scipy.spatial.distance import jensenshannon

import tether.monitoring as tm
from tether.errors import InvalidInput

CATS = [f"c{i}" for i in range(8)]


def frame(rng: np.random.Generator, n: int, shift: float = 0.0, skew: bool = False) -> pd.DataFrame:
    p = np.linspace(1, 2, len(CATS))
    p = (p[::-1] if skew else p) / p.sum()
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.normal(0, 1, n),
            "color": rng.choice(CATS, n, p=p),
            "size": rng.choice(["s", "m", "l"], n),
        }
    )


def test_known_shift_is_flagged_and_nothing_else() -> None:
    rng = np.random.default_rng(1)
    report = tm.drift(frame(rng, 5_000), frame(rng, 8_000, shift=0.5, skew=True))
    assert report.drifted_columns == ["x", "color"]
    assert report.share_drifted == 0.5
    assert report.dataset_drift  # at the default share of 0.5
    tests = dict(zip(report.table["column"], report.table["test"], strict=True))
    assert tests == {
        "x": "wasserstein",
        "y": "wasserstein",
        "color": "jensenshannon",
        "size": "jensenshannon",
    }


def test_small_reference_uses_p_value_tests_matching_scipy() -> None:
    rng = np.random.default_rng(2)
    ref, cur = frame(rng, 400), frame(rng, 600, shift=0.4)
    report = tm.drift(ref, cur)
    x = report.table.set_index("column").loc["x"]
    expected = ss.ks_2samp(ref.x, cur.x, method="asymp")
    assert x.test == "ks"
    assert x.statistic == pytest.approx(expected.statistic)
    assert x.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    size = report.table.set_index("column").loc["size"]
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["size"], cur["size"]]
    )
    assert size.test == "chisquare"
    assert size.statistic == pytest.approx(ss.chi2_contingency(table, correction=False).statistic)
    ps = report.table["p_value"].to_numpy()
    np.testing.assert_allclose(report.table["adjusted_p"], ss.false_discovery_control(ps))
    assert "x" in report.drifted_columns


def test_streamed_window_agrees_with_scipy(tmp_path: Path) -> None:
    """A window too large to keep is compared on the reference grid: within 1% of SciPy."""
    rng = np.random.default_rng(3)
    ref, cur = frame(rng, 3_000), frame(rng, 60_000, shift=0.3, skew=True)
    path = tmp_path / "cur.parquet"
    pq.write_table(pa.Table.from_pandas(cur, preserve_index=False), path, row_group_size=7_000)
    report = tm.drift(ref, path, tests={"x": "ks", "y": "wasserstein", "color": "jensenshannon"})
    rows = report.table.set_index("column")
    assert rows.loc["x", "statistic"] == pytest.approx(
        ss.ks_2samp(ref.x, cur.x).statistic, abs=2e-3
    )
    w = ss.wasserstein_distance(ref.y, cur.y) / ref.y.std(ddof=0)
    assert rows.loc["y", "statistic"] == pytest.approx(w, abs=5e-3)
    r = ref.color.value_counts().reindex(CATS, fill_value=0)
    c = cur.color.value_counts().reindex(CATS, fill_value=0)
    assert rows.loc["color", "statistic"] == pytest.approx(jensenshannon(r, c))


def test_false_positive_rate_at_the_significance_level() -> None:
    """Unshifted samples: KS flags about alpha of the columns without correction, and the
    corrected verdict flags no more than that."""
    rng = np.random.default_rng(4)
    ref = pd.DataFrame(rng.normal(size=(300, 200)), columns=[f"f{i}" for i in range(200)])
    cur = pd.DataFrame(rng.normal(size=(300, 200)), columns=ref.columns)
    raw = tm.drift(ref, cur, correction=None)
    corrected = tm.drift(ref, cur)
    assert len(raw.drifted_columns) <= 200 * 0.05 * 2  # seeded: 10 expected, bounded by 20
    assert len(corrected.drifted_columns) <= 2


def test_distance_default_leaves_unshifted_large_data_alone() -> None:
    rng = np.random.default_rng(5)
    assert tm.drift(frame(rng, 20_000), frame(rng, 50_000)).drifted_columns == []


def test_prediction_and_target_reported_on_their_own() -> None:
    rng = np.random.default_rng(6)
    ref, cur = frame(rng, 3_000), frame(rng, 3_000)
    ref["pred"], cur["pred"] = rng.normal(0, 1, 3_000), rng.normal(1, 1, 3_000)
    ref["label"], cur["label"] = rng.choice(["a", "b"], 3_000), rng.choice(["a", "b"], 3_000)
    report = tm.drift(ref, cur, prediction="pred", target="label")
    assert report.prediction_drift is not None and report.prediction_drift.drift
    assert report.target_drift is not None and report.target_drift.drift is False
    assert "pred" not in report.drifted_columns
    assert len(report.features) == 4


def test_quality_issues() -> None:
    rng = np.random.default_rng(8)
    ref = frame(rng, 2_000)
    cur = frame(rng, 2_000)
    cur.loc[:299, "y"] = np.nan  # 15% missing
    cur.loc[:99, "x"] = 50.0  # out of the reference's range
    cur.loc[:49, "color"] = "brand-new"
    cur["size"] = "m"  # constant
    cur = cur.drop(columns=[]).assign(extra=1.0)
    cur["flag"] = None
    ref["flag"] = None
    ref["gone"] = 1
    ref["fixed"], cur["fixed"] = 3.0, rng.normal(3, 1, 2_000)  # constant, then not
    report = tm.drift(ref, cur, tests={"fixed": "wasserstein"})
    kinds = {(i.column, i.kind) for i in report.issues}
    assert "fixed" in report.drifted_columns  # anything but the one value is drift
    columns = {c["column"]: c for c in json.loads(report.to_json())["columns"]}
    assert columns["fixed"]["statistic"] == "inf"
    assert {
        ("y", "missing_values"),
        ("x", "out_of_range"),
        ("color", "unseen_categories"),
        ("size", "constant"),
        ("extra", "added_column"),
        ("gone", "removed_column"),
        ("flag", "all_null"),
        ("fixed", "constant"),
    } <= kinds


def test_retyped_column_is_reported_not_tested() -> None:
    rng = np.random.default_rng(9)
    ref, cur = frame(rng, 2_000), frame(rng, 2_000)
    cur["x"] = cur["x"].astype(str)
    report = tm.drift(ref, cur)
    assert ("x", "retyped") in {(i.column, i.kind) for i in report.issues}
    assert report.table.set_index("column").loc["x", "drift"] is None


def test_bad_input_never_crashes() -> None:
    rng = np.random.default_rng(10)
    ref = frame(rng, 500)
    # a reference with one row
    one = tm.drift(ref.head(1), ref)
    assert "small_reference" in {i.kind for i in one.issues}
    # an empty window
    empty = tm.drift(ref, ref.head(0))
    assert "empty" in {i.kind for i in empty.issues} and empty.drifted_columns == []
    # mixed types in a column
    mixed = ref.copy()
    mixed["size"] = ["a", 1, 2.5, None] * 125
    report = tm.drift(ref, mixed)
    assert ("size", "mixed_types") in {(i.column, i.kind) for i in report.issues}
    # a column all null in the current table
    nulls = ref.assign(x=np.nan)
    assert ("x", "all_null") in {(i.column, i.kind) for i in tm.drift(ref, nulls).issues}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"columns": ["nope"]}, "no column 'nope'"),
        ({"tests": {"nope": "ks"}}, "no column 'nope'"),
        ({"prediction": "nope"}, "no column 'nope'"),
        ({"tests": "nope"}, "no such test"),
        ({"tests": {"color": "ks"}}, "is categorical"),
        ({"alpha": 2.0}, "alpha"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs: dict, message: str) -> None:
    rng = np.random.default_rng(11)
    with pytest.raises(InvalidInput, match=message):
        tm.drift(frame(rng, 50), frame(rng, 50), **kwargs)


def test_unreadable_tables(tmp_path: Path) -> None:
    with pytest.raises(tm.UnreadableTable, match="got a list"):
        tm.drift([1, 2], pd.DataFrame({"a": [1]}))
    with pytest.raises(tm.UnreadableTable, match="no file"):
        tm.drift(pd.DataFrame({"a": [1]}), tmp_path / "missing.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet")
    with pytest.raises(tm.UnreadableTable, match=r"bad\.parquet"):
        tm.drift(pd.DataFrame({"a": [1]}), bad)


def test_json_round_trips_and_names_the_verdict() -> None:
    rng = np.random.default_rng(12)
    report = tm.drift(frame(rng, 2_000), frame(rng, 2_000, shift=1.0))
    doc = json.loads(report.to_json())
    assert doc["drifted_columns"] == ["x"]
    assert {c["column"] for c in doc["columns"]} == {"x", "y", "color", "size"}
    assert doc["dataset_drift"] is False


def test_profile_saved_and_loaded_gives_the_same_report(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    ref, cur = frame(rng, 2_000), frame(rng, 2_000, shift=0.5)
    prof = tm.profile(ref)
    prof.save(tmp_path / "p.npz")
    again = tm.ReferenceProfile.load(tmp_path / "p.npz")
    assert tm.drift(again, cur).to_dict()["columns"] == tm.drift(ref, cur).to_dict()["columns"]
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(tm.CorruptProfile, match=r"bad\.npz"):
        tm.ReferenceProfile.load(tmp_path / "bad.npz")


def test_large_reference_is_profiled_a_few_columns_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Profiling in column groups (a bounded peak for a large reference) gives the profile
    that one pass gives."""
    from tether.monitoring import reference

    rng = np.random.default_rng(14)
    ref = frame(rng, 3_000)
    path = tmp_path / "ref.parquet"
    pq.write_table(pa.Table.from_pandas(ref, preserve_index=False), path, row_group_size=700)
    cur = frame(rng, 3_000, shift=0.5)
    whole = tm.drift(path, cur).to_dict()
    monkeypatch.setattr(reference, "PROFILE_CELLS", 3_000)  # one column per group
    assert tm.drift(path, cur).to_dict() == whole
