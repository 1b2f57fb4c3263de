"""DriftReport: the per-column results, the dataset verdict and the quality issues of one
comparison, as a DataFrame, JSON or a self-contained HTML page."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tether.monitoring.issues import Issue


@dataclass
class ColumnResult:
    column: str
    kind: str  # numeric | categorical | null | unsupported
    role: str = "feature"  # feature | prediction | target
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None
    adjusted_p: float | None = None  # after the multiple-testing correction
    threshold: float | None = None  # alpha for a p-value test, the distance threshold else
    drift: bool | None = None  # None: not tested (see note)
    note: str | None = None
    reference_missing: float = 0.0  # shares of rows
    current_missing: float = 0.0
    reference_mean: float | None = None
    current_mean: float | None = None
    plot: dict[str, Any] | None = field(default=None, repr=False)


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


@dataclass
class DriftReport:
    reference: str
    current: str
    reference_rows: int
    current_rows: int
    columns: list[ColumnResult]
    issues: list[Issue]
    drift_share: float  # the share of drifted features at which the dataset has drifted
    correction: str | None

    @property
    def features(self) -> list[ColumnResult]:
        return [c for c in self.columns if c.role == "feature"]

    @property
    def drifted_columns(self) -> list[str]:
        """The features that drifted (prediction and target are reported on their own)."""
        return [c.column for c in self.features if c.drift]

    @property
    def share_drifted(self) -> float:
        tested = [c for c in self.features if c.drift is not None]
        return len(self.drifted_columns) / len(tested) if tested else 0.0

    @property
    def dataset_drift(self) -> bool:
        tested = any(c.drift is not None for c in self.features)
        return tested and self.share_drifted >= self.drift_share

    def _role(self, role: str) -> ColumnResult | None:
        return next((c for c in self.columns if c.role == role), None)

    @property
    def prediction_drift(self) -> ColumnResult | None:
        return self._role("prediction")

    @property
    def target_drift(self) -> ColumnResult | None:
        return self._role("target")

    @property
    def table(self) -> Any:
        """One row per column, as a pandas DataFrame."""
        import pandas as pd

        rows = [{k: v for k, v in asdict(c).items() if k != "plot"} for c in self.columns]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        def col(c: ColumnResult) -> dict[str, Any]:
            return {k: _finite(v) for k, v in asdict(c).items() if k != "plot"}

        return {
            "reference": self.reference,
            "current": self.current,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "dataset_drift": self.dataset_drift,
            "share_drifted": self.share_drifted,
            "drift_share": self.drift_share,
            "correction": self.correction,
            "drifted_columns": self.drifted_columns,
            "columns": [col(c) for c in self.columns],
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def to_html(self, path: str | Path | None = None, *, performance: Any = None) -> str:
        """The report as one HTML page (plots inline as SVG; no script, no network); written
        to ``path`` when one is given. ``performance``, a ``model_performance`` or
        ``performance`` table, adds a performance-over-time section."""
        from tether.monitoring.html import render

        page = render(self, performance=performance)
        if path is not None:
            from tether.config.atomic import write_text_atomic

            write_text_atomic(Path(path), page)
        return page

    def _repr_html_(self) -> str:
        from tether.monitoring.html import render

        return render(self, fragment=True)

    def __repr__(self) -> str:
        return (
            f"DriftReport({len(self.drifted_columns)} of "
            f"{sum(c.drift is not None for c in self.features)} columns drifted"
            f"{', dataset drift' if self.dataset_drift else ''}, {len(self.issues)} issues)"
        )
