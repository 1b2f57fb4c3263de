"""Editing the committed config: what the user wrote survives, hostile input never breaks it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tether.config import WorkspaceDir, init_workspace, load_settings
from tether.config.remote_checks import InvalidRemote
from tether.config.remote_edit import add_remote, remove_remote, set_default_remote

# Comments everywhere, odd spacing, quoted keys, an inline table, other tables before and
# after the remotes, a comment under a remote that introduces the table after it.
HAND_WRITTEN = """\
# Team settings -- reviewed in PRs.

[ core ]   # the basics
project   =   "churn"      # do not rename
remote="origin"

[remotes]
nas = { url = "../shared" }   # inline, on purpose

# where data goes
[remotes.origin]
# the team bucket
url   = 's3://team/tether'   # prod
endpoint_url = "http://minio.internal:9000"

[remotes."lab"]
url = "/lab"
# tuning below is per machine
[objects]
workers = 8   # tuned

[store]
url = \'\'\'sqlite:////srv/[remotes.fake]/tether.db\'\'\'
"""


@pytest.fixture
def ws(tmp_path: Path) -> WorkspaceDir:
    workspace, _ = init_workspace(tmp_path / "proj")
    workspace.config_path.write_text(HAND_WRITTEN)
    return workspace


def test_add_remove_default_change_only_their_lines(ws: WorkspaceDir, tmp_path: Path) -> None:
    path = ws.config_path
    assert load_settings(ws, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")}).remote().name == (
        "origin"
    )
    add_remote(path, "backup", "/mnt/backup")
    backup = '\n[remotes.backup]\nurl = "/mnt/backup"\n'
    assert path.read_text() == HAND_WRITTEN + backup

    set_default_remote(path, "backup")
    expected = HAND_WRITTEN.replace('remote="origin"', 'remote="backup"')
    assert path.read_text() == expected + backup

    # drops endpoint_url, keeps the comments and the quoting style
    add_remote(path, "origin", "s3://team/v2", force=True)
    expected = expected.replace("'s3://team/tether'", "'s3://team/v2'").replace(
        'endpoint_url = "http://minio.internal:9000"\n', ""
    )
    assert path.read_text() == expected + backup

    assert remove_remote(path, "backup") is True  # it was the default
    expected = expected.replace('remote="backup"\n', "")
    assert path.read_text() == expected

    remove_remote(path, "lab")  # the comment under it introduces [objects]: it stays
    expected = expected.replace('[remotes."lab"]\nurl = "/lab"\n', "")
    assert path.read_text() == expected

    remove_remote(path, "nas")  # an inline table: only its line goes
    inline = 'nas = { url = "../shared" }   # inline, on purpose\n'
    assert path.read_text() == expected.replace(inline, "")
    settings = load_settings(ws, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert list(settings.remotes) == ["origin"] and settings.default_remote is None


def test_a_new_default_goes_after_the_last_key_not_after_the_comments(ws: WorkspaceDir) -> None:
    path = ws.config_path
    path.write_text('[core]\nproject = "p"\n\n# the store, later\n[store]\n')
    set_default_remote(path, "origin")
    assert path.read_text() == (
        '[core]\nproject = "p"\nremote = "origin"\n\n# the store, later\n[store]\n'
    )


@pytest.mark.parametrize(
    "name",
    ['a"b', "a]b", "[x]", "a\nb", "a.b", "a b", "a'b", "", "-a", "x" * 65, "a=b", "é"],
)
def test_hostile_names_are_refused_and_the_file_is_untouched(ws: WorkspaceDir, name: str) -> None:
    with pytest.raises(InvalidRemote, match="invalid remote name"):
        add_remote(ws.config_path, name, "/x")
    with pytest.raises(InvalidRemote, match="invalid remote name"):
        set_default_remote(ws.config_path, name)
    assert ws.config_path.read_text() == HAND_WRITTEN


@pytest.mark.parametrize(
    "url",
    ['/data/with "quotes"', "/data/it's", "/data/back\\slash", '/x"]\n[core]', "/é/ü"],
)
def test_urls_with_quotes_are_quoted_and_read_back(
    ws: WorkspaceDir, tmp_path: Path, url: str
) -> None:
    if "\n" in url:
        with pytest.raises(InvalidRemote, match="control character"):
            add_remote(ws.config_path, "odd", url)
        assert ws.config_path.read_text() == HAND_WRITTEN
        return
    add_remote(ws.config_path, "odd", url)
    assert tomllib.loads(ws.config_path.read_text())["remotes"]["odd"] == {"url": url}
    settings = load_settings(ws, env={"XDG_CONFIG_HOME": str(tmp_path / "xdg")})
    assert settings.remotes["odd"].url == url


@pytest.mark.parametrize("bad", ["s3://b/x\ny", "s3://b/\tx", "s3://b/x\x00"])
def test_control_characters_in_urls_are_refused(ws: WorkspaceDir, bad: str) -> None:
    with pytest.raises(InvalidRemote, match="control character"):
        add_remote(ws.config_path, "r", bad)
    with pytest.raises(InvalidRemote, match="control character"):
        add_remote(ws.config_path, "r", "s3://b/x", endpoint_url="http://h:1/\nx")
    assert ws.config_path.read_text() == HAND_WRITTEN
