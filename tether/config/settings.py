"""The one table of Tether settings, and their resolution.

A setting's value comes from the first of: a command-line flag, its ``TETHER_*`` environment
variable, the workspace's ``.tether/config.toml``, the user config
(``$XDG_CONFIG_HOME/tether/config.toml``), its default. This module is the only code in Tether
that reads ``TETHER_*`` variables.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tether.config.errors import InvalidSetting
from tether.config.remotes import Remote, check_key, remotes_from_config, select_remote
from tether.config.workspace import WorkspaceDir


def _parse_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number") from None


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
"""SQLite's ``PRAGMA synchronous`` levels, from fewest to most fsyncs."""


def _parse_sqlite_synchronous(value: Any) -> str:
    if isinstance(value, str) and value.strip().upper() in SQLITE_SYNCHRONOUS:
        return value.strip().upper()
    raise ValueError(f"expected one of {', '.join(SQLITE_SYNCHRONOUS)}")


def _parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number") from None


@dataclass(frozen=True)
class Setting:
    key: str
    parse: Callable[[Any], Any]
    help: str
    default: Any = None

    @property
    def env(self) -> str:
        return "TETHER_" + self.key.upper().replace(".", "_")


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "core.project",
        _parse_str,
        "Project that new runs, datasets and models belong to.",
        "default",
    ),
    Setting(
        "core.remote",
        _parse_str,
        "Remote that `tether data push` and `pull` use without --remote; remotes are "
        "[remotes.NAME] tables (`tether remote add NAME URL --default`).",
    ),
    Setting(
        "store.url",
        _parse_str,
        "Metadata database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB). "
        "Default: SQLite at .tether/tether.db.",
    ),
    Setting(
        "store.busy_timeout_s",
        _parse_float,
        "Seconds a SQLite writer waits for another writer before giving up.",
        30.0,
    ),
    Setting(
        "store.sqlite_synchronous",
        _parse_sqlite_synchronous,
        "SQLite's synchronous level (OFF, NORMAL, FULL, EXTRA), set on every connection. "
        "NORMAL (WAL mode) never corrupts the database but may lose the last commits on power "
        "loss; FULL fsyncs every commit, so a commit that returned survives it.",
        "NORMAL",
    ),
    Setting(
        "objects.url",
        _parse_str,
        "Object storage for content-addressed data: a folder, s3://, gs:// or az:// URL. "
        "Default: .tether/objects.",
    ),
    Setting(
        "objects.endpoint_url",
        _parse_str,
        "Endpoint of an S3-compatible service (MinIO, Ceph, a local test server).",
    ),
    Setting(
        "objects.workers",
        _parse_int,
        "Parallel transfers and hashing threads; 0 picks a number from the CPU count.",
        0,
    ),
    Setting(
        "objects.fsync",
        _parse_bool,
        "fsync every new object before it is renamed into place: survives power loss, at the "
        "cost of waiting for the disk. Writes are atomic either way.",
        False,
    ),
    Setting(
        "data.lock_timeout_s",
        _parse_float,
        "Seconds `tether data add` and `checkout` wait for another add or checkout of the "
        "same data before giving up.",
        60.0,
    ),
    Setting(
        "tracking.reproduces",
        _parse_str,
        "Id of the run that new runs reproduce; set by `tether reproduce` for the re-run.",
    ),
)
BY_KEY: dict[str, Setting] = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Resolved:
    key: str
    value: Any
    source: str


def user_config_path(env: Mapping[str, str]) -> Path:
    return _user_config_path(env.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)  # looked up on every run start
def _user_config_path(xdg: str | None, home: str | None) -> Path:
    base = xdg or str(Path.home() / ".config")  # Path.home() reads HOME (the key) first
    return Path(base) / "tether" / "config.toml"


def tether_environment() -> tuple[tuple[object, object], ...]:
    """The ``TETHER_*`` variables, to notice that they changed; scanned as bytes where the OS
    allows, which skips decoding every variable on each run start."""
    if os.supports_bytes_environ:
        env = os.environb
        return tuple(sorted((k, env[k]) for k in env if k.startswith(b"TETHER_")))
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TETHER_")))


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


def read_config_file(path: Path) -> dict[str, Any]:
    """Read one TOML config file into ``{dotted.key: value}``; a missing file is empty."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise InvalidSetting(f"cannot read config file {path}: {e.strerror}") from None
    try:
        table = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InvalidSetting(f"config file {path} is not valid TOML: {e}") from None
    flat = _flatten(table)
    for key in flat:
        if key == "remotes" or key.startswith("remotes."):
            check_key(key, path)  # [remotes.NAME] tables: read by remotes_from_config
        elif key == "loop" or key.startswith("loop."):
            pass  # [loop.NAME] tables: read and checked by tether.automation
        elif key == "monitor" or key.startswith("monitor."):
            pass  # [monitor.NAME] tables: read and checked by tether.monitoring.monitors
        elif key not in BY_KEY:
            known = ", ".join(sorted(BY_KEY))
            raise InvalidSetting(f"unknown setting {key!r} in {path}; known settings: {known}")
    return flat


def _parse(setting: Setting, value: Any, source: str) -> Any:
    try:
        return setting.parse(value)
    except ValueError as e:
        raise InvalidSetting(
            f"invalid value {value!r} for {setting.key} (from {source}): {e}"
        ) from None


class Settings:
    """Effective settings of one workspace (or none), with where each value came from."""

    def __init__(
        self,
        workspace: WorkspaceDir | None,
        resolved: dict[str, Resolved],
        remotes: Mapping[str, Remote] | None = None,
    ) -> None:
        self.workspace = workspace
        self.resolved = resolved
        self.remotes: dict[str, Remote] = dict(remotes or {})
        """Configured remotes by name: the workspace config's, then the user config's."""

    def __getitem__(self, key: str) -> Any:
        return self.resolved[key].value

    @property
    def project(self) -> str:
        return str(self["core.project"])

    @property
    def store_url(self) -> str:
        return self._required("store.url")

    @property
    def objects_url(self) -> str:
        return self._required("objects.url")

    @property
    def objects_workers(self) -> int:
        workers = int(self["objects.workers"])
        return workers if workers > 0 else min(32, (os.cpu_count() or 1) * 4)

    @property
    def default_remote(self) -> str | None:
        """Name of the default remote (``core.remote``), or None."""
        value = self["core.remote"]
        return None if value is None else str(value)

    def remote(self, name: str | None = None) -> Remote:
        """The remote called ``name``, else the default; UnknownRemote / NoDefaultRemote."""
        return select_remote(self.remotes, self.default_remote, name)

    def _required(self, key: str) -> str:
        value = self[key]
        if value is None:
            raise InvalidSetting(
                f"{key} is not set and there is no workspace to hold the default; "
                f"run `tether init` or set {BY_KEY[key].env}"
            )
        return str(value)


def _workspace_defaults(workspace: WorkspaceDir) -> dict[str, Any]:
    """Defaults that live inside the workspace: the embedded SQLite file and objects folder."""
    return {
        "store.url": "sqlite:///" + str(workspace.dir / "tether.db"),
        "objects.url": str(workspace.dir / "objects"),
    }


def resolve_relative(key: str, value: Any, base: Path) -> Any:
    """Paths in a workspace config are relative to the workspace root, not the current folder."""
    if not isinstance(value, str):
        return value
    if key == "objects.url" and "://" not in value and not Path(value).is_absolute():
        return str((base / value).resolve())
    if key == "store.url" and value.startswith("sqlite:///"):
        path = value.removeprefix("sqlite:///")
        if path and not path.startswith("/") and path != ":memory:":
            return "sqlite:///" + str((base / path).resolve())
    return value


def load_settings(
    workspace: WorkspaceDir | None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: flags > TETHER_* env > workspace config > user config > default."""
    env = os.environ if env is None else env
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    for key in flags:
        if key not in BY_KEY:
            raise InvalidSetting(f"unknown setting {key!r}; known settings: {', '.join(BY_KEY)}")

    user_path = user_config_path(env)
    user = read_config_file(user_path)
    # relative remote folders: against the workspace root, or the home folder for user config
    remotes = remotes_from_config(user, user_path, Path.home())
    local: dict[str, Any] = {}
    if workspace is not None:
        raw = read_config_file(workspace.config_path)
        remotes.update(remotes_from_config(raw, workspace.config_path, workspace.root))
        local = {k: resolve_relative(k, v, workspace.root) for k, v in raw.items()}

    defaults = _workspace_defaults(workspace) if workspace is not None else {}
    resolved: dict[str, Resolved] = {}
    for s in SETTINGS:
        if s.key in flags:
            value, source = flags[s.key], "flag"
        elif s.env in env:
            value, source = env[s.env], f"env {s.env}"
        elif s.key in local:
            value, source = local[s.key], str(workspace.config_path)  # type: ignore[union-attr]
        elif s.key in user:
            value, source = user[s.key], str(user_path)
        else:
            resolved[s.key] = Resolved(s.key, defaults.get(s.key, s.default), "default")
            continue
        resolved[s.key] = Resolved(s.key, _parse(s, value, source), source)
    return Settings(workspace, resolved, remotes)
