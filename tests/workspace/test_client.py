"""``tether.Workspace``: one client for a workspace, under explicit settings, with the runs,
datasets, push, pull and checkout of that workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tether
from tests.support import isolate_from_machine
from tether.config import InvalidSetting, init_workspace
from tether.config.remote_edit import add_remote
from tether.tracking.session import close_sessions


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "ws"
    init_workspace(root, project="proj")
    monkeypatch.chdir(tmp_path)  # not inside the workspace: the client names it
    isolate_from_machine(monkeypatch, tmp_path)
    yield root
    close_sessions()


def test_an_explicit_workspace_runs_and_searches_under_its_overrides(root: Path) -> None:
    with tether.Workspace(root, project="other") as ws:
        with ws.run(name="a", capture=False) as run:
            run.log_metric("loss", 0.5)
        assert ws.project == "other"
        assert [r.name for r in ws.search_runs()] == ["a"]
        got = ws.get_run(run.id)
        assert isinstance(got, tether.Run)
        assert got.project == "other" and got.metrics == {"loss": 0.5}
    # the default project of that workspace holds no run
    assert tether.search_runs(workspace=root) == []
    assert [r.name for r in tether.search_runs(workspace=root, project="other")] == ["a"]


def test_search_runs_returns_a_list_that_gives_a_frame(root: Path) -> None:
    pytest.importorskip("pandas")
    ws = tether.Workspace(root)
    for i in range(2):
        with ws.run(name=f"r{i}", params={"i": i}, capture=False):
            pass
    found = ws.search_runs(order_by="name")
    assert isinstance(found, list) and isinstance(found, tether.RunList)
    assert list(found.to_pandas()["name"]) == ["r0", "r1"]


def test_settings_are_resolved_once_and_stores_opened_on_first_use(root: Path) -> None:
    ws = tether.Workspace(root, store_url=f"sqlite:///{root}/other.db")
    assert ws.settings.store_url == f"sqlite:///{root}/other.db"
    assert not (root / "other.db").exists()  # nothing opened yet
    ws.store.get_or_create_project(ws.project)
    assert (root / "other.db").exists()
    ws.close()


def test_an_unknown_override_is_refused(root: Path) -> None:
    with pytest.raises(InvalidSetting, match="unknown setting 'stor_url'"):
        tether.Workspace(root, stor_url="sqlite:///x.db")


def test_push_pull_and_checkout_through_the_client(root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote"
    add_remote(root / ".tether" / "config.toml", "origin", str(remote), default=True)
    (root / "images").mkdir()
    (root / "images" / "a.txt").write_text("alpha")
    ws = tether.Workspace(root)
    assert ws.add(root / "images", "images").version == 1
    pushed = ws.push()
    assert [f"{v.dataset}@{v.version}" for v in pushed.versions] == ["images@1"]
    assert pushed.report.copied >= 2

    clone = tmp_path / "clone"
    init_workspace(clone, project="proj")
    add_remote(clone / ".tether" / "config.toml", "origin", str(remote), default=True)
    other = tether.Workspace(clone)
    pulled = other.pull(["images"])
    assert [f"{v.dataset}@{v.version}" for v in pulled.registered] == ["images@1"]
    other.checkout("images@1", to=clone / "out")
    assert (clone / "out" / "a.txt").read_text() == "alpha"
    assert other.dataset("images@1").version == 1


def test_a_closed_workspace_opens_its_store_again_on_use(root: Path) -> None:
    with tether.Workspace(root) as ws, ws.run(name="first", capture=False):
        pass
    with ws.run(name="second", capture=False):  # after close: reopened, not a dead store
        pass
    assert sorted(r.name for r in ws.search_runs()) == ["first", "second"]


def test_plumbing_lives_in_its_packages_not_at_the_top() -> None:
    import tether.config
    import tether.objects
    import tether.store

    for name in ("open_store", "load_settings", "ObjectStore"):
        assert not hasattr(tether, name), f"tether.{name} is plumbing"
    assert tether.store.open_store and tether.config.load_settings and tether.objects.ObjectStore
    assert tether.Workspace.__module__ == "tether.client"
