"""uvicorn's httptools protocol, with inference POSTs answered without the ASGI round trip.

Two costs of uvicorn's protocol are cut here:

- **One write per response.** uvicorn writes a response's status line and headers as soon as
  the app sends ``http.response.start`` and the body in a second write: two system calls and
  two TCP segments per response. Writes made in one turn of the event loop are joined and sent
  together at the end of it (before the transport closes, at once).
- **No task per inference request.** For every request uvicorn builds a request-response
  cycle, an ``asyncio.Event``, a task and the ASGI messages; on single-row requests that was
  more than half of the server's CPU time. A POST to an inference path
  (``/v2/models/NAME/infer``, ``/invocations``, ...) is read by the parser callbacks, handed
  to the app's ``begin`` (decode, check, queue for the batcher) as soon as its body is
  complete, and answered from the batch's done-callback in one write. The stand-in cycle
  keeps the attributes uvicorn's own callbacks use, so keep-alive, pipelined requests (queued
  behind the one in flight, answered in order), a client that goes away and graceful shutdown
  (the answer closes the connection) work as for any request. Every other request, and an
  inference request with ``Expect: 100-continue`` or an upgrade, goes through ASGI.

Imported only by ``tether serve`` (it needs uvicorn, the ``serve`` extra); the class lives at
module level so that ``--workers N`` can hand it to each worker process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httptools
from uvicorn.protocols.http import httptools_impl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("tether.serving")

# what the fast path needs of uvicorn's protocol; an uvicorn without them gets plain ASGI
_FAST_OK = all(
    hasattr(HttpToolsProtocol, a) for a in ("_start_asgi_task", "on_response_complete")
) and hasattr(httptools_impl, "STATUS_LINE")


class _Coalescing:
    """A transport whose ``write`` collects data until the loop's next turn."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def write_now(self, data: bytes) -> None:
        """``data`` sent now, after whatever is waiting (one write either way)."""
        if self._pending:
            self._pending.append(data)
            self._flush()
        elif not self._transport.is_closing():
            self._transport.write(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if self._transport.is_closing():
            return
        self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:  # get_extra_info, is_closing, pause_reading, ...
        return getattr(self._transport, name)


def fast_path(app: Any) -> Any:
    """The app's ``tether_fast`` (see ``tether.serving.asgi.FastPath``), through any
    middleware uvicorn wrapped it in, or None."""
    for _ in range(8):
        fast = getattr(app, "tether_fast", None)
        if fast is not None or not hasattr(app, "app"):
            return fast
        app = app.app
    return None


class _FastCycle:
    """One inference POST on the fast path. Stands in for uvicorn's request-response cycle in
    the protocol's state: ``body``, ``more_body``, ``message_event.set()``,
    ``response_complete``, ``disconnected`` and ``keep_alive`` are what its callbacks,
    ``connection_lost`` and ``shutdown`` use."""

    __slots__ = (
        "body", "call", "disconnected", "h", "keep_alive", "more_body", "oversized", "path",
        "proto", "response_complete", "route", "size", "started",
    )  # fmt: skip

    def __init__(
        self, proto: Protocol, route: tuple[str, str | None, str | None], path: str,
        h: dict[str, bytes], keep_alive: bool,
    ) -> None:  # fmt: skip
        self.proto = proto
        self.route = route
        self.path = path
        self.h = h
        self.keep_alive = keep_alive
        self.body: list[bytes] = []
        self.size = 0
        self.more_body = True
        self.response_complete = False
        self.disconnected = False
        self.started = False  # not queued behind an earlier request on the connection
        self.oversized = False  # the body is over the limit: answered 413, the rest unread
        self.call: Any = None

    @property
    def message_event(self) -> _FastCycle:
        return self

    def set(self) -> None:
        """uvicorn's signal that more of the request came (or the client went)."""
        if (
            self.started and not self.more_body and self.call is None
            and not self.disconnected and not self.oversized
        ):  # fmt: skip
            self._run()

    def add(self, chunk: bytes) -> None:
        if self.oversized or self.response_complete:
            return
        self.size += len(chunk)
        if self.size > self.proto.fast.max_body:
            self.too_large()
        else:
            self.body.append(chunk)

    def too_large(self) -> None:
        self.oversized = True
        self.keep_alive = False  # the rest of the body is not read
        self.body = []
        if self.started:
            self.respond(self.proto.fast.too_large(self.route, self.h))

    def start(self) -> None:
        self.started = True
        if self.oversized:
            self.respond(self.proto.fast.too_large(self.route, self.h))
        else:
            self.set()

    def _run(self) -> None:
        fast = self.proto.fast
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        try:
            call = self.call = fast.begin(*self.route, self.h, body, self._done)
            if not call.queued:
                self.respond(fast.finish(call, None, call.error))
        except Exception as e:  # a bug of ours: an answer all the same, never a hung client
            self.respond(fast.failed(e))

    def _done(self, result: Any, error: BaseException | None) -> None:
        """The batcher's call with this request's result: the answer, written now."""
        fast = self.proto.fast
        try:
            answer = fast.finish(self.call, result, error)
        except Exception as e:
            answer = fast.failed(e)
        self.respond(answer)

    def respond(self, answer: tuple[int, bytes, list[tuple[str, str]]]) -> None:
        if self.response_complete:
            return
        self.response_complete = True
        proto = self.proto
        status, body, headers = answer
        if proto.fast.access_log:
            proto.fast.log_access(self.path, status, headers, self.call)
        if self.disconnected:
            return
        parts = [_head(status, proto.server_state.default_headers)]
        parts.append(b"content-length: %d\r\n" % len(body))
        for name, text in headers:
            parts += [name.encode(), b": ", text.encode("latin-1"), b"\r\n"]
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += [b"\r\n", body]
        transport: _Coalescing = proto.transport  # type: ignore[assignment]
        transport.write_now(b"".join(parts))
        if not self.keep_alive:
            transport.close()
        proto.on_response_complete()


_heads: dict[int, bytes] = {}
_heads_of: list[Any] = []  # the default headers ``_heads`` were made with


def _head(status: int, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The status line, the server's default headers (``date``, ``server``: uvicorn makes a
    new list each second) and the content type, made once per status and second."""
    if not _heads_of or _heads_of[0] is not default_headers:
        _heads.clear()
        _heads_of[:] = [default_headers]
    head = _heads.get(status)
    if head is None:
        parts = [httptools_impl.STATUS_LINE[status]]
        for name, value in default_headers:
            parts += [name, b": ", value, b"\r\n"]
        parts.append(b"content-type: application/json\r\n")
        head = _heads[status] = b"".join(parts)
    return head


class Protocol(HttpToolsProtocol):
    """See the module's docstring. Keep-alive is timed by one timer per idle period of the
    connection, not one made and cancelled per request as uvicorn does."""

    fast: Any = None
    _idle_since: float | None = None
    _idle_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Coalescing(transport, self.loop))  # type: ignore[arg-type]
        if _FAST_OK:
            self.fast = fast_path(self.app)

    def on_message_begin(self) -> None:
        # uvicorn's ASGI scope is made only for a request that goes through ASGI (``_asgi``)
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def _asgi(self) -> None:
        """The rest of uvicorn's handling of the headers: its scope made, as its own
        ``on_message_begin`` makes it, with what the parser has read since."""
        url, headers, expect = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()
        self.url, self.headers, self.expect_100_continue = url, headers, expect
        self.scope["headers"] = headers
        super().on_headers_complete()

    def on_headers_complete(self) -> None:
        fast = self.fast
        if (
            fast is None or self.expect_100_continue or self.limit_concurrency is not None
            or self.parser.get_method() != b"POST" or self.parser.should_upgrade()
        ):  # fmt: skip
            self._asgi()
            return
        url = self.url
        if b"?" in url or b"%" in url or not url.startswith(b"/"):
            url = httptools.parse_url(url).path  # a query, or an absolute URL
        path = url.decode("latin-1")
        route = None if b"%" in url else fast.route(path)
        if route is None:
            self._asgi()
            return
        keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        cycle = _FastCycle(self, route, path, fast.headers(self.headers), keep_alive)
        existing, self.cycle = self.cycle, cycle  # type: ignore[assignment]
        if fast.declared_too_large(cycle.h):
            cycle.too_large()
        if existing is None or existing.response_complete:
            cycle.start()
        else:  # pipelined behind a request still in flight: answered after it, in order
            self.flow.pause_reading()
            self.pipeline.appendleft((cycle, self.app))  # type: ignore[arg-type]

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if isinstance(cycle, _FastCycle):
            cycle.add(body)
        else:
            super().on_body(body)

    def _start_asgi_task(self, cycle: Any, app: Any) -> None:
        if isinstance(cycle, _FastCycle):
            cycle.start()
        else:
            super()._start_asgi_task(cycle, app)

    # keep-alive: the connection closes after ``timeout_keep_alive`` s with nothing to do
    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # data came: busy until its answer is complete

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle_since = None
        self.flow.resume_reading()
        if self.pipeline:  # the next request, queued behind this one
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self._idle_timer is None:
            self._idle_timer = self.loop.call_later(self.timeout_keep_alive, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        since = self._idle_since
        if since is None or self.transport.is_closing():
            return  # busy: the next answer arms it again
        left = since + self.timeout_keep_alive - self.loop.time()
        if left <= 0:
            self.timeout_keep_alive_handler()
        else:
            self._idle_timer = self.loop.call_later(left, self._check_idle)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        super().connection_lost(exc)
