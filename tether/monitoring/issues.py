"""Data quality issues: what a report lists besides drift."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

# kind -> what it means (docs/monitoring.md lists the same)
KINDS = {
    "added_column": "a column the current table has and the reference does not",
    "removed_column": "a column the reference has and the current table does not",
    "retyped": "a column whose type differs between the tables",
    "all_null": "a column with no values in one of the tables",
    "missing_values": "more missing values than in the reference",
    "out_of_range": "numeric values outside the reference's [min, max]",
    "unseen_categories": "categories the reference never had",
    "constant": "a column with a single value",
    "mixed_types": "values of several types in one column",
    "unsupported_type": "a column type no detector handles (not tested)",
    "empty": "a table with no rows",
    "small_reference": "a reference too small for a meaningful test",
}


@dataclass
class Issue:
    column: str | None
    kind: str
    detail: str
    share: float | None = None  # of the current table's rows, where it applies

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
