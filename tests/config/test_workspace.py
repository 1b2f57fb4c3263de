from pathlib import Path

import pytest

from tether.config import WorkspaceNotFound, find_workspace, init_workspace, load_settings


def test_init_writes_config_and_gitignore(tmp_path: Path) -> None:
    ws, created = init_workspace(tmp_path, project="churn")
    assert created
    assert 'project = "churn"' in ws.config_path.read_text()
    ignored = ws.dir.joinpath(".gitignore").read_text().split()
    assert "/tether.db" in ignored and "/objects/" in ignored
    assert "config.toml" not in ws.dir.joinpath(".gitignore").read_text()


def test_init_is_idempotent_and_keeps_edits(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path)
    ws.config_path.write_text('[core]\nproject = "edited"\n')
    again, created = init_workspace(tmp_path, project="other")
    assert not created and again == ws
    assert "edited" in ws.config_path.read_text()


def test_find_walks_up_from_a_subfolder(tmp_path: Path) -> None:
    ws, _ = init_workspace(tmp_path)
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_workspace(deep) == ws


def test_find_without_workspace_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match=r"no Tether workspace found.*tether init"):
        find_workspace(tmp_path)


@pytest.mark.parametrize("project", ['x"y', "it's", "a\\b", "[core]\nremote = 'x'", "é ü"])
def test_init_quotes_any_project_name(tmp_path: Path, project: str) -> None:
    ws, _ = init_workspace(tmp_path / "p", project)
    settings = load_settings(ws, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert settings.project == project
    assert settings.default_remote is None
