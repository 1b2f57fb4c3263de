"""Named remotes: where ``tether data push`` and ``pull`` send and fetch objects.

A remote is a ``[remotes.NAME]`` table of a config file with a ``url`` (a folder, ``s3://``,
``gs://`` or ``az://``) and, for S3-compatible services, an ``endpoint_url``; ``core.remote``
names the default one. Credentials never go into the config: S3 uses the usual AWS chain
(environment, ``~/.aws``, instance roles), GCS and Azure their own.

The workspace config is committed and commented, so editing it rewrites only the lines of the
table or key that changes; the result is parsed again and compared with the intended settings
before it atomically replaces the file.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tether.config.atomic import write_text_atomic
from tether.config.errors import InvalidSetting
from tether.errors import ConfigError, Conflict, InvalidInput, NotFound

FIELDS = ("url", "endpoint_url")
"""The keys a ``[remotes.NAME]`` table may hold."""

SCHEMES = ("file", "s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")
"""URL schemes of remotes (besides plain folder paths); the object store implements each."""

ACCEPTED = "a folder path, file://, s3://, gs:// (or gcs://), az:// (or abfs://)"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


class UnknownRemote(NotFound):
    """No remote has the name that was asked for."""

    def __init__(self, name: str, known: Mapping[str, object], why: str = "") -> None:
        self.name = name
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"no remote named {name!r}{why}; configured remotes: {listed}; "
            f"add it with `tether remote add {name} URL`"
        )


class NoDefaultRemote(ConfigError):
    """A command needs a remote, none was named and ``core.remote`` is not set."""

    def __init__(self, known: Mapping[str, object]) -> None:
        hint = ""
        if known:
            names = ", ".join(sorted(known))
            hint = f", or make one the default with `tether remote default NAME` ({names})"
        super().__init__(
            "no default remote is configured; pass --remote NAME, add one with "
            f"`tether remote add NAME URL --default`{hint}"
        )


class RemoteExists(Conflict):
    """``remote add`` of a name that is already configured, without ``--force``."""

    def __init__(self, name: str, url: str) -> None:
        super().__init__(
            f"remote {name!r} already exists (url {url}); pass --force to replace it, or "
            f"remove it first with `tether remote remove {name}`"
        )


class InvalidRemote(InvalidInput):
    """A remote name, URL or endpoint is malformed; the message says which and why."""


class ConfigNotEditable(ConfigError):
    """The config file cannot be changed line by line without risking its other content."""

    def __init__(self, path: Path, what: str) -> None:
        super().__init__(
            f"cannot update {path} safely ({what}); edit the file by hand, "
            "see docs/remotes.md for the format"
        )


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


# -- checking names and URLs -------------------------------------------------------------


def check_name(name: str) -> str:
    """A remote name: letters, digits, ``_`` and ``-``, up to 64, starting with a letter/digit."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidRemote(
            f"invalid remote name {name!r}: use letters, digits, '_' and '-' (up to 64, "
            "starting with a letter or digit)"
        )
    return name


def url_scheme(url: str) -> str:
    if "://" not in url:
        return "file"
    return url.split("://", 1)[0].lower()


def _credentials_problem(url: str) -> str | None:
    """Why ``url`` looks like it embeds a secret, or None."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        # az://container@account.dfs.core.windows.net names a container, not a user
        if scheme not in ("az", "abfs", "abfss") or ":" in userinfo:
            return "it holds a user name or password before '@'"
    if parts.query or parts.fragment:
        return "it has a query string (which can carry tokens such as SAS signatures)"
    return None


def check_url(url: str) -> str:
    """Validate a remote URL and return it stripped; InvalidRemote says what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRemote("the remote URL is empty; give " + ACCEPTED)
    url = url.strip()
    scheme = url_scheme(url)
    if scheme not in SCHEMES:
        raise InvalidRemote(f"unsupported remote URL scheme {scheme!r} in {url!r}; use {ACCEPTED}")
    problem = _credentials_problem(url) if "://" in url else None
    if problem:
        raise InvalidRemote(
            f"refusing remote URL {_redact(url)}: {problem}; Tether never stores credentials "
            "in the config, which is committed to git. Give the URL without them and provide "
            "credentials the usual way (S3: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
            "AWS_PROFILE and ~/.aws/credentials; GCS: GOOGLE_APPLICATION_CREDENTIALS; "
            "Azure: AZURE_STORAGE_* variables or `az login`)"
        )
    if scheme == "file" and "://" in url and not urlsplit(url).path:
        raise InvalidRemote(f"remote URL {url!r} names no folder")
    if scheme != "file" and not url.split("://", 1)[1].strip("/"):
        raise InvalidRemote(f"remote URL {url!r} names no bucket or container")
    return url


def check_endpoint(url: str) -> str:
    """Validate an S3 endpoint URL (``http(s)://host[:port]``) and return it stripped."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidRemote("the endpoint URL is empty; give http(s)://HOST[:PORT]")
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRemote(f"invalid endpoint URL {url!r}: expected http(s)://HOST[:PORT]")
    if parts.username or parts.password or parts.query:
        raise InvalidRemote(
            f"refusing endpoint URL {_redact(url)}: it carries credentials or a query string; "
            "Tether never stores credentials in the config (S3 reads them from "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidRemote(f"invalid endpoint URL {url!r}: the port is not a number") from None
    return url


def check_endpoint_for(url: str, endpoint_url: str) -> str:
    """``endpoint_url`` validated, and refused unless ``url`` is an S3 URL."""
    if url_scheme(url) not in ("s3", "s3a"):
        raise InvalidRemote(
            f"an endpoint URL applies only to s3:// remotes, not to {url!r}; drop it"
        )
    return check_endpoint(endpoint_url)


def _redact(url: str) -> str:
    """The URL with anything between ``://`` and ``@`` and any query replaced by ``***``."""
    shown = re.sub(r"://[^/@]*@", "://***@", url)
    return re.sub(r"[?#].*\Z", "?***", shown)


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


def resolve_url(url: str, base: Path) -> str:
    """A remote URL from a config file with a relative folder path made absolute."""
    if "://" in url:
        return url
    path = Path(os.path.expanduser(url))
    return str(path if path.is_absolute() else (base / path).resolve())


# -- reading -------------------------------------------------------------------------------


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


# -- editing the workspace config ----------------------------------------------------------


def _read(path: Path) -> tuple[str, dict[str, Any]]:
    try:
        text = path.read_bytes().decode("utf-8")  # not read_text: keep \r\n as it is
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidSetting(f"cannot read config file {path}: {e}") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise InvalidSetting(f"config file {path} is not valid TOML: {e}") from None


def _toml_str(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \uXXXX included).
    return json.dumps(value, ensure_ascii=False)


_HEADER = re.compile(r"^\s*\[(?!\[)\s*(?P<key>[^\]]*?)\s*\](?P<rest>.*)$")
_ANY_HEADER = re.compile(r"^\s*\[")
_DOTTED_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
_VALUE = re.compile(r"""^(?P<head>\s*=\s*)(?P<value>"(?:[^"\\\n]|\\.)*"|'[^'\n]*')(?P<tail>.*)$""")


def _split_key(key: str) -> tuple[str, ...] | None:
    """``remotes . "origin"`` -> ``("remotes", "origin")``; None when it is not a plain key."""
    parts: list[str] = []
    pos = 0
    while True:
        m = _DOTTED_PART.match(key, pos)
        if not m or m.end() == pos:
            return None
        basic, literal, bare = m.groups()
        if basic is not None:
            try:
                basic = json.loads(f'"{basic}"')
            except ValueError:
                return None
        parts.append(basic if basic is not None else literal if literal is not None else bare)
        pos = m.end()
        if pos == len(key):
            return tuple(parts)
        if key[pos] != ".":
            return None
        pos += 1


class _Lines:
    """The config text as lines, with the table headers found outside multi-line strings."""

    def __init__(self, text: str) -> None:
        self.newline = "\r\n" if "\r\n" in text else "\n"
        # split on newlines only: str.splitlines() would also split inside strings (U+2028...)
        self.lines = re.split(r"\r?\n", text)
        if self.lines and self.lines[-1] == "":
            self.lines.pop()

    def text(self) -> str:
        if not self.lines:
            return ""
        return self.newline.join(self.lines) + self.newline

    def _structural(self) -> list[bool]:
        """For each line: does it start outside a multi-line string?"""
        flags: list[bool] = []
        inside: str | None = None
        for line in self.lines:
            flags.append(inside is None)
            for m in re.finditer(r'"""|\'\'\'', line):
                if inside is None:
                    inside = m.group()
                elif inside == m.group():
                    inside = None
        return flags

    def headers(self) -> list[int]:
        structural = self._structural()
        return [i for i, line in enumerate(self.lines) if structural[i] and _ANY_HEADER.match(line)]

    def section(self, key: tuple[str, ...]) -> tuple[int, int] | None:
        """(header line, end) of the table ``[key]``; end is the next header or the end."""
        heads = self.headers()
        for n, i in enumerate(heads):
            m = _HEADER.match(self.lines[i])
            rest = m.group("rest").strip() if m else ""
            if m and (not rest or rest.startswith("#")) and _split_key(m.group("key")) == key:
                end = heads[n + 1] if n + 1 < len(heads) else len(self.lines)
                return i, end
        return None

    def body_end(self, start: int, end: int) -> int:
        """One past the last key line of the section: trailing comments belong to what follows."""
        last = start
        for i in range(start + 1, end):
            stripped = self.lines[i].strip()
            if stripped and not stripped.startswith("#"):
                last = i
        return last + 1

    def find_key(self, start: int, end: int, name: str) -> int | None:
        pattern = re.compile(
            rf"""^\s*(?:{re.escape(name)}|"{re.escape(name)}"|'{re.escape(name)}')\s*="""
        )
        for i in range(start + 1, end):
            if pattern.match(self.lines[i]):
                return i
        return None

    def set_key(self, section: tuple[int, int], name: str, value: str) -> None:
        """Set ``name = value`` in the section, keeping the line's comment when it has one."""
        start, end = section
        i = self.find_key(start, end, name)
        if i is None:
            self.lines.insert(self.body_end(start, end), f"{name} = {_toml_str(value)}")
            return
        line = self.lines[i]
        eq = line.index("=")
        indent = line[: len(line) - len(line.lstrip())]
        m = _VALUE.match(line[eq:])
        tail = m.group("tail") if m else ""
        self.lines[i] = f"{indent}{name} = {_toml_str(value)}{tail}"

    def drop_key(self, section: tuple[int, int], name: str) -> None:
        i = self.find_key(section[0], section[1], name)
        if i is not None:
            del self.lines[i]

    def append_section(self, header: str, body: list[str]) -> None:
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        if self.lines:
            self.lines.append("")
        self.lines += [header, *body]

    def drop_section(self, section: tuple[int, int]) -> None:
        start, end = section
        stop = self.body_end(start, end)
        del self.lines[start:stop]
        # do not leave two blank lines where the table was
        blank_before = start > 0 and not self.lines[start - 1].strip()
        if blank_before and (start >= len(self.lines) or not self.lines[start].strip()):
            del self.lines[start - 1]


def _bare_or_quoted(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_str(name)


def _normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Drop tables left empty by an edit (an empty ``[core]`` means the same as none)."""
    return {
        k: v
        for k, v in data.items()
        if not (k in ("remotes", "core") and isinstance(v, dict) and not v)
    }


def _set_default(lines: _Lines, data: dict[str, Any], path: Path, name: str | None) -> None:
    core = lines.section(("core",))
    if core is None:
        if "core" in data and ("remote" in data["core"] or name is not None):
            raise ConfigNotEditable(path, "[core] is not written as a [core] table")
        if name is not None:
            lines.append_section("[core]", [f"remote = {_toml_str(name)}"])
        return
    if name is None:
        lines.drop_key(core, "remote")
    else:
        lines.set_key(core, "remote", name)


def _write(path: Path, lines: _Lines, expected: dict[str, Any], what: str) -> None:
    text = lines.text()
    try:
        written = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigNotEditable(path, f"{what} would make it invalid TOML: {e}") from None
    if _normalise(written) != _normalise(expected):
        raise ConfigNotEditable(path, f"{what} did not give the intended settings")
    write_text_atomic(path, text)


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
    text, data = _read(path)
    existing = data.get("remotes", {})
    if not isinstance(existing, dict):
        raise ConfigNotEditable(path, "'remotes' is not a table")
    if name in existing and not force:
        raise RemoteExists(name, str(existing[name].get("url", "?")))

    expected = copy.deepcopy(data)
    table: dict[str, Any] = {"url": url}
    if endpoint is not None:
        table["endpoint_url"] = endpoint
    expected.setdefault("remotes", {})[name] = table
    if default:
        expected.setdefault("core", {})["remote"] = name

    lines = _Lines(text)
    section = lines.section(("remotes", name))
    if section is not None:
        lines.set_key(section, "url", url)
        section = lines.section(("remotes", name))
        assert section is not None
        if endpoint is None:
            lines.drop_key(section, "endpoint_url")
        else:
            lines.set_key(section, "endpoint_url", endpoint)
    elif name in existing:
        raise ConfigNotEditable(path, f"remote {name!r} is not written as a [remotes.{name}] table")
    else:
        body = [f"url = {_toml_str(url)}"]
        if endpoint is not None:
            body.append(f"endpoint_url = {_toml_str(endpoint)}")
        lines.append_section(f"[remotes.{_bare_or_quoted(name)}]", body)
    if default:
        _set_default(lines, data, path, name)
    _write(path, lines, expected, f"adding remote {name!r}")


def remove_remote(path: Path, name: str) -> bool:
    """Remove ``[remotes.NAME]``; when it was the default, unset ``core.remote`` too.

    Returns whether it was the default. UnknownRemote when the file does not define it.
    """
    text, data = _read(path)
    existing = data.get("remotes", {})
    if not isinstance(existing, dict) or name not in existing:
        raise UnknownRemote(name, existing if isinstance(existing, dict) else {}, f" in {path}")
    was_default = data.get("core", {}).get("remote") == name
    expected = copy.deepcopy(data)
    del expected["remotes"][name]
    if was_default:
        del expected["core"]["remote"]

    lines = _Lines(text)
    section = lines.section(("remotes", name))
    if section is None:
        raise ConfigNotEditable(path, f"remote {name!r} is not written as a [remotes.{name}] table")
    lines.drop_section(section)
    if was_default:
        _set_default(lines, data, path, None)
    _write(path, lines, expected, f"removing remote {name!r}")
    return was_default


def set_default_remote(path: Path, name: str | None) -> None:
    """Set (or with None, unset) ``core.remote`` in the config at ``path``."""
    text, data = _read(path)
    expected = copy.deepcopy(data)
    if name is None:
        expected.get("core", {}).pop("remote", None)
    else:
        check_name(name)
        expected.setdefault("core", {})["remote"] = name
    lines = _Lines(text)
    _set_default(lines, data, path, name)
    _write(path, lines, expected, "setting core.remote")
