"""Reference statistics, computed once per reference: for each numeric column its sorted
values (a quantile sample above SAMPLE_CAP), range, mean and deviation; for each categorical
column its category counts. A window is then compared in one pass over the window alone."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.monitoring.columns import Kind, column_kind, number_label, numeric_values, value_counts
from tether.monitoring.errors import CorruptProfile
from tether.monitoring.issues import Issue
from tether.monitoring.tables import Table

FORMAT = 1  # bump when the stored layout changes: old profiles are then rebuilt
SAMPLE_CAP = 1_000_000  # sorted reference values kept per numeric column
PROFILE_CELLS = 20_000_000  # reference values read at once while profiling (160 MB of float64)
FEW = 5  # a numeric column with at most this many distinct values is tested as categorical


@dataclass
class ColumnStats:
    kind: Kind
    type: str  # the Arrow type, as text
    rows: int
    nulls: int
    # numeric
    values: Any = None  # sorted float64, non-missing (a quantile sample above SAMPLE_CAP)
    count: int = 0  # non-missing values (all of them, not only the sample)
    min: float = 0.0
    max: float = 0.0
    mean: float = 0.0
    std: float = 0.0
    # categorical, and numeric columns with at most FEW distinct values
    categories: list[str] = field(default_factory=list)
    counts: Any = None

    @property
    def few(self) -> bool:
        """A numeric column with so few distinct values that it is tested as categorical."""
        return self.kind == "numeric" and self.counts is not None


@dataclass
class ReferenceProfile:
    """The statistics of one reference table; ``save``/``load`` keep it between processes."""

    label: str
    rows: int
    columns: dict[str, ColumnStats]
    issues: list[Issue] = field(default_factory=list)

    # where a stored profile came from (not saved): its object digest, and whether it was
    # read from the store (True) or computed in this process (False)
    digest: str | None = field(default=None, compare=False)
    stored: bool = field(default=False, compare=False)

    def to_bytes(self) -> bytes:
        """The profile as one ``.npz`` file's bytes: arrays, and a JSON record of the rest."""
        import io

        import numpy as np

        meta: dict[str, Any] = {
            "format": FORMAT,
            "label": self.label,
            "rows": self.rows,
            "issues": [i.to_dict() for i in self.issues],
            "columns": {},
        }
        arrays: dict[str, Any] = {}
        for i, (name, c) in enumerate(self.columns.items()):
            meta["columns"][name] = {
                "index": i,
                "kind": c.kind,
                "type": c.type,
                "rows": c.rows,
                "nulls": c.nulls,
                "count": c.count,
                "min": c.min,
                "max": c.max,
                "mean": c.mean,
                "std": c.std,
                "categories": c.categories,
                "has_counts": c.counts is not None,
            }
            if c.values is not None:
                arrays[f"v{i}"] = c.values
            if c.counts is not None:
                arrays[f"c{i}"] = c.counts
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    def save(self, path: str | Path) -> None:
        """Write the profile as one ``.npz`` file (atomically)."""
        from tether.config.atomic import write_bytes_atomic

        write_bytes_atomic(Path(path), self.to_bytes(), durable=False)

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        """A profile written by ``save``; CorruptProfile when the file is not one."""
        try:
            data = Path(path).read_bytes()
        except OSError as e:
            raise CorruptProfile(path, str(e) or type(e).__name__) from None
        return cls.from_bytes(data, str(path))

    @classmethod
    def from_bytes(cls, data: bytes, what: str) -> ReferenceProfile:
        """A profile from ``to_bytes``' output. Read as plain arrays and JSON, never
        unpickled (``allow_pickle=False``); anything that is not a profile of this FORMAT,
        or not a consistent one, is a CorruptProfile naming ``what``."""
        import io
        from zipfile import BadZipFile

        import numpy as np

        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                meta = json.loads(bytes(z["meta"]).decode())
                if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                    found = meta.get("format") if isinstance(meta, dict) else None
                    raise CorruptProfile(what, f"format {found}, not {FORMAT}")
                columns = {}
                for name, m in meta["columns"].items():
                    i = m["index"]
                    values = z[f"v{i}"] if f"v{i}" in z.files else None
                    counts = z[f"c{i}"] if m["has_counts"] else None
                    if values is not None and (values.dtype.kind != "f" or values.ndim != 1):
                        raise CorruptProfile(what, f"column {name}: values of {values.dtype}")
                    if counts is not None and (
                        counts.dtype.kind not in "iu" or len(counts) != len(m["categories"])
                    ):
                        raise CorruptProfile(what, f"column {name}: counts do not fit")
                    columns[name] = ColumnStats(
                        kind=m["kind"],
                        type=m["type"],
                        rows=m["rows"],
                        nulls=m["nulls"],
                        values=values,
                        count=m["count"],
                        min=m["min"],
                        max=m["max"],
                        mean=m["mean"],
                        std=m["std"],
                        categories=m["categories"],
                        counts=counts,
                    )
                issues = [Issue(**d) for d in meta["issues"]]
        except CorruptProfile:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError, BadZipFile) as e:
            raise CorruptProfile(what, str(e) or type(e).__name__) from None
        return cls(meta["label"], meta["rows"], columns, issues)


def _quantile_sample(values: Any, cap: int) -> Any:
    import numpy as np

    if len(values) <= cap:
        return values
    idx = np.linspace(0, len(values) - 1, cap).round().astype(np.int64)
    return values[idx]


def _numeric(t: Any, rows: int, chunks: list[Any]) -> ColumnStats:
    import numpy as np

    parts, nulls = [], 0
    for arr in chunks:
        v, n = numeric_values(arr)
        parts.append(v)
        nulls += n
    values = np.sort(np.concatenate(parts)) if parts else np.zeros(0)
    stats = ColumnStats("numeric", str(t), rows, nulls, count=len(values))
    if len(values):
        stats.min, stats.max = float(values[0]), float(values[-1])
        stats.mean, stats.std = float(values.mean()), float(values.std())
        # distinct values of a sorted array: the places where it changes
        change = np.flatnonzero(np.diff(values)) + 1
        if len(change) < FEW:
            starts = np.concatenate(([0], change))
            ends = np.concatenate((change, [len(values)]))
            stats.categories = [number_label(values[s]) for s in starts]
            stats.counts = (ends - starts).astype(np.int64)
    stats.values = _quantile_sample(values, SAMPLE_CAP)
    return stats


def _categorical(t: Any, rows: int, chunks: list[Any]) -> ColumnStats:
    import numpy as np

    totals: dict[str, int] = {}
    nulls = 0
    for arr in chunks:
        keys, counts, n = value_counts(arr)
        nulls += n
        for k, c in zip(keys, counts.tolist(), strict=True):
            totals[k] = totals.get(k, 0) + c
    cats = sorted(totals)
    counts = np.array([totals[k] for k in cats], dtype=np.int64)
    return ColumnStats("categorical", str(t), rows, nulls, categories=cats, counts=counts)


def profile_table(table: Table, columns: list[str] | None = None) -> ReferenceProfile:
    """The statistics of ``table`` (of ``columns``, default all). A numeric column's sorted
    values need the whole column at once, so the columns are read in groups of at most
    PROFILE_CELLS values: one pass for a reference of ordinary size, a bounded peak for a
    large one."""
    names = columns if columns is not None else table.names
    step = max(1, PROFILE_CELLS // max(table.num_rows, 1))
    out: dict[str, ColumnStats] = {}
    for k in range(0, len(names), step):
        group = names[k : k + step]
        chunks: dict[str, list[Any]] = {n: [] for n in group}
        for part, arrays in table.batches(group):
            for n, arr in zip(part, arrays, strict=True):
                chunks[n].append(arr)
        for n in group:
            t = table.schema.field(n).type
            kind = column_kind(t)
            if kind == "numeric":
                out[n] = _numeric(t, table.num_rows, chunks[n])
            elif kind == "categorical":
                out[n] = _categorical(t, table.num_rows, chunks[n])
            else:
                nulls = table.num_rows if kind == "null" else 0
                out[n] = ColumnStats(kind, str(t), table.num_rows, nulls)
            chunks[n] = []  # release the column's batches as soon as it is summarised
    return ReferenceProfile(table.label, table.num_rows, out, list(table.issues))
