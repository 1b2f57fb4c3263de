"""The fsspec backend (S3 against the moto server): how it finds what a store lacks."""

from __future__ import annotations

from typing import Any

import pytest

from tether.objects import ObjectStore


@pytest.mark.s3
def test_s3_missing_lists_a_small_store_whole_and_a_big_one_by_folder(
    s3_store: ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tether.objects.remote as remote_mod
    from tether.objects import hash_bytes

    present = {s3_store.put_bytes(f"p{i}".encode()).digest for i in range(60)}
    absent = {hash_bytes(f"a{i}".encode()) for i in range(300)}
    backend: Any = s3_store.backend
    calls: list[str] = []
    for name in ("list", "_present", "size"):
        real = getattr(backend, name)
        monkeypatch.setattr(
            backend, name, lambda *a, _n=name, _r=real: (calls.append(_n), _r(*a))[1]
        )

    assert s3_store.missing(present | absent) == absent
    assert calls == ["_present", "list"]  # one folder to size the store, then one listing

    calls.clear()
    monkeypatch.setattr(remote_mod, "listing_pages", lambda n: 10**6)  # a huge store
    assert s3_store.missing(present | absent) == absent
    assert "list" not in calls and calls.count("_present") + calls.count("size") > 2
