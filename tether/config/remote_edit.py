"""``tether remote add/remove/default``: edit the remotes of the committed workspace config.

The edits keep what the user wrote (see ``toml_edit``); names and URLs are checked first, so a
hostile name or URL is refused and anything else is quoted by tomlkit, never breaking the file.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from tether.config.errors import RemoteExists
from tether.config.remote_checks import check_endpoint_for, check_name, check_url
from tether.config.remotes import UnknownRemote
from tether.config.toml_edit import ConfigNotEditable, TomlEditor, read_toml


def config_url(url: str, root: Path, cwd: Path | None = None) -> str:
    """The URL as written to the workspace config.

    A relative folder path typed on the command line means "relative to where I am"; in the
    config, relative paths are relative to the workspace root, so it is rewritten that way.
    """
    url = check_url(url)
    if "://" in url or url.startswith("~") or os.path.isabs(url):
        return url
    here = (cwd or Path.cwd()).resolve()
    absolute = (here / url).resolve()
    return os.path.relpath(absolute, root.resolve())


def _remotes(data: dict[str, Any], path: Path) -> dict[str, Any]:
    existing = data.get("remotes", {})
    if not isinstance(existing, dict):
        raise ConfigNotEditable(path, "'remotes' is not a table")
    return existing


def add_remote(
    path: Path,
    name: str,
    url: str,
    *,
    endpoint_url: str | None = None,
    force: bool = False,
    default: bool = False,
) -> None:
    """Write ``[remotes.NAME]`` (and ``core.remote`` with ``default``) to the config at ``path``.

    ``url`` is written as given (after validation). An existing remote of that name is an
    error unless ``force``; then its table is updated in place, keeping its comments.
    """
    check_name(name)
    url = check_url(url)
    endpoint = check_endpoint_for(url, endpoint_url) if endpoint_url is not None else None
    text, data = read_toml(path)
    existing = _remotes(data, path)
    if name in existing and not force:
        old = existing[name]
        raise RemoteExists(name, str(old.get("url", "?") if isinstance(old, dict) else old))

    expected = copy.deepcopy(data)
    table: dict[str, str] = {"url": url}
    if endpoint is not None:
        table["endpoint_url"] = endpoint
    expected.setdefault("remotes", {})[name] = table
    if default:
        expected.setdefault("core", {})["remote"] = name

    editor = TomlEditor(path, text)
    if name in existing:
        editor.set_value(("remotes", name), "url", url)
        if endpoint is None:
            editor.delete_value(("remotes", name), "endpoint_url")
        else:
            editor.set_value(("remotes", name), "endpoint_url", endpoint)
    else:
        editor.add_table(("remotes", name), table)
    if default:
        editor.set_value(("core",), "remote", name)
    editor.write(expected, f"adding remote {name!r}")


def remove_remote(path: Path, name: str) -> bool:
    """Remove ``[remotes.NAME]``; when it was the default, unset ``core.remote`` too.

    Returns whether it was the default. UnknownRemote when the file does not define it.
    """
    text, data = read_toml(path)
    existing = data.get("remotes", {})
    if not isinstance(existing, dict) or name not in existing:
        raise UnknownRemote(name, existing if isinstance(existing, dict) else {}, f" in {path}")
    core = data.get("core", {})
    was_default = isinstance(core, dict) and core.get("remote") == name
    expected = copy.deepcopy(data)
    del expected["remotes"][name]
    if was_default:
        del expected["core"]["remote"]

    editor = TomlEditor(path, text)
    editor.delete_table(("remotes", name))
    if was_default:
        editor.delete_value(("core",), "remote")
    editor.write(expected, f"removing remote {name!r}")
    return was_default


def set_default_remote(path: Path, name: str | None) -> None:
    """Set (or with None, unset) ``core.remote`` in the config at ``path``."""
    text, data = read_toml(path)
    if "core" in data and not isinstance(data["core"], dict):
        raise ConfigNotEditable(path, "'core' is not a table")
    expected = copy.deepcopy(data)
    editor = TomlEditor(path, text)
    if name is None:
        expected.get("core", {}).pop("remote", None)
        editor.delete_value(("core",), "remote")
    else:
        check_name(name)
        expected.setdefault("core", {})["remote"] = name
        editor.set_value(("core",), "remote", name)
    editor.write(expected, "setting core.remote")
