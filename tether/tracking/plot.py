"""Metric curves of runs, drawn with matplotlib (the ``[plot]`` extra) to PNG, SVG or PDF."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tether.errors import InvalidInput, MissingDependency, NotFound
from tether.store.ids import short_id

if TYPE_CHECKING:
    from tether.tracking.view import RunView

FORMATS = (".png", ".svg", ".pdf")


def plot_metrics(runs: Sequence[RunView], keys: Sequence[str], out: Path) -> Path:
    if out.suffix.lower() not in FORMATS:
        raise InvalidInput(f"plot file {out} must end in one of {', '.join(FORMATS)}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependency("plotting metrics", "plot", "matplotlib") from None

    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 3.2 * len(keys)), squeeze=False)
    drawn = 0
    for ax, key in zip(axes[:, 0], keys, strict=True):
        for run in runs:
            try:
                history = run.metric_history(key)
            except NotFound:  # runs compared side by side need not share every metric
                continue
            ax.plot(
                [p.step for p in history],
                [p.value for p in history],
                label=f"{run.name or short_id(run.id)}",
                linewidth=1.4,
            )
            drawn += 1
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize="small")
    if drawn == 0:
        plt.close(fig)
        names = ", ".join(keys)
        raise InvalidInput(
            f"none of the runs logged {names}; `tether runs show RUN` lists the metrics a run has"
        )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
