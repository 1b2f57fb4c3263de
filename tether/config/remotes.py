"""Named remotes: where ``tether data push`` and ``pull`` send and fetch objects.

A remote is a ``[remotes.NAME]`` table of a config file with a ``url`` (a folder, ``s3://``,
``gs://`` or ``az://``) and, for S3-compatible services, an ``endpoint_url``; ``core.remote``
names the default one. Credentials never go into the config: S3 uses the usual AWS chain
(environment, ``~/.aws``, instance roles), GCS and Azure their own.

This module reads them (every command that loads settings does); checking names and URLs is
``remote_checks``, editing the committed config ``remote_edit``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.config.errors import InvalidSetting, NoDefaultRemote, UnknownRemote
from tether.config.remote_checks import (
    InvalidRemote,
    check_endpoint_for,
    check_name,
    check_url,
    url_scheme,
)

FIELDS = ("url", "endpoint_url")
"""The keys a ``[remotes.NAME]`` table may hold."""


@dataclass(frozen=True)
class Remote:
    """One configured remote. ``url`` is resolved: a local path is absolute."""

    name: str
    url: str
    endpoint_url: str | None = None
    source: str = ""

    @property
    def scheme(self) -> str:
        """``"file"`` for a folder, else the URL's scheme in lower case."""
        return url_scheme(self.url)

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"


def resolve_url(url: str, base: Path) -> str:
    """A remote URL from a config file with a relative folder path made absolute."""
    if "://" in url:
        return url
    path = Path(os.path.expanduser(url))
    return str(path if path.is_absolute() else (base / path).resolve())


def check_key(key: str, path: Path) -> None:
    """Raise InvalidSetting unless the dotted ``key`` is ``remotes.NAME.FIELD``."""
    parts = key.split(".")
    if len(parts) != 3 or parts[0] != "remotes":
        raise InvalidSetting(
            f"invalid remote setting {key!r} in {path}: write a table [remotes.NAME] with "
            'url = "..." (and optionally endpoint_url = "...")'
        )
    name, field = parts[1], parts[2]
    try:
        check_name(name)
    except InvalidRemote as e:
        raise InvalidSetting(f"{e} (in {path})") from None
    if field not in FIELDS:
        raise InvalidSetting(
            f"unknown field {field!r} of remote {name!r} in {path}; a remote has "
            f"{' and '.join(FIELDS)} (credentials come from the environment, never the config)"
        )


def remotes_from_config(flat: Mapping[str, Any], path: Path, base: Path) -> dict[str, Remote]:
    """The remotes of one config file read into ``{dotted.key: value}``.

    Relative folder paths are resolved against ``base`` (the workspace root).
    """
    tables: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        if key == "remotes" or key.startswith("remotes."):
            check_key(key, path)
            _, name, field = key.split(".")
            tables.setdefault(name, {})[field] = value
    found: dict[str, Remote] = {}
    for name, table in tables.items():
        where = f"remote {name!r} in {path}"
        if "url" not in table:
            raise InvalidSetting(f'{where} has no url; add url = "..." to [remotes.{name}]')
        try:
            if not isinstance(table["url"], str):
                raise InvalidRemote("url must be a string")
            url = check_url(table["url"])
            endpoint = table.get("endpoint_url")
            if endpoint is not None:
                if not isinstance(endpoint, str):
                    raise InvalidRemote("endpoint_url must be a string")
                endpoint = check_endpoint_for(url, endpoint)
        except InvalidRemote as e:
            raise InvalidSetting(f"{where}: {e}") from None
        found[name] = Remote(name, resolve_url(url, base), endpoint, str(path))
    return found


def select_remote(
    remotes: Mapping[str, Remote], default: str | None, name: str | None = None
) -> Remote:
    """The remote called ``name``, else the default one; a clear error when there is none."""
    if name is not None:
        if name not in remotes:
            raise UnknownRemote(name, remotes)
        return remotes[name]
    if default is None:
        raise NoDefaultRemote(remotes)
    if default not in remotes:
        raise UnknownRemote(
            default,
            remotes,
            " (core.remote names it as the default; fix it with `tether remote default NAME`)",
        )
    return remotes[default]
