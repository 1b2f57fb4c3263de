"""The fsspec backend (S3, GCS and Azure Blob emulators): how it finds what a store lacks."""

from __future__ import annotations

from typing import Any

import pytest

from tether.errors import StorageError
from tether.objects import ObjectStore


def test_missing_lists_a_small_store_whole_and_a_big_one_by_folder(
    cloud_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tether.objects.remote as remote_mod
    from tether.objects import hash_bytes

    present = {cloud_store.put_bytes(f"p{i}".encode()).digest for i in range(60)}
    absent = {hash_bytes(f"a{i}".encode()) for i in range(300)}
    backend: Any = cloud_store.backend
    calls: list[str] = []
    for name in ("list", "_present", "size"):
        real = getattr(backend, name)
        monkeypatch.setattr(
            backend, name, lambda *a, _n=name, _r=real: (calls.append(_n), _r(*a))[1]
        )

    assert cloud_store.missing(present | absent) == absent
    assert calls == ["_present", "list"]  # one folder to size the store, then one listing

    calls.clear()
    monkeypatch.setattr(remote_mod, "listing_pages", lambda n: 10**6)  # a huge store
    assert cloud_store.missing(present | absent) == absent
    assert "list" not in calls and calls.count("_present") + calls.count("size") > 2


@pytest.mark.gcs
def test_gcs_emulator_named_by_the_environment_needs_no_options(
    gcs_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``STORAGE_EMULATOR_HOST`` alone points gs:// at an emulator (what docs/remotes.md says)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_bucket("tether-env-test"))
    store = ObjectStore("gs://tether-env-test/prefix", workers=2)
    info = store.put_bytes(b"from the environment")
    assert store.get_bytes(info.digest) == b"from the environment"
    assert list(store.list()) == [info.digest]


@pytest.mark.azure
def test_azure_connection_string_from_the_environment(
    azure_container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azure_container("tether-env-test"))
    store = ObjectStore("az://tether-env-test/prefix", workers=2)
    info = store.put_bytes(b"from the environment")
    assert store.get_bytes(info.digest) == b"from the environment"
    assert list(store.list()) == [info.digest]


@pytest.mark.parametrize(
    "service",
    [
        pytest.param("s3", marks=pytest.mark.s3),
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("azure", marks=pytest.mark.azure),
    ],
)
def test_a_missing_bucket_is_a_storage_error_that_says_so(
    service: str, request: pytest.FixtureRequest
) -> None:
    if service == "s3":
        options = dict(request.getfixturevalue("s3_options"))
        url = "s3://no-such-bucket/p"
    elif service == "gcs":
        options = {"endpoint_url": request.getfixturevalue("gcs_emulator"), "token": "anon"}
        url = "gs://no-such-bucket/p"
    else:
        options = {"connection_string": request.getfixturevalue("azurite")}
        url = "az://no-such-container/p"
    store = ObjectStore(url, storage_options=options, workers=2)
    with pytest.raises(StorageError, match="bucket exists") as err:
        store.put_bytes(b"data")
    assert url in str(err.value)
