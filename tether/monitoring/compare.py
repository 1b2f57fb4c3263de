"""``drift(reference, current)``: profile the reference (or reuse its stored profile), read the
current table once, run a detector per column, correct for the number of columns, and report
data quality issues along the way."""

from __future__ import annotations

from typing import Any

from tether.monitoring.cache import profile
from tether.monitoring.columns import column_kind
from tether.monitoring.detectors import (
    DETECTORS,
    Detector,
    default_detector,
    get_detector,
    run_detector,
)
from tether.monitoring.errors import BadSetting, UnknownColumn, UnknownTest
from tether.monitoring.issues import Issue
from tether.monitoring.reference import ColumnStats
from tether.monitoring.report import ColumnResult, DriftReport
from tether.monitoring.tables import read_table
from tether.monitoring.window import CategoricalWindow, NumericWindow

CORRECTIONS = ("bh", None)
MISSING_MARGIN = 0.01  # more missing values than the reference's share plus this: an issue
OUT_OF_RANGE_SHARE = 0.001  # a share of values outside the reference range worth reporting


def _check(alpha: float, drift_share: float, correction: str | None) -> None:
    if not 0 < alpha < 1:
        raise BadSetting(f"alpha must be between 0 and 1, not {alpha}")
    if not 0 < drift_share <= 1:
        raise BadSetting(f"drift_share must be in (0, 1], not {drift_share}")
    if correction not in CORRECTIONS:
        raise BadSetting(f"correction must be 'bh' or None, not {correction!r}")


def _test_for(
    name: str, kind: str, few: bool, ref_rows: int, tests: str | dict[str, str] | None
) -> Detector:
    """The test a column gets. ``kind`` is how it is tested by default: a numeric column
    with few values (``few``) as categorical, though numeric tests may still be asked for."""
    wanted = tests.get(name) if isinstance(tests, dict) else tests
    if wanted is None:
        return default_detector(kind, ref_rows)
    fits = {kind, "numeric"} if few else {kind}
    if isinstance(tests, str):  # one test for all columns: only where it applies
        found = DETECTORS[wanted]
        return found if fits & set(found.kinds) else default_detector(kind, ref_rows)
    return get_detector(
        wanted, "numeric" if few and wanted in ("ks", "wasserstein") else kind, name
    )


def drift(
    reference: Any,
    current: Any,
    *,
    columns: list[str] | None = None,
    tests: str | dict[str, str] | None = None,
    prediction: str | None = None,
    target: str | None = None,
    alpha: float = 0.05,
    threshold: float | None = None,
    drift_share: float = 0.5,
    correction: str | None = "bh",
    workspace: Any = None,
) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column.

    Either may be a pandas DataFrame, a pyarrow Table, a .parquet or .csv path, or a dataset
    reference (``"churn@4"``); ``reference`` may also be a :class:`ReferenceProfile`.
    ``tests`` is one test name for every column it fits, or a dict column -> test name.
    ``prediction`` and ``target`` name the model's output and the label: they are tested and
    reported on their own, not counted in the share of drifted features. A dataset reference
    is resolved in ``workspace`` (a :class:`tether.Workspace` or folder; default: found from
    the current folder).
    """
    _check(alpha, drift_share, correction)
    if isinstance(tests, str) and tests not in DETECTORS:
        raise UnknownTest(tests, f"no such test; the tests are: {', '.join(DETECTORS)}")
    prof = profile(reference, workspace=workspace)
    cur = read_table(current, "current", workspace)
    issues: list[Issue] = list(prof.issues) + list(cur.issues)
    roles = {n: r for n, r in ((prediction, "prediction"), (target, "target")) if n}

    ref_names = list(prof.columns)
    cur_names = cur.names
    every = ref_names + [n for n in cur_names if n not in prof.columns]
    for n in [*(columns or []), *roles, *(tests if isinstance(tests, dict) else [])]:
        if n not in prof.columns and n not in cur_names:
            raise UnknownColumn(n, every)
    names = every if columns is None else list(dict.fromkeys(columns + list(roles)))

    if cur.num_rows == 0:
        issues.append(Issue(None, "empty", "the current table has no rows", None))
    if prof.rows <= 1:
        issues.append(Issue(None, "small_reference", f"the reference has {prof.rows} row(s)", None))

    results: dict[str, ColumnResult] = {}
    windows: dict[str, NumericWindow | CategoricalWindow] = {}
    for n in names:
        ref = prof.columns.get(n)
        role = roles.get(n, "feature")
        if ref is None:
            issues.append(Issue(n, "added_column", "not in the reference"))
            results[n] = ColumnResult(
                n, column_kind(cur.schema.field(n).type), role, note="not in the reference"
            )
            continue
        if n not in cur_names:
            issues.append(Issue(n, "removed_column", "not in the current table"))
            results[n] = ColumnResult(n, ref.kind, role, note="not in the current table")
            continue
        cur_type = cur.schema.field(n).type
        cur_kind = column_kind(cur_type)
        res = results[n] = ColumnResult(n, ref.kind, role)
        res.reference_missing = ref.nulls / ref.rows if ref.rows else 0.0
        if ref.kind == "numeric" and ref.count:
            res.reference_mean = ref.mean
        if str(cur_type) != ref.type and cur_kind != "null" and ref.kind != "null":
            issues.append(Issue(n, "retyped", f"{ref.type} in the reference, {cur_type} now"))
        if ref.kind in ("null", "unsupported") or cur_kind == "unsupported":
            kind = ref.kind if ref.kind != "null" else cur_kind
            if kind == "unsupported":
                issues.append(Issue(n, "unsupported_type", f"type {ref.type}; not tested"))
                res.note = "type not supported"
            else:
                res.note = "no values in the reference"
                issues.append(Issue(n, "all_null", "no values in the reference"))
            continue
        if cur_kind != "null" and cur_kind != ref.kind:
            res.note = f"{ref.kind} in the reference, {cur_kind} now; not tested"
            continue
        if ref.count == 0 and ref.kind == "numeric":
            res.note = "no values in the reference"
            issues.append(Issue(n, "all_null", "no values in the reference"))
            continue
        windows[n] = NumericWindow(ref) if ref.kind == "numeric" else CategoricalWindow(ref)

    if windows and cur.num_rows:
        order = list(windows)
        for part, arrays in cur.batches(order):
            for n, arr in zip(part, arrays, strict=True):
                windows[n].add(arr)

    for n, w in windows.items():
        _evaluate(results[n], w, prof.rows, cur.num_rows, tests, threshold, issues)

    _correct(list(results.values()), alpha, correction)
    return DriftReport(
        prof.label,
        cur.label,
        prof.rows,
        cur.num_rows,
        list(results.values()),
        issues,
        drift_share,
        correction,
    )


def _evaluate(
    res: ColumnResult,
    w: NumericWindow | CategoricalWindow,
    ref_rows: int,
    cur_rows: int,
    tests: str | dict[str, str] | None,
    threshold: float | None,
    issues: list[Issue],
) -> None:
    n = res.column
    res.current_missing = w.nulls / cur_rows if cur_rows else 0.0
    if cur_rows and w.n == 0:
        res.note = "no values in the current table"
        issues.append(Issue(n, "all_null", "no values in the current table", 1.0))
        return
    if not cur_rows:
        res.note = "no rows in the current table"
        return
    if res.current_missing > res.reference_missing + MISSING_MARGIN:
        issues.append(
            Issue(
                n,
                "missing_values",
                f"{res.current_missing:.1%} missing, {res.reference_missing:.1%} in the reference",
                res.current_missing,
            )
        )
    ref: ColumnStats = w.ref
    kind = "categorical" if ref.few or isinstance(w, CategoricalWindow) else "numeric"
    single = ref.min == ref.max if ref.kind == "numeric" else len(ref.categories) == 1
    if single and ref.rows > 1:
        issues.append(Issue(n, "constant", "a single value in the reference"))
    if isinstance(w, NumericWindow):
        res.current_mean = w.sum / w.n
        outside = (w.under_n + w.over_n) / cur_rows
        if outside >= OUT_OF_RANGE_SHARE:
            issues.append(
                Issue(
                    n,
                    "out_of_range",
                    f"{outside:.2%} of values outside the reference's "
                    f"[{ref.min:.4g}, {ref.max:.4g}]",
                    outside,
                )
            )
        if w.min == w.max and w.n > 1 and ref.min != ref.max:
            issues.append(Issue(n, "constant", f"every value is {w.min:.6g}", 1.0))
    else:
        known = set(ref.categories)
        unseen = {k: c for k, c in w.counts.items() if k not in known}
        if unseen:
            share = sum(unseen.values()) / cur_rows
            shown = ", ".join(sorted(unseen)[:10]) + (" ..." if len(unseen) > 10 else "")
            issues.append(Issue(n, "unseen_categories", f"{len(unseen)} new: {shown}", share))
        if len(w.counts) == 1 and w.n > 1 and len(ref.categories) > 1:
            issues.append(Issue(n, "constant", f"every value is {next(iter(w.counts))!r}", 1.0))
    d = _test_for(n, kind, ref.few, ref_rows, tests)
    res.test = d.name
    res.statistic, res.p_value = run_detector(d, w)
    if not d.pvalue:
        res.threshold = d.threshold if threshold is None else threshold
        res.drift = bool(res.statistic >= res.threshold)
    res.plot = _plot(w)


def _plot(w: NumericWindow | CategoricalWindow) -> dict[str, Any]:
    if isinstance(w, NumericWindow) and not w.ref.few:
        return w.plot()
    from tether.monitoring.window import aligned

    counts = w.few if isinstance(w, NumericWindow) else w.counts
    assert counts is not None
    cats, ref, cur = aligned(w.ref.categories, w.ref.counts, counts)
    order = sorted(range(len(cats)), key=lambda i: -(ref[i] + cur[i]))[:30]
    rs, cs = max(int(ref.sum()), 1), max(int(cur.sum()), 1)
    return {
        "type": "categorical",
        "categories": [cats[i] for i in order],
        "reference": [int(ref[i]) / rs for i in order],
        "current": [int(cur[i]) / cs for i in order],
    }


def _correct(results: list[ColumnResult], alpha: float, correction: str | None) -> None:
    """Decide the p-value tests: features together (Benjamini-Hochberg by default),
    prediction and target each on its own."""
    from tether.monitoring.stats import benjamini_hochberg

    tested = [r for r in results if r.p_value is not None]
    features = [r for r in tested if r.role == "feature"]
    if features:
        ps = [r.p_value for r in features]
        adjusted = benjamini_hochberg(ps) if correction == "bh" else ps
        for r, q in zip(features, adjusted, strict=True):
            r.adjusted_p = float(q)
    for r in tested:
        if r.role != "feature":
            r.adjusted_p = r.p_value
        r.threshold = alpha
        assert r.adjusted_p is not None
        r.drift = bool(r.adjusted_p < alpha)
