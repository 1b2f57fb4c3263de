"""PostgreSQL briefly unreachable while ``tether loop run`` ticks: the controller reports the
failed ticks, waits, and acts on the trigger once the store is back (one promotion).

The outage is local to the test: the controller reaches PostgreSQL through a TCP proxy on
loopback that the test stops (closing every connection through it) and starts again; the
shared server is never restarted."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tether.workspace import open_workspace

from .kit import add_version, set_mode

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def store_url(postgres_store_url: str) -> str:
    return postgres_store_url  # this fault is PostgreSQL's: the ws fixture's store, on it only


class Proxy:
    """Forwards 127.0.0.1:port to the PostgreSQL server until ``stop()``; ``start()`` again
    listens on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one, as a server going away does."""
        assert self._listener is not None
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close alone won't
        self._listener.close()
        self._listener = None
        with self._lock:
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:  # either side closed: the proxy's job for this pair is over
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(store_url: str) -> Iterator[Proxy]:
    from sqlalchemy.engine import make_url

    url = make_url(store_url)
    p = Proxy((url.host or "127.0.0.1", url.port or 5432))
    p.start()
    yield p
    if p._listener is not None:
        p.stop()


def _through(store_url: str, port: int) -> str:
    from sqlalchemy.engine import make_url

    return (
        make_url(store_url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    )


def _wait_for(lines: list[str], text: str, proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n" + "".join(lines)
        time.sleep(0.05)


def test_the_store_briefly_unreachable_the_controller_waits_and_promotes_once(
    ws: Path, store_url: str, proxy: Proxy
) -> None:
    open_workspace(ws).store.get_or_create_project("proj")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "loop", "run", "--interval", "0.2"],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TETHER_STORE_URL": _through(store_url, proxy.port)},
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait_for(lines, "ticking every", proc, 60)
        time.sleep(1.0)  # a few idle ticks through the proxy: pooled connections exist
        proxy.stop()
        add_version(ws, seed=1)  # the trigger arrives while the controller cannot see the store
        unreachable = "tick failed: cannot use the metadata store"
        _wait_for(lines, unreachable, proc, 30)
        time.sleep(1.0)  # several failed ticks: the controller keeps going
        assert proc.poll() is None, "".join(lines)
        assert sum(unreachable in line for line in lines) >= 2, "".join(lines)
        assert not any("churn:" in line for line in lines), "".join(lines)
        proxy.start()
        _wait_for(lines, "champion moved None -> churn@1", proc, 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    out = "".join(lines)
    assert proc.returncode == 0, out
    assert "controller stopped" in out
    store = open_workspace(ws).store
    moves = [(e.from_version, e.to_version) for e in store.list_alias_events("proj", "churn")]
    assert moves == [(None, 1)], out
    kinds = [e.kind for e in reversed(store.list_loop_events("proj", "churn"))]
    assert kinds.count("promoted") == 1, (kinds, out)
    [row] = store.list_loop_triggers("proj", "churn")
    assert row.status == "done"


def test_the_store_unreachable_during_training_the_attempt_is_resumed_and_promotes_once(
    ws: Path, store_url: str, proxy: Proxy
) -> None:
    open_workspace(ws).store.get_or_create_project("proj")
    add_version(ws, seed=1)
    set_mode(ws, "slow")  # training takes a second: the store goes away in the middle
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "loop", "run", "--interval", "0.2"],
        cwd=ws,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "TETHER_STORE_URL": _through(store_url, proxy.port)},
    )
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        lines.extend(proc.stdout)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _wait_for(lines, "churn: training with", proc, 60)
        proxy.stop()
        _wait_for(lines, "tick failed: cannot use the metadata store", proc, 30)
        time.sleep(1.0)
        assert proc.poll() is None, "".join(lines)
        proxy.start()
        _wait_for(lines, "champion moved None -> churn@", proc, 60)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
    out = "".join(lines)
    assert proc.returncode == 0, out
    store = open_workspace(ws).store
    moves = [(e.from_version, e.to_version) for e in store.list_alias_events("proj", "churn")]
    assert moves == [(None, 1)], out
    kinds = [e.kind for e in reversed(store.list_loop_events("proj", "churn"))]
    assert kinds.count("promoted") == 1, (kinds, out)
    assert "resumed" in kinds, (kinds, out)  # the interrupted attempt, taken up again
    [row] = store.list_loop_triggers("proj", "churn")
    assert row.status == "done"
