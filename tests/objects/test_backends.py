"""URL handling and filesystem construction for every scheme (no network)."""

from __future__ import annotations

import builtins
import sys
from pathlib import Path
from typing import Any

import pytest

from tether.errors import MissingDependency
from tether.objects import ObjectStore, UnknownObjectsScheme
from tether.objects.backends import filesystem, parse_url
from tether.objects.local import LocalBackend
from tether.objects.remote import FsspecBackend


def test_local_paths(tmp_path: Path) -> None:
    assert parse_url(str(tmp_path)).root == str(tmp_path)
    assert parse_url(f"file://{tmp_path}/objs").root == f"{tmp_path}/objs"
    assert parse_url("rel/objs").root.endswith("/rel/objs")
    assert isinstance(ObjectStore(f"file://{tmp_path}").backend, LocalBackend)


@pytest.mark.parametrize(
    ("url", "protocol", "root"),
    [
        ("s3://bucket/some/prefix/", "s3", "bucket/some/prefix"),
        ("gs://bucket/prefix", "gcs", "bucket/prefix"),
        ("gcs://bucket", "gcs", "bucket"),
        ("az://container/prefix", "abfs", "container/prefix"),
        ("abfs://container/p/q", "abfs", "container/p/q"),
    ],
)
def test_remote_urls(url: str, protocol: str, root: str) -> None:
    location = parse_url(url)
    assert (location.protocol, location.root) == (protocol, root)


def test_abfs_account_in_host() -> None:
    location = parse_url("abfs://data@myaccount.dfs.core.windows.net/objs")
    assert location.root == "data/objs"
    assert location.storage_options["account_name"] == "myaccount"


def test_gcs_filesystem_and_options_pass_through() -> None:
    store = ObjectStore("gs://bucket/prefix", storage_options={"token": "anon", "project": "p1"})
    assert isinstance(store.backend, FsspecBackend)
    fs = store.backend.fs
    assert "gcs" in fs.protocol
    assert fs.project == "p1"
    assert store.backend.key("ab" + "c" * 62) == "bucket/prefix/ab/" + "c" * 62


def test_azure_filesystem_and_options_pass_through() -> None:
    store = ObjectStore(
        "az://container/prefix",
        storage_options={"account_name": "acct", "account_key": "a2V5", "anon": False},
    )
    fs = store.backend.fs  # type: ignore[attr-defined]
    assert "abfs" in fs.protocol or "az" in fs.protocol
    assert fs.account_name == "acct"
    assert store.backend.key("ab" + "c" * 62) == "container/prefix/ab/" + "c" * 62  # type: ignore[attr-defined]


def test_s3_endpoint_passes_through() -> None:
    store = ObjectStore(
        "s3://bucket/p", storage_options={"endpoint_url": "http://127.0.0.1:1", "anon": True}
    )
    fs = store.backend.fs  # type: ignore[attr-defined]
    assert fs.client_kwargs.get("endpoint_url", fs.endpoint_url) == "http://127.0.0.1:1"


def test_s3_keeps_many_connections_unless_told_otherwise() -> None:
    fs = ObjectStore("s3://bucket/p", storage_options={"anon": True}).backend.fs  # type: ignore[attr-defined]
    assert fs.config_kwargs["max_pool_connections"] == 64  # botocore's default is 10
    mine = {"anon": True, "config_kwargs": {"max_pool_connections": 5}}
    fs = ObjectStore("s3://bucket/p", storage_options=mine).backend.fs  # type: ignore[attr-defined]
    assert fs.config_kwargs["max_pool_connections"] == 5


def test_from_settings_maps_endpoint(tmp_path: Path) -> None:
    class FakeSettings:
        objects_url = "s3://bucket/x"
        objects_workers = 3

        def __getitem__(self, key: str) -> Any:
            return {"objects.endpoint_url": "http://127.0.0.1:9", "objects.fsync": True}[key]

    store = ObjectStore.from_settings(FakeSettings())
    assert store.storage_options == {"endpoint_url": "http://127.0.0.1:9"}
    assert store.workers == 3
    assert store.fsync is True


@pytest.mark.parametrize("url", ["ftp://host/x", "hdfs://nn/x", "http://example.com/x"])
def test_unknown_scheme(url: str) -> None:
    with pytest.raises(UnknownObjectsScheme) as err:
        ObjectStore(url)
    message = str(err.value)
    assert url.split("://")[0] in message
    for accepted in ("file://", "s3://", "gs://", "az://"):
        assert accepted in message


def test_missing_extra_names_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "gcsfs":
            raise ImportError("no gcsfs")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "gcsfs", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingDependency, match=r"pip install 'tether\[gcs\]'"):
        filesystem(parse_url("gs://bucket/x"))


def test_import_loads_no_fsspec() -> None:
    import subprocess

    code = (
        "import sys, tether.objects; "
        "bad = [m for m in ('fsspec', 's3fs', 'gcsfs', 'adlfs', 'numpy', 'blake3') "
        "if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
