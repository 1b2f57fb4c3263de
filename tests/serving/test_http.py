"""HTTP/1.1 on one connection, byte for byte: keep-alive, pipelined requests answered in order,
bodies over the limit, HTTP/1.0, ``Expect: 100-continue``, chunked bodies and clients that go
away. Each runs on ``tether serve``'s protocol (inference POSTs answered without ASGI) and on
uvicorn's own (the ``server`` fixture runs both)."""

from __future__ import annotations

import json
import socket
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.serving.conftest import Running
from tests.serving.test_protocol import ROW, infer_body


def _connect(server: Running) -> socket.socket:
    url = urlparse(server.url)
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    return sock


def _post(path: str, body: bytes, *extra: str, version: str = "1.1") -> bytes:
    head = [f"POST {path} HTTP/{version}", "Host: t", "Content-Type: application/json"]
    head += [f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, dict[str, str], bytes]:
    """One response from ``sock`` (``buf`` holds what was read past the last one)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response: {bytes(buf)!r}")
        buf += chunk
    head, _, _ = bytes(buf).partition(b"\r\n\r\n")
    del buf[: len(head) + 4]
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the middle of a body")
        buf += chunk
    body = bytes(buf[:length])
    del buf[:length]
    return status, headers, body


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _infer(rows: list[list[float]], rid: str) -> bytes:
    return _post(
        "/v2/models/lr/infer", json.dumps(infer_body(rows)).encode(), f"X-Request-ID: {rid}"
    )


def test_many_requests_on_one_keep_alive_connection(server: Running) -> None:
    with _connect(server) as sock:
        buf = bytearray()
        for i in range(50):
            sock.sendall(_infer([ROW] * (1 + i % 3), f"k-{i}"))
            status, headers, body = _read_response(sock, buf)
            assert status == 200, body
            assert headers["x-request-id"] == f"k-{i}"
            assert headers["x-model-version"] == "1"
            assert headers["content-type"] == "application/json"
            assert "date" in headers
            assert len(json.loads(body)["outputs"][0]["data"]) == 1 + i % 3


def test_pipelined_requests_are_answered_in_order(server: Running) -> None:
    bad = _post("/v2/models/lr/infer", b"{not json", "X-Request-ID: p-bad")
    get = b"GET /v2/models/lr HTTP/1.1\r\nHost: t\r\n\r\n"
    unknown = _post("/v2/models/nope/infer", b"{}", "X-Request-ID: p-404")
    batch = [_infer([ROW], "p-0"), get, bad, _infer([ROW, ROW], "p-1"), unknown]
    batch += [_infer([ROW] * 3, "p-2")]
    with _connect(server) as sock:
        sock.sendall(b"".join(batch))  # all at once: the server reads them in one go
        buf = bytearray()
        got = [_read_response(sock, buf) for _ in batch]
    assert [s for s, _, _ in got] == [200, 200, 400, 200, 404, 200]
    ids = [h.get("x-request-id") for _, h, _ in got]
    assert ids[0] == "p-0" and ids[2] == "p-bad" and ids[3] == "p-1" and ids[4] == "p-404"
    assert json.loads(got[1][2])["name"] == "lr"
    assert [len(json.loads(got[i][2])["outputs"][0]["data"]) for i in (0, 3, 5)] == [1, 2, 3]


def test_a_declared_body_over_the_limit_is_refused_and_the_connection_closed(
    serve_dir: Any,
) -> None:
    from tether.serving.runtime import Options

    with serve_dir(["lr@champion"], options=Options(poll_s=0, max_body=1000)) as server:
        with _connect(server) as sock:
            head = _post("/v2/models/lr/infer", b"")  # Content-Length: 0, then the real one
            head = head.replace(b"Content-Length: 0", b"Content-Length: 5000")
            sock.sendall(head + b"x" * 100)  # the rest never comes: no need to read it
            status, headers, body = _read_response(sock, bytearray())
            assert status == 413
            assert "1000 bytes" in json.loads(body)["error"]
            assert headers.get("x-request-id")
        # a body that turns out too long as it comes (chunked: no length declared)
        with _connect(server) as sock:
            chunk = b"y" * 600
            head = b"POST /v2/models/lr/infer HTTP/1.1\r\nHost: t\r\n"
            head += b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            sock.sendall(head + (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 2)
            status, _, body = _read_response(sock, bytearray())
            assert status == 413, body
        assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200


def test_a_chunked_body_is_read_whole(server: Running) -> None:
    body = json.dumps(infer_body([ROW] * 5)).encode()
    head = b"POST /v2/models/lr/infer HTTP/1.1\r\nHost: t\r\n"
    head += b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    pieces = [body[i : i + 37] for i in range(0, len(body), 37)]
    chunked = head + b"".join(b"%x\r\n" % len(p) + p + b"\r\n" for p in pieces) + b"0\r\n\r\n"
    with _connect(server) as sock:
        for i in range(0, len(chunked), 50):  # in many writes
            sock.sendall(chunked[i : i + 50])
        status, _, out = _read_response(sock, bytearray())
    assert status == 200, out
    assert len(json.loads(out)["outputs"][0]["data"]) == 5


def test_http_1_0_gets_its_answer_and_the_connection_closes(server: Running) -> None:
    with _connect(server) as sock:
        body = json.dumps(infer_body([ROW])).encode()
        sock.sendall(_post("/v2/models/lr/infer", body, version="1.0"))
        status, _, out = _read_response(sock, bytearray())
        assert status == 200, out
        assert _closed(sock)


def test_connection_close_is_honoured(server: Running) -> None:
    with _connect(server) as sock:
        body = json.dumps(infer_body([ROW])).encode()
        sock.sendall(_post("/v2/models/lr/infer", body, "Connection: close"))
        status, headers, _ = _read_response(sock, bytearray())
        assert status == 200
        assert headers.get("connection") == "close"
        assert _closed(sock)


def _expect_continue(
    sock: socket.socket, buf: bytearray, body: bytes, *extra: str
) -> tuple[int, dict[str, str], bytes]:
    """An inference POST with ``Expect: 100-continue``: its head, the server's ``100
    Continue``, then its body; the answer."""
    head = _post("/v2/models/lr/infer", b"", "Expect: 100-continue", *extra)
    sock.sendall(head.replace(b"Content-Length: 0", b"Content-Length: %d" % len(body)))
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(4096)
    assert bytes(buf).startswith(b"HTTP/1.1 100")
    del buf[: bytes(buf).index(b"\r\n\r\n") + 4]
    sock.sendall(body)
    return _read_response(sock, buf)


def test_expect_100_continue(server: Running) -> None:
    body = json.dumps(infer_body([ROW])).encode()
    with _connect(server) as sock:
        status, _, out = _expect_continue(sock, bytearray(), body)
    assert status == 200, out


def test_requests_through_asgi_between_fast_ones_see_their_own_url_and_headers(
    server: Running,
) -> None:
    """The fast path leaves uvicorn's ASGI scope unmade; a request that goes through ASGI on
    the same connection gets one made from its own URL and headers, not the request before."""
    body = json.dumps(infer_body([ROW, ROW])).encode()
    with _connect(server) as sock:
        buf = bytearray()
        sock.sendall(_infer([ROW], "f-0"))
        status, headers, _ = _read_response(sock, buf)
        assert (status, headers["x-request-id"]) == (200, "f-0")
        status, headers, out = _expect_continue(sock, buf, body, "X-Request-ID: a-1")
        assert (status, headers["x-request-id"]) == (200, "a-1"), out
        assert len(json.loads(out)["outputs"][0]["data"]) == 2
        sock.sendall(b"GET /v2/models/nope HTTP/1.1\r\nHost: t\r\nX-Request-ID: a-2\r\n\r\n")
        status, headers, out = _read_response(sock, buf)
        assert status == 404 and b"nope" in out
        sock.sendall(_infer([ROW] * 3, "f-3"))
        status, headers, out = _read_response(sock, buf)
        assert (status, headers["x-request-id"]) == (200, "f-3")
        assert len(json.loads(out)["outputs"][0]["data"]) == 3


@pytest.mark.parametrize("cut", ["in the headers", "in the body", "before the answer"])
def test_a_client_that_goes_away_does_not_hurt_the_server(server: Running, cut: str) -> None:
    body = json.dumps(infer_body([ROW] * 50)).encode()
    whole = _post("/v2/models/lr/infer", body)
    part = {"in the headers": whole[:20], "in the body": whole[:-10], "before the answer": whole}
    for _ in range(20):
        sock = _connect(server)
        sock.sendall(part[cut])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # a reset, at once
    status, out = server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))
    assert status == 200, out
    assert server.request("GET", "/v2/health/ready")[0] == 200


def test_tether_serve_answers_inference_posts_without_asgi(
    server: Running, request: pytest.FixtureRequest
) -> None:
    fast = server.app.tether_fast
    began: list[str] = []
    begin = fast.begin

    def counting(*args: Any) -> Any:
        began.append(args[1])
        return begin(*args)

    fast.begin = counting
    try:
        assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200
        assert server.request("GET", "/v2/models/lr")[0] == 200
    finally:
        fast.begin = begin
    on_tether = request.node.callspec.params["serve_dir"] == "tether-protocol"
    assert began == (["lr"] if on_tether else [])


@pytest.mark.parametrize("plain", [False, True], ids=["tether-protocol", "plain-uvicorn"])
def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_a_busy_one_stays(
    model_root: Any, plain: bool
) -> None:
    import time

    from tests.serving.conftest import dir_app, run_server

    application = dir_app(model_root, ["lr@champion"])
    running = run_server(application, model_root, plain_uvicorn=plain, timeout_keep_alive=1)
    with running as server, _connect(server) as busy, _connect(server) as idle:
        bufs = {busy: bytearray(), idle: bytearray()}
        for sock in (busy, idle):
            sock.sendall(_infer([ROW], "first"))
            assert _read_response(sock, bufs[sock])[0] == 200
        start = time.monotonic()
        while time.monotonic() - start < 2.5:  # a request every 0.3 s: never idle 1 s
            time.sleep(0.3)
            busy.sendall(_infer([ROW], "again"))
            assert _read_response(busy, bufs[busy])[0] == 200
        idle.settimeout(5)
        assert _closed(idle)
        busy.sendall(_infer([ROW], "last"))
        assert _read_response(busy, bufs[busy])[0] == 200


@pytest.mark.parametrize("plain", [False, True], ids=["tether-protocol", "plain-uvicorn"])
def test_shutdown_answers_the_request_in_flight_then_closes_its_connection(
    model_root: Any, plain: bool
) -> None:
    import threading
    import time

    from tests.serving.conftest import dir_app, run_server
    from tether.serving.runtime import Options

    # a lone request waits max_wait for others to join its batch: in flight for 1.5 s
    options = Options(poll_s=0, max_wait_ms=1500, model_thread=False)
    application = dir_app(model_root, ["lr@champion"], options=options)
    running = run_server(application, model_root, plain_uvicorn=plain)
    with running as server, _connect(server) as sock:
        sock.sendall(_infer([ROW], "in-flight"))
        time.sleep(0.3)
        started = time.monotonic()
        threading.Timer(0, lambda: setattr(server.uvicorn_server, "should_exit", True)).start()
        status, headers, body = _read_response(sock, bytearray())
        assert status == 200, body
        assert headers["x-request-id"] == "in-flight"
        assert time.monotonic() - started < 5
        assert _closed(sock)


@pytest.mark.parametrize(
    "target",
    ["/v2/models/lr/infer?trace=1", "http://t/v2/models/lr/infer", "/v2/models/%6cr/infer"],
)
def test_a_query_an_absolute_url_or_an_escaped_path_reach_the_model(
    server: Running, target: str
) -> None:
    body = json.dumps(infer_body([ROW])).encode()
    with _connect(server) as sock:
        sock.sendall(_post(target, body, "X-Request-ID: q"))
        status, headers, out = _read_response(sock, bytearray())
    assert status == 200, out
    assert headers["x-request-id"] == "q"
    assert json.loads(out)["model_name"] == "lr"


def test_an_uvicorn_without_what_the_fast_path_needs_serves_through_asgi(
    model_root: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where uvicorn's protocol lacks the internals the fast path uses, tether serve's
    protocol leaves every request to ASGI, and answers all the same."""
    from tests.serving.conftest import dir_app, run_server
    from tether.serving import http

    monkeypatch.setattr(http, "_FAST_OK", False)
    application = dir_app(model_root, ["lr@champion"])
    began: list[Any] = []
    begin = application.tether_fast.begin
    application.tether_fast.begin = lambda *a: began.append(a) or begin(*a)
    with run_server(application, model_root) as server:
        status, out = server.json("POST", "/v2/models/lr/infer", infer_body([ROW, ROW]))
    assert status == 200, out
    assert len(out["outputs"][0]["data"]) == 2
    assert began == []  # not the fast path


@pytest.mark.parametrize(
    "raw",
    [
        b"POST /v2/models/lr/infer HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n{}",
        b"POST /v2/models/lr/infer HTTP/1.1\r\nHo\x00st: t\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /v2/models/lr\x00/infer HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /v2/models/lr/infer HTTP/9.9\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}",
        b"\xff\xfe\x00garbage\r\n\r\n",
    ],
)
def test_broken_http_on_an_inference_path_gets_400_and_the_server_goes_on(
    server: Running, raw: bytes
) -> None:
    with _connect(server) as sock:
        sock.sendall(raw)
        status, _, _ = _read_response(sock, bytearray())
        assert status == 400
    status, out = server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))
    assert status == 200, out
