"""Fixtures for the object store: one ``store`` per backend.

S3 runs against a real moto server, GCS against gcp-storage-emulator and Azure Blob against
Azurite, each started once per session on a free loopback port (tests/conftest.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tether.objects import ObjectStore

BUCKET = "tether-objects-test"


@pytest.fixture(scope="session")
def s3_endpoint(s3_bucket: Callable[[str], str]) -> str:
    """The shared moto server (tests/conftest.py) with this suite's bucket."""
    return s3_bucket(BUCKET)


@pytest.fixture(scope="session")
def s3_options(s3_endpoint: str) -> dict[str, Any]:
    return {
        "endpoint_url": s3_endpoint,
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"region_name": "us-east-1"},
    }


@pytest.fixture
def local_store(tmp_path: Path) -> ObjectStore:
    return ObjectStore(str(tmp_path / "objects"), workers=4)


@pytest.fixture
def make_s3_store(s3_options: dict[str, Any]) -> Callable[[], ObjectStore]:
    def make() -> ObjectStore:
        return ObjectStore(
            f"s3://{BUCKET}/{uuid.uuid4().hex}", storage_options=s3_options, workers=8
        )

    return make


@pytest.fixture
def s3_store(make_s3_store: Callable[[], ObjectStore]) -> ObjectStore:
    return make_s3_store()


@pytest.fixture
def gcs_store(gcs_bucket: Callable[[str], str]) -> ObjectStore:
    endpoint = gcs_bucket(BUCKET)
    return ObjectStore(
        f"gs://{BUCKET}/{uuid.uuid4().hex}",
        storage_options={"endpoint_url": endpoint, "token": "anon"},
        workers=8,
    )


@pytest.fixture
def azure_store(azure_container: Callable[[str], str]) -> ObjectStore:
    connection_string = azure_container(BUCKET)
    return ObjectStore(
        f"az://{BUCKET}/{uuid.uuid4().hex}",
        storage_options={"connection_string": connection_string},
        workers=8,
    )


@pytest.fixture(
    params=[
        "local",
        pytest.param("s3", marks=pytest.mark.s3),
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("azure", marks=pytest.mark.azure),
    ]
)
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """The same conformance tests run against every backend."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(
    params=[
        pytest.param("s3", marks=pytest.mark.s3),
        pytest.param("gcs", marks=pytest.mark.gcs),
        pytest.param("azure", marks=pytest.mark.azure),
    ]
)
def cloud_store(request: pytest.FixtureRequest) -> ObjectStore:
    """A fresh prefix of each object-storage service (the fsspec backend)."""
    return request.getfixturevalue(f"{request.param}_store")


def tamper(objects: ObjectStore, digest: str, data: bytes) -> None:
    """Overwrite a stored object's bytes in place, loose or packed (same size when packed)."""
    backend: Any = objects.backend
    path = objects.local.local_path(digest) if objects.local is not None else None
    if path is not None:
        os.chmod(path, 0o644)
        Path(path).write_bytes(data)
        return
    index, i = backend.packs.locate(digest)
    size = index.sizes[i]
    os.chmod(index.pack_path, 0o644)
    with open(index.pack_path, "r+b") as f:
        f.seek(index.offsets[i])
        f.write((data * size)[:size])
