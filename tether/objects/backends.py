"""From an objects URL to a backend: a local folder, or an fsspec filesystem and its root.

fsspec backends are imported on first use, never at ``import tether``; a missing optional
package raises MissingDependency with the ``pip install 'tether[extra]'`` that provides it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from tether.errors import InvalidInput, MissingDependency
from tether.objects.base import Backend
from tether.objects.errors import UnknownObjectsScheme
from tether.objects.local import LocalBackend
from tether.objects.remote import FsspecBackend


@dataclass(frozen=True)
class Remote:
    """One fsspec protocol: its canonical name, extra and the package that implements it."""

    protocol: str
    extra: str
    package: str
    module: str


REMOTES: dict[str, Remote] = {
    "s3": Remote("s3", "s3", "s3fs", "s3fs"),
    "s3a": Remote("s3", "s3", "s3fs", "s3fs"),
    "gs": Remote("gcs", "gcs", "gcsfs", "gcsfs"),
    "gcs": Remote("gcs", "gcs", "gcsfs", "gcsfs"),
    "az": Remote("abfs", "azure", "adlfs", "adlfs"),
    "abfs": Remote("abfs", "azure", "adlfs", "adlfs"),
    "abfss": Remote("abfs", "azure", "adlfs", "adlfs"),
}


@dataclass(frozen=True)
class Location:
    """Where objects live: ``protocol`` is ``"file"`` or an fsspec protocol name."""

    protocol: str
    root: str
    storage_options: dict[str, Any] = field(default_factory=dict)


def parse_url(url: str, storage_options: dict[str, Any] | None = None) -> Location:
    """Split an objects URL into protocol and root (bucket/prefix, or an absolute folder)."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput(f"objects URL {url!r} must be a non-empty string (setting objects.url)")
    url = url.strip()
    options = dict(storage_options or {})
    if "://" not in url:
        return Location("file", os.path.abspath(os.path.expanduser(url)), options)
    scheme, rest = url.split("://", 1)
    scheme = scheme.lower()
    if scheme == "file":
        path = unquote(urlsplit(url).path)
        if not path:
            raise InvalidInput(f"objects URL {url!r} names no folder")
        return Location("file", os.path.abspath(path), options)
    remote = REMOTES.get(scheme)
    if remote is None:
        raise UnknownObjectsScheme(scheme, url)
    root = rest.strip("/")
    if not root:
        raise InvalidInput(f"objects URL {url!r} names no bucket or container")
    if remote.protocol == "abfs" and "@" in root.split("/", 1)[0]:
        # abfs://container@account.dfs.core.windows.net/prefix
        host, _, prefix = root.partition("/")
        container, _, account_host = host.partition("@")
        options.setdefault("account_name", account_host.split(".", 1)[0])
        root = f"{container}/{prefix}".rstrip("/")
    return Location(remote.protocol, root, options)


S3_CONNECTIONS = 64
"""HTTP connections kept per S3 client (``storage_options={"config_kwargs": {...}}`` wins)."""


def filesystem(location: Location) -> Any:
    """Build the fsspec filesystem for a remote location (imports its package now)."""
    remote = next(r for r in REMOTES.values() if r.protocol == location.protocol)
    try:
        __import__(remote.module)
    except ImportError:
        raise MissingDependency(
            f"object storage at {location.protocol}://", remote.extra, remote.package
        ) from None
    import fsspec

    options = dict(location.storage_options)
    # Other processes write the same bucket: never answer existence from a stale listing.
    options.setdefault("use_listings_cache", False)
    options.setdefault("skip_instance_cache", True)
    if location.protocol == "s3":
        # botocore keeps 10 connections by default: at most 10 requests in flight, whatever
        # the batches ask for, which caps small-object pushes at ~10 / latency requests per
        # second against a real, distant service
        config = dict(options.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", S3_CONNECTIONS)
        options["config_kwargs"] = config
    try:
        if location.protocol == "gcs" and options.get("endpoint_url"):
            # At an endpoint_url (an emulator, a proxy) gcsfs's default class asks a gRPC
            # control plane there for each bucket's layout (zonal, hierarchical) before each
            # operation, and does not cache a failed answer: every call waits for the RPC to
            # time out (60 s). The plain JSON-API class is what such endpoints speak.
            from gcsfs.core import GCSFileSystem

            return GCSFileSystem(**options)
        return fsspec.filesystem(location.protocol, **options)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"invalid storage options for {location.protocol}: {e}") from None


def open_backend(
    url: str, storage_options: dict[str, Any] | None = None, *, fsync: bool = False
) -> Backend:
    """The backend for an objects URL; ``fsync`` makes local writes survive a power loss."""
    location = parse_url(url, storage_options)
    if location.protocol == "file":
        return LocalBackend(location.root, url, fsync=fsync)
    return FsspecBackend(filesystem(location), location.root, url)
