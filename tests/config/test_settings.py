from pathlib import Path

import pytest

from tether.config import InvalidSetting, init_workspace, load_settings


@pytest.fixture
def ws(tmp_path: Path):
    workspace, _ = init_workspace(tmp_path / "proj")
    return workspace


def test_defaults_live_in_the_workspace(ws) -> None:
    s = load_settings(ws, env={})
    assert s.project == "proj"  # init writes the folder name
    assert s.store_url == f"sqlite:///{ws.dir / 'tether.db'}"
    assert s.objects_url == str(ws.dir / "objects")
    assert s.resolved["store.url"].source == "default"
    assert s.resolved["core.project"].source == str(ws.config_path)
    assert s.objects_workers >= 1


def test_precedence_flag_env_workspace_user_default(ws, tmp_path: Path) -> None:
    user_dir = tmp_path / "xdg" / "tether"
    user_dir.mkdir(parents=True)
    (user_dir / "config.toml").write_text('[objects]\nworkers = 3\nurl = "/user/objects"\n')
    ws.config_path.write_text('[core]\nproject = "from-file"\n[objects]\nurl = "/ws/objects"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TETHER_CORE_PROJECT": "from-env"}

    s = load_settings(ws, flags={"core.project": "from-flag"}, env=env)
    assert (s.project, s.resolved["core.project"].source) == ("from-flag", "flag")

    s = load_settings(ws, env=env)
    assert (s.project, s.resolved["core.project"].source) == ("from-env", "env TETHER_CORE_PROJECT")
    assert s.objects_url == "/ws/objects"  # workspace beats user config
    assert s["objects.workers"] == 3  # user config beats the default
    assert s.resolved["objects.workers"].source.endswith("xdg/tether/config.toml")


def test_relative_paths_resolve_against_the_workspace_root(ws, tmp_path, monkeypatch) -> None:
    ws.config_path.write_text(
        '[objects]\nurl = "shared/objects"\n[store]\nurl = "sqlite:///meta/t.db"\n'
    )
    monkeypatch.chdir(tmp_path)
    s = load_settings(ws, env={})
    assert s.objects_url == str(ws.root / "shared" / "objects")
    assert s.store_url == f"sqlite:///{ws.root / 'meta' / 't.db'}"


def test_unknown_key_is_named(ws) -> None:
    ws.config_path.write_text('[store]\nulr = "x"\n')
    with pytest.raises(InvalidSetting, match=r"unknown setting 'store\.ulr'.*known settings"):
        load_settings(ws, env={})


def test_bad_value_names_key_and_source(ws) -> None:
    with pytest.raises(InvalidSetting, match=r"objects\.workers.*TETHER_OBJECTS_WORKERS"):
        load_settings(ws, env={"TETHER_OBJECTS_WORKERS": "many"})
    ws.config_path.write_text("[objects]\nworkers = true\n")
    with pytest.raises(InvalidSetting, match=r"objects\.workers.*config\.toml"):
        load_settings(ws, env={})


def test_invalid_toml_names_the_file(ws) -> None:
    ws.config_path.write_text("[core\nproject = 1\n")
    with pytest.raises(InvalidSetting, match=r"config\.toml is not valid TOML"):
        load_settings(ws, env={})


def test_no_workspace_needs_explicit_urls() -> None:
    s = load_settings(None, env={"TETHER_STORE_URL": "sqlite:////tmp/x.db"})
    assert s.store_url == "sqlite:////tmp/x.db"
    with pytest.raises(InvalidSetting, match="TETHER_OBJECTS_URL"):
        _ = s.objects_url
