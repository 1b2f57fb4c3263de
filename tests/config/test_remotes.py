import tomllib
from pathlib import Path

import pytest

from tether.config import InvalidSetting, Settings, WorkspaceDir, init_workspace, load_settings
from tether.config.remote_checks import InvalidRemote, check_url
from tether.config.remote_edit import (
    RemoteExists,
    add_remote,
    config_url,
    remove_remote,
    set_default_remote,
)
from tether.config.remotes import NoDefaultRemote, Remote, UnknownRemote
from tether.config.toml_edit import ConfigNotEditable


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    workspace, _ = init_workspace(tmp_path / "proj")
    return workspace


def settings(ws: WorkspaceDir, tmp_path: Path) -> Settings:
    return load_settings(ws, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})


def test_add_keeps_comments_and_settings_read_it_back(ws: WorkspaceDir, tmp_path: Path) -> None:
    before = ws.config_path.read_text()
    add_remote(ws.config_path, "origin", "s3://bucket/tether", endpoint_url="http://127.0.0.1:9000")
    add_remote(ws.config_path, "backup", "../backup", default=True)
    text = ws.config_path.read_text()
    assert '[core]\nproject = "proj"\nremote = "backup"\n' in text
    # every line of the template is still there, unchanged; the remotes come at the end
    assert text.replace('remote = "backup"\n', "", 1) == before + (
        '\n[remotes.origin]\nurl = "s3://bucket/tether"\nendpoint_url = "http://127.0.0.1:9000"\n'
        '\n[remotes.backup]\nurl = "../backup"\n'
    )

    s = settings(ws, tmp_path)
    assert s.remotes["origin"] == Remote(
        "origin", "s3://bucket/tether", "http://127.0.0.1:9000", str(ws.config_path)
    )
    # relative folders are relative to the workspace root, wherever the command runs
    assert s.remotes["backup"].url == str(tmp_path / "backup")
    assert s.remotes["backup"].is_local
    assert s.default_remote == "backup"
    assert s.remote().name == "backup"
    assert s.remote("origin").endpoint_url == "http://127.0.0.1:9000"
    assert s.resolved["core.remote"].source == str(ws.config_path)


def test_core_remote_goes_into_the_existing_core_table(ws: WorkspaceDir) -> None:
    ws.config_path.write_text(
        "# top comment\n[core]\nproject = 'p'  # the project\n\n# about objects\n[objects]\n"
        "workers = 4\n"
    )
    add_remote(ws.config_path, "origin", "/data/remote", default=True)
    assert ws.config_path.read_text() == (
        "# top comment\n[core]\nproject = 'p'  # the project\nremote = \"origin\"\n\n"
        '# about objects\n[objects]\nworkers = 4\n\n[remotes.origin]\nurl = "/data/remote"\n'
    )
    set_default_remote(ws.config_path, None)
    assert "remote =" not in ws.config_path.read_text()
    assert "project = 'p'  # the project" in ws.config_path.read_text()


def test_duplicate_needs_force_which_edits_in_place(ws: WorkspaceDir, tmp_path: Path) -> None:
    ws.config_path.write_text(
        '[remotes.origin]\n# where the team keeps data\nurl = "s3://old/x"  # old bucket\n'
        'endpoint_url = "http://minio:9000"\n\n[objects]\nworkers = 2\n'
    )
    with pytest.raises(RemoteExists, match="--force"):
        add_remote(ws.config_path, "origin", "s3://new/y")
    add_remote(ws.config_path, "origin", "s3://new/y", force=True)
    assert ws.config_path.read_text() == (
        '[remotes.origin]\n# where the team keeps data\nurl = "s3://new/y"  # old bucket\n\n'
        "[objects]\nworkers = 2\n"
    )
    add_remote(
        ws.config_path, "origin", "s3://new/y", endpoint_url="https://s3.example", force=True
    )
    assert settings(ws, tmp_path).remotes["origin"].endpoint_url == "https://s3.example"


def test_remove_drops_only_that_table_and_the_default(ws: WorkspaceDir, tmp_path: Path) -> None:
    template = ws.config_path.read_text()
    add_remote(ws.config_path, "a", "/remote/a", default=True)
    add_remote(ws.config_path, "b", "/remote/b")
    with ws.config_path.open("a") as f:
        f.write("\n# tuning\n[objects]\nworkers = 3\n")
    assert remove_remote(ws.config_path, "a") is True
    text = ws.config_path.read_text()
    assert "[remotes.a]" not in text and "/remote/a" not in text and "remote = " not in text
    assert "[remotes.b]" in text and "# tuning\n[objects]\nworkers = 3" in text
    s = settings(ws, tmp_path)
    assert list(s.remotes) == ["b"] and s.default_remote is None
    assert remove_remote(ws.config_path, "b") is False
    assert ws.config_path.read_text().startswith(template)
    with pytest.raises(UnknownRemote, match="'b'"):
        remove_remote(ws.config_path, "b")


def test_no_default_and_unknown_remote_say_what_to_do(ws: WorkspaceDir, tmp_path: Path) -> None:
    with pytest.raises(NoDefaultRemote, match=r"tether remote add NAME URL --default"):
        settings(ws, tmp_path).remote()
    add_remote(ws.config_path, "origin", "/r")
    with pytest.raises(NoDefaultRemote, match=r"tether remote default NAME` \(origin\)"):
        settings(ws, tmp_path).remote()
    with pytest.raises(UnknownRemote, match=r"no remote named 'nope'.*origin"):
        settings(ws, tmp_path).remote("nope")
    set_default_remote(ws.config_path, "gone")
    with pytest.raises(UnknownRemote, match=r"core\.remote"):
        settings(ws, tmp_path).remote()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host/x", "unsupported remote URL scheme 'ftp'"),
        ("s3://AKIAXXX:hunter2@bucket/x", "never stores credentials"),
        ("s3://AKIAXXX@bucket/x", "user name or password"),
        ("az://user:pw@container/x", "user name or password"),
        ("az://container/x?sig=abc&sv=1", "query string"),
        ("s3://", "names no bucket"),
        ("", "empty"),
    ],
)
def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidRemote, match=message) as caught:
        check_url(url)
    assert "hunter2" not in str(caught.value) and "sig=abc" not in str(caught.value)


def test_good_urls_and_endpoints(ws: WorkspaceDir) -> None:
    for url in [
        "s3://b/p",
        "gs://b",
        "gcs://b/x",
        "az://c/p",
        "abfs://c@acct.dfs.core.windows.net/p",
    ]:
        assert check_url(url) == url
    with pytest.raises(InvalidRemote, match="only to s3://"):
        add_remote(ws.config_path, "g", "gs://b", endpoint_url="http://x:1")
    with pytest.raises(InvalidRemote, match="never stores credentials"):
        add_remote(ws.config_path, "s", "s3://b", endpoint_url="http://key:secret@minio:9000")
    with pytest.raises(InvalidRemote, match="expected http"):
        add_remote(ws.config_path, "s", "s3://b", endpoint_url="minio:9000")
    with pytest.raises(InvalidRemote, match="invalid remote name"):
        add_remote(ws.config_path, "bad.name", "/x")
    assert "remotes" not in tomllib.loads(ws.config_path.read_text())


def test_config_url_rewrites_relative_paths_against_the_root(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    sub = root / "src"
    sub.mkdir(parents=True)
    assert config_url("../../store", root, cwd=sub) == "../store"
    assert config_url("store", root, cwd=root) == "store"
    assert config_url("/abs/store", root, cwd=sub) == "/abs/store"
    assert config_url("s3://b/p", root, cwd=sub) == "s3://b/p"


def test_bad_remote_tables_in_a_config_file(ws: WorkspaceDir, tmp_path: Path) -> None:
    cases = {
        '[remotes.origin]\nurl = "/x"\ntoken = "s3cr3t"\n': "unknown field 'token'",
        '[remotes.origin]\nendpoint_url = "http://x:1"\n': "has no url",
        "[remotes]\norigin = 3\n": "invalid remote setting 'remotes.origin'",
        'remotes = "x"\n': "invalid remote setting 'remotes'",
        '[remotes.origin]\nurl = "ftp://x/y"\n': "unsupported remote URL scheme",
        '[remotes."a.b"]\nurl = "/x"\n': "invalid remote",
    }
    for text, message in cases.items():
        ws.config_path.write_text(text)
        with pytest.raises(InvalidSetting, match=message):
            settings(ws, tmp_path)


def test_user_config_remotes_and_workspace_override(ws: WorkspaceDir, tmp_path: Path) -> None:
    user = tmp_path / "xdg" / "tether" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text(
        '[core]\nremote = "team"\n[remotes.team]\nurl = "s3://team/x"\n'
        '[remotes.mine]\nurl = "/home/me/store"\n'
    )
    add_remote(ws.config_path, "mine", "/ws/store")
    s = settings(ws, tmp_path)
    assert s.remote().url == "s3://team/x" and s.remote().source == str(user)
    assert s.remotes["mine"].url == "/ws/store"


def test_other_forms_are_edited_as_written(ws: WorkspaceDir) -> None:
    ws.config_path.write_text('[core]\nproject = "p"\n[remotes]\norigin = { url = "/x" }  # old\n')
    add_remote(ws.config_path, "origin", "/y", force=True)
    assert ws.config_path.read_text() == (
        '[core]\nproject = "p"\n[remotes]\norigin = { url = "/y" }  # old\n'
    )
    remove_remote(ws.config_path, "origin")
    assert ws.config_path.read_text() == '[core]\nproject = "p"\n[remotes]\n'
    ws.config_path.write_text('core.project = "p"  # dotted\n')
    set_default_remote(ws.config_path, "x")
    assert ws.config_path.read_text() == 'core.project = "p"  # dotted\ncore.remote = "x"\n'


def test_an_edit_that_cannot_be_made_leaves_the_file_alone(ws: WorkspaceDir) -> None:
    # an inline `remotes` table cannot be extended by a [remotes.NAME] table
    text = 'remotes = { origin = { url = "/x" } }\n'
    ws.config_path.write_text(text)
    with pytest.raises(ConfigNotEditable, match="edit the file by hand"):
        add_remote(ws.config_path, "other", "/y")
    assert ws.config_path.read_text() == text
    assert not list(ws.dir.glob(".config.toml.*"))  # no temporary file left behind


def test_headers_inside_multiline_strings_and_crlf(ws: WorkspaceDir, tmp_path: Path) -> None:
    text = (
        '[core]\r\nproject = "p"\r\nnote = """\r\n[remotes.fake]\r\nurl = "/x"\r\n"""\r\n'
        '[remotes.real]\r\nurl = "/real"\r\n'
    )
    ws.config_path.write_bytes(text.encode())
    # `note` is not a known setting, so read it only as TOML here
    add_remote(ws.config_path, "real", "/new", force=True, default=True)
    data = ws.config_path.read_bytes().decode()
    assert "\n" not in data.replace("\r\n", "")
    parsed = tomllib.loads(data)
    assert parsed["core"]["note"] == '[remotes.fake]\r\nurl = "/x"\r\n'.replace("\r\n", "\n")
    assert parsed["remotes"] == {"real": {"url": "/new"}}
    assert parsed["core"]["remote"] == "real"
