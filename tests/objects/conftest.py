"""Fixtures for the object store: one ``store`` per backend, S3 against a real moto server."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tether.objects import ObjectStore

BUCKET = "tether-objects-test"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (free port) with one bucket; fails loudly if it cannot."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True)
    starter.start()
    starter.join(timeout=20)
    if starter.is_alive():
        pytest.fail("the moto S3 server did not start within 20 s", pytrace=False)
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


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


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """The same conformance tests run against every backend."""
    name = "local_store" if request.param == "local" else "s3_store"
    return request.getfixturevalue(name)
