"""Registry tests: a fresh workspace per test, its store on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tether.tracking.lifecycle as lifecycle
from tests.support import isolate_from_machine
from tether.config import init_workspace
from tether.tracking.session import close_sessions


@pytest.fixture
def ws(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(root)
    isolate_from_machine(monkeypatch, tmp_path)
    monkeypatch.setenv("TETHER_STORE_URL", store_url)
    yield root
    for run in lifecycle.running():
        run.end("killed")
    close_sessions()


@pytest.fixture(scope="session")
def xy() -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 20))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    return x, y


@pytest.fixture(scope="session")
def clf(xy: tuple[Any, Any]) -> Any:
    from tests.models.flavors.support import need

    need("sklearn")
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(*xy)


@pytest.fixture(scope="session")
def clf2(xy: tuple[Any, Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=0.01).fit(*xy)
