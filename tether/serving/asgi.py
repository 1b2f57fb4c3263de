"""The ASGI app: Open Inference Protocol v2 over REST, MLflow's ``/invocations``, health,
model repository, Prometheus ``/metrics``.

Every error is ``{"error": "..."}`` with a 4xx status for what the client got wrong (400, or
404 for an unknown model or version, 413 for an oversized body, 415 for a content type that is
not JSON) and 500 for a failure of the model. Inference responses carry ``X-Request-ID`` (the
request's own, else its ``id``, else a new one) and ``X-Model-Version``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from tether.serving import mlflow_format, tensors
from tether.serving.errors import BadRequest, UnknownModel, need_serve_extra
from tether.serving.jsonio import dumps as _dumps
from tether.serving.jsonio import loads_infer as _loads
from tether.serving.runtime import Options, Repository, Served, Version
from tether.serving.source import ModelSource, Ref

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from tether.serving.batching import Done
    from tether.serving.predlog import PredictionLog
    from tether.workspace import Workspace

log = logging.getLogger("tether.serving")
access = logging.getLogger("tether.serving.access")

JSON = "application/json"


class Server:
    """The state behind one app: the models, the prediction log, the metrics, the poller."""

    def __init__(
        self,
        repo: Repository,
        opts: Options,
        predlog: PredictionLog | None,
        metrics: Any,
    ) -> None:
        self.repo = repo
        self.opts = opts
        self.predlog = predlog
        self.metrics = metrics
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.started = False

    # lifecycle
    def start(self) -> None:
        self.repo.load_all()
        if self.predlog is not None:  # (its writer process started beside the models' loading)
            self.predlog.wait_ready()
        import gc

        gc.collect()
        gc.freeze()  # the libraries and models stay: keep them out of every later collection
        self.started = True
        if self.opts.poll_s > 0:
            self._poller = threading.Thread(
                target=self._poll, name="tether-alias-poll", daemon=True
            )
            self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.opts.poll_s):
            for name, s in self.repo.served.items():
                if s.ref.alias is not None:
                    self.repo.refresh(name)

    def stop(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(30)
        if self.predlog is not None:
            self.predlog.close()
        self.repo.close()

    # requests
    async def body(self, receive: Any, declared: bytes | None) -> bytes:
        """The request body, read straight from the ASGI ``receive`` (no limit passed)."""
        limit = self.opts.max_body
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BadRequest(f"the body is larger than the limit of {limit} bytes", status=413)
        chunks, n = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise BadRequest("the client went away before sending the whole body")
            chunk = message.get("body", b"")
            n += len(chunk)
            if n > limit:
                raise BadRequest(f"the body is larger than the limit of {limit} bytes", status=413)
            chunks.append(chunk)
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def version(self, request: Request) -> tuple[Served, Version]:
        return self.version_of(request.path_params["name"], request.path_params.get("version"))

    def version_of(self, name: str, want: str | None) -> tuple[Served, Version]:
        s = self.repo.get(name)
        v = s.current
        if v is None:
            raise BadRequest(f"model {s.ref.name!r} is not ready yet", status=503)
        if want is not None and want != str(v.version):
            raise BadRequest(
                f"model {s.ref.name!r} version {want} is not served; version {v.version} is",
                status=404,
            )
        return s, v


def _request_id(value: str | None) -> str | None:
    """A client's request id, if it is one we can echo and log (printable ASCII, at most 128)."""
    if value and len(value) <= 128 and value.isascii() and value.isprintable():
        return value
    return None


_id_prefix = os.urandom(8).hex()
_id_counter = itertools.count()


def _new_ids_after_fork() -> None:
    global _id_prefix, _id_counter
    _id_prefix, _id_counter = os.urandom(8).hex(), itertools.count()


os.register_at_fork(after_in_child=_new_ids_after_fork)


def _new_id() -> str:
    """32 hex digits, as ``uuid4().hex``, unique: 16 random ones drawn once per process (again
    in a forked child) and a counter. ``os.urandom`` per request cost a single-row request 3%
    of its time (a system call); request ids are names, not secrets."""
    return f"{_id_prefix}{next(_id_counter):016x}"


_WANTED = {
    b"x-request-id": "rid",
    b"content-type": "ctype",
    b"content-length": "length",
    b"inference-header-content-length": "header_len",
}


def _headers(scope: Any) -> dict[str, bytes]:
    """The request headers the inference path reads, by short name."""
    return wanted_headers(scope["headers"])


def wanted_headers(headers: Any) -> dict[str, bytes]:
    """``_headers`` of a list of (lower-case name, value)."""
    out: dict[str, bytes] = {}
    for k, v in headers:
        key = _WANTED.get(k)
        if key is not None:
            out[key] = v
    return out


def _route(scope: Any) -> tuple[str, str | None, str | None] | None:
    """(protocol, model name, version) for a POST to an inference path, else None."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return route_path(path)


def route_path(path: str) -> tuple[str, str | None, str | None] | None:
    """``_route`` of a path without the root path."""
    if path == "/invocations":
        return "mlflow", None, None
    parts = path.split("/")
    n = len(parts)
    if n == 5 and parts[1] == "v2" and parts[2] == "models" and parts[4] == "infer" and parts[3]:
        return "v2", parts[3], None
    if (
        n == 7 and parts[1] == "v2" and parts[2] == "models" and parts[4] == "versions"
        and parts[6] == "infer" and parts[3] and parts[5]
    ):  # fmt: skip
        return "v2", parts[3], parts[5]
    if n == 4 and parts[1] == "models" and parts[3] == "invocations" and parts[2]:
        return "mlflow", parts[2], None
    return None


def _error(e: BaseException) -> tuple[int, str]:
    if isinstance(e, BadRequest):
        return e.status, str(e)
    if isinstance(e, UnknownModel):
        return 404, str(e)
    log.exception("request failed")
    return 500, f"the model failed: {type(e).__name__}: {e}"


Answer = tuple[int, bytes, list[tuple[str, str]]]
"""(status, JSON body, headers other than content-type)."""


class Call:
    """One inference request, from its headers to its answer."""

    __slots__ = (
        "error", "future", "name", "protocol", "queued", "req_id", "rid", "rows", "status",
        "t0", "value", "version", "wanted",
    )  # fmt: skip

    def __init__(self, protocol: str, name: str | None, h: dict[str, bytes]) -> None:
        self.t0 = time.perf_counter()
        self.protocol = protocol
        self.name = name
        raw = h.get("rid")
        self.rid = _request_id(raw.decode("latin-1")) if raw is not None else None
        self.req_id: str | None = None  # the body's "id"
        self.wanted: set[str] | None = None  # the outputs asked for
        self.version: tuple[Served, Version] | None = None
        self.value: Any = None
        self.rows = 0
        self.queued = False  # handed to its batcher; else ``error`` says why not
        self.future: asyncio.Future[Any] | None = None  # its result, when begun without ``done``
        self.error: Exception | None = None
        self.status = 0  # its answer's, once ``finish`` made it


_future, _status, _rid, _t0, _rows = (
    attrgetter(name) for name in ("future", "status", "rid", "t0", "rows")
)  # of a Call


def _no_nan_token(body: bytes) -> bool:
    """Whether ``body`` has no ``NaN``: a search for ``N`` (``memchr``) first, ten times
    faster than one for the whole token on bodies of numbers."""
    return body.find(b"N") < 0 or b"NaN" not in body


class FastPath:
    """What ``tether.serving.http.Protocol`` needs to answer an inference POST without ASGI:
    the app's ``begin`` and ``finish``, its routes, its body limit and its access log."""

    route = staticmethod(route_path)
    headers = staticmethod(wanted_headers)

    def __init__(self, begin: Any, finish: Any, max_body: int, access_log: bool) -> None:
        self.begin = begin
        self.finish = finish
        self.max_body = max_body
        self.access_log = access_log

    def declared_too_large(self, h: dict[str, bytes]) -> bool:
        declared = h.get("length")
        return declared is not None and declared.isdigit() and int(declared) > self.max_body

    def too_large(self, route: tuple[str, str | None, str | None], h: dict[str, bytes]) -> Answer:
        error = BadRequest(
            f"the body is larger than the limit of {self.max_body} bytes", status=413
        )
        return self.finish(Call(route[0], route[1], h), None, error)

    def failed(self, e: Exception) -> Answer:
        log.error("request failed", exc_info=e)
        body = _dumps({"error": f"the server failed: {type(e).__name__}: {e}"})
        return 500, body, [("x-request-id", _new_id())]

    def log_access(
        self, path: str, status: int, headers: list[tuple[str, str]], call: Call | None
    ) -> None:
        seen: dict[str, Any] = {"status": status, **dict(headers)}
        latency = 0.0 if call is None else time.perf_counter() - call.t0
        scope: dict[str, Any] = {"method": "POST", "path": path, "headers": [],
                 "tether.model": None if call is None else call.name}  # fmt: skip
        _access_line(scope, seen, time.time() - latency, latency)


def app(
    refs: Sequence[str | Ref],
    *,
    source: ModelSource | None = None,
    workspace: Workspace | None = None,
    options: Options | None = None,
    log_predictions: bool = True,
    log_sample: float = 1.0,
    log_kwargs: dict[str, Any] | None = None,
    access_log: bool = False,
) -> Starlette:
    """The ASGI app serving ``refs`` (``name@alias``): models come from ``source`` (default:
    the workspace's metadata and object stores); predictions are logged to the workspace's
    stores unless ``log_predictions`` is false or there is no workspace. With ``access_log``,
    every request writes one JSON line (time, request id, method, path, status, model,
    version, latency, process id) to the ``tether.serving.access`` logger at INFO."""
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import Response
        from starlette.routing import Route
    except ImportError as e:
        raise need_serve_extra(e) from None
    from tether.serving.metrics import Metrics
    from tether.serving.store_source import StoreSource, store_on_use

    opts = options or Options()
    if source is None:
        if workspace is None:
            from tether.workspace import Workspace

            workspace = Workspace()
        source = StoreSource(workspace)
    elif workspace is None and isinstance(source, StoreSource):
        workspace = source.workspace
    metrics = Metrics()
    store = None if workspace is None else store_on_use(workspace)  # opened when first used
    parsed = [r if isinstance(r, Ref) else Ref.parse(r) for r in refs]
    repo = Repository(source, parsed, opts, metrics)
    predlog = None
    if log_predictions and workspace is not None and store is not None:
        from tether.serving.predlog import PredictionLog

        predlog = PredictionLog(
            store, workspace.objects, workspace.project, sample=log_sample,
            on_written=metrics.log_written.inc, on_dropped=metrics.log_dropped.inc,
            **{"process": _writer_process(workspace), **(log_kwargs or {})},
        )  # fmt: skip
        repo.log_batch = lambda *a: log_batch(*a)  # (the versions are loaded at start-up)
    srv = Server(repo, opts, predlog, metrics)
    gauges = None
    if workspace is not None and store is not None:
        from tether.serving.drift_gauges import DriftGauges

        gauges = DriftGauges(store, workspace.project, [r.name for r in parsed])

    def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
        return Response(_dumps(obj), status, headers, JSON)

    def err(e: Exception, headers: dict[str, str] | None = None) -> Response:
        status, message = _error(e)
        return json_response({"error": message}, status, headers)

    async def server_metadata(request: Request) -> Response:
        from tether import __version__

        return json_response(
            {"name": "tether", "version": __version__, "extensions": ["model_repository"]}
        )

    async def live(request: Request) -> Response:
        return Response(status_code=200)

    async def ready(request: Request) -> Response:
        return Response(status_code=200 if srv.started and repo.ready else 400)

    async def model_metadata(request: Request) -> Response:
        from tether.serving.tensors import metadata

        try:
            s, v = srv.version(request)
        except Exception as e:
            return err(e)
        return json_response(
            {
                "name": s.ref.name,
                "versions": [str(v.version)],
                "platform": f"tether-{v.loaded.flavor}",
                **metadata(v.inputs, v.outputs),
            },
            headers={"x-model-version": str(v.version)},
        )

    async def model_ready(request: Request) -> Response:
        try:
            srv.version(request)
        except UnknownModel as e:
            return err(e)
        except BadRequest:
            return Response(status_code=400)
        return Response(status_code=200)

    async def infer(request: Request) -> Response:  # POSTs take the fast path in _App
        return await _starlette_predict(request, "v2")

    async def invocations(request: Request) -> Response:
        return await _starlette_predict(request, "mlflow")

    async def _starlette_predict(request: Request, protocol: str) -> Response:
        p = request.path_params
        status, body, headers = await predict(
            request.scope, request.receive, protocol, p.get("name"), p.get("version")
        )
        return Response(body, status, headers=dict(headers), media_type=JSON)

    count = metrics.count_request

    async def predict(
        scope: Any, receive: Any, protocol: str, name: str | None, want: str | None
    ) -> Answer:
        """One inference request through ASGI: the body read, then ``begin`` and ``finish``."""
        h = _headers(scope)
        try:
            body = await srv.body(receive, h.get("length"))
        except BadRequest as e:
            return finish(Call(protocol, name, h), None, e, scope)
        call = begin(protocol, name, want, h, body)
        if call.future is None:
            return finish(call, None, call.error, scope)
        try:
            pred = await call.future
        except Exception as e:
            return finish(call, None, e, scope)
        return finish(call, pred, None, scope)

    def begin(
        protocol: str, name: str | None, want: str | None, h: dict[str, bytes], body: bytes,
        done: Done | None = None,
    ) -> Call:  # fmt: skip
        """Decode and check a request and hand it to its model's batcher (``call.queued``):
        its result goes to ``done`` (called in the loop), or without one to ``call.future``.
        Else note why it cannot be answered (``call.error``). Runs in the event loop, whole:
        the HTTP protocol's fast path calls it without a task or a future per request."""
        call = Call(protocol, name, h)
        try:
            if name is None:  # /invocations: the one model served
                if len(repo.served) != 1:
                    raise BadRequest(
                        "several models are served: post to /v2/models/NAME/infer or "
                        "/models/NAME/invocations"
                    )
                name = call.name = next(iter(repo.served))
            _, v = call.version = srv.version_of(name, want)
            raw_ctype = h.get("ctype")
            ctype = raw_ctype.decode("latin-1") if raw_ctype is not None else None
            if protocol == "mlflow":
                value = mlflow_format.decode(v.inputs, body, ctype) if v.inputs else None
                if value is None:
                    raise BadRequest("the model has no signature; use /v2/models/NAME/infer")
                conformed = False
            else:
                header_len = h.get("header_len")
                value, call.req_id, call.wanted, conformed = _decode_v2(
                    v, body, None if header_len is None else header_len.decode("latin-1"), ctype
                )
                if call.rid is None and call.req_id is not None:
                    call.rid = _request_id(call.req_id)
            if not conformed:
                value = v.conform(value)
            call.value = value
            rows = call.rows = tensors.rows_of(value)
            if rows == 0:
                raise BadRequest("the request has no rows")
            if done is None:
                call.future = v.batcher.submit_nowait(value, rows, call)
            else:
                v.batcher.submit_call(value, rows, done, call)
            call.queued = True
        except Exception as e:
            call.error = e
        return call

    def finish(call: Call, pred: Any, error: BaseException | None, scope: Any = None) -> Answer:
        """The answer to ``call``: its predictions or its error as (status, JSON body,
        headers other than content-type); counted, timed and logged."""
        name, sv = call.name, call.version
        v = None if sv is None else sv[1]
        rid = call.rid = call.rid or _new_id()
        version_text = None if v is None else str(v.version)
        if error is None and v is not None:
            if call.protocol == "mlflow":
                out: Any = {"predictions": tensors.jsonable(pred)}
            else:
                outputs = tensors.encode_outputs(pred)
                if call.wanted is not None:
                    outputs = [o for o in outputs if o["name"] in call.wanted]
                out = {
                    "model_name": name,
                    "model_version": version_text,
                    "id": call.req_id if call.req_id is not None else rid,
                    "outputs": outputs,
                }
            status = 200
        else:
            status, message = _error(error or RuntimeError("no answer"))
            out = {"error": message}
        headers = [("x-request-id", rid)]
        if version_text is not None:
            headers.append(("x-model-version", version_text))
        label = name if name in repo.served else "_unknown"
        call.status = status
        count(label, call.protocol, status)
        if scope is not None:
            scope["tether.model"] = name
            scope["tether.request_id"] = rid
        if status == 200:
            assert v is not None and name is not None
            latency = time.perf_counter() - call.t0
            metrics.observe_latency(label, latency)
            if srv.predlog is not None and call.future is not None:  # (else: ``log_batch``)
                srv.predlog.record(
                    name, v.version, rid, time.time(), latency, call.value, pred, call.rows
                )
        return status, _dumps(out), headers

    def log_batch(v: Version, calls: list[Any], ran: Any, results: list[Any]) -> None:
        """The prediction log's share of a batch answered on the fast path (those answered
        through ASGI are recorded by ``finish``, which runs after this): the whole batch at
        once where every request of it got its predictions, else each answered one."""
        predlog = srv.predlog
        if predlog is None:
            return
        now, wall = time.perf_counter(), time.time()
        np = sys.modules.get("numpy")  # (not imported: the batch holds no NumPy arrays)
        whole = (
            ran is not None and np is not None
            and type(ran[0]) is np.ndarray and type(ran[1]) is np.ndarray
        )  # fmt: skip
        if (
            whole and None not in calls and not any(map(_future, calls))
            and set(map(_status, calls)) == {200}
        ):  # fmt: skip
            predlog.record_batch(
                v.name, v.version, list(map(_rid, calls)), wall,
                [now - t0 for t0 in map(_t0, calls)], ran[0], ran[1], list(map(_rows, calls)),
            )  # fmt: skip
            return
        for c, pred in zip(calls, results, strict=True):
            if c is not None and c.future is None and c.status == 200:
                predlog.record(v.name, v.version, c.rid, wall, now - c.t0, c.value, pred, c.rows)

    def _decode_v2(
        v: Version, body: bytes, header_len: str | None, ctype: str | None
    ) -> tuple[Any, str | None, set[str] | None, bool]:
        """(value, the body's id, the outputs asked for, whether the value is conformed)."""
        binary = None
        if header_len is not None:
            if not header_len.isdigit() or int(header_len) > len(body):
                raise BadRequest(
                    f"Inference-Header-Content-Length {header_len!r} does not fit the body"
                )
            binary = memoryview(body)[int(header_len) :]
            body = body[: int(header_len)]
        elif ctype is not None and mlflow_format.media_type(ctype) not in ("", JSON):
            raise BadRequest(f"content type {ctype!r} is not supported; send {JSON}", status=415)
        try:
            obj = _loads(body)
        except ValueError as e:
            raise BadRequest(f"the body is not valid JSON: {e}") from None
        # the quick decoder leaves out the NaN check: only a NaN token (which the standard
        # library's parser takes) could bring one in
        quick = v.quick is not None and binary is None and _no_nan_token(body)
        value = v.quick.decode(obj) if quick else None  # type: ignore[union-attr]
        conformed = value is not None
        if value is None:
            value = tensors.decode_request(v.inputs, obj, binary)
        req_id = obj.get("id")
        if req_id is not None and not isinstance(req_id, str):
            raise BadRequest("'id' must be a string")
        wanted = None
        if obj.get("outputs") is not None:
            outs = obj["outputs"]
            if not isinstance(outs, list) or not all(
                isinstance(o, dict) and isinstance(o.get("name"), str) for o in outs
            ):
                raise BadRequest("'outputs' must be a list of objects with a 'name'")
            names = {o["name"] for o in outs}
            known = {m["name"] for m in tensors.metadata(v.inputs, v.outputs)["outputs"]}
            unknown = sorted(names - known) if known else []
            if unknown:
                raise BadRequest(
                    f"unknown output {unknown[0]!r}; the model gives {', '.join(sorted(known))}"
                )
            wanted = names
        return value, req_id, wanted, conformed

    async def repository_index(request: Request) -> Response:
        return json_response(
            [
                {
                    "name": n,
                    "version": str(s.current.version) if s.current else None,
                    "state": "READY" if s.current else "UNAVAILABLE",
                    "reason": s.error or "",
                }
                for n, s in repo.served.items()
            ]
        )

    async def repository_load(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            s = repo.get(name)
            s.failed_version = None  # asked for: try again
            await run_in_threadpool(repo.refresh, name)
        except Exception as e:
            return err(e)
        if s.error is not None:
            return json_response({"error": s.error}, 400)
        assert s.current is not None
        return json_response({}, headers={"x-model-version": str(s.current.version)})

    async def prometheus(request: Request) -> Response:
        data, ctype = metrics.render()
        if gauges is not None:
            data += (await run_in_threadpool(gauges.text)).encode()
        return Response(data, 200, media_type=ctype)

    async def ping(request: Request) -> Response:
        return Response(status_code=200 if repo.ready else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(None, srv.start)
        try:
            yield
        finally:
            if srv.predlog is not None:  # the records of the last requests, on this thread
                srv.predlog.put_waiting()
            await asyncio.get_running_loop().run_in_executor(None, srv.stop)

    m = "/v2/models/{name}"
    mv = "/v2/models/{name}/versions/{version}"
    routes = [
        Route("/v2", server_metadata),
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route(m, model_metadata),
        Route(mv, model_metadata),
        Route(m + "/ready", model_ready),
        Route(mv + "/ready", model_ready),
        Route(m + "/infer", infer, methods=["POST"]),
        Route(mv + "/infer", infer, methods=["POST"]),
        Route("/v2/repository/index", repository_index, methods=["POST"]),
        Route("/v2/repository/models/{name}/load", repository_load, methods=["POST"]),
        Route("/invocations", invocations, methods=["POST"]),
        Route("/models/{name}/invocations", invocations, methods=["POST"]),
        Route("/ping", ping),
        Route("/health", ping),
        Route("/metrics", prometheus),
    ]

    class App(Starlette):
        """Starlette, with POSTs to the inference paths answered directly (no middleware,
        routing or Request object: they took a quarter of the app's CPU time per single-row
        request) and, when asked for, one JSON access-log line per request."""

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await super().__call__(scope, receive, send)
            elif access_log:
                await self._logged(scope, receive, send)
            else:
                await self._http(scope, receive, send)

        async def _http(self, scope: Any, receive: Any, send: Any) -> int | None:
            """Answer; the status when the fast path answered, else None."""
            route = _route(scope) if scope["method"] == "POST" else None
            if route is None:
                await super().__call__(scope, receive, send)
                return None
            status, body, headers = await predict(scope, receive, *route)
            scope["tether.version"] = headers[1][1] if len(headers) > 1 else None
            await send({
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(body)),
                    *[(k.encode(), v.encode()) for k, v in headers],
                ],
            })  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return status

        async def _logged(self, scope: Any, receive: Any, send: Any) -> None:
            t0, started = time.perf_counter(), time.time()
            seen: dict[str, Any] = {"status": 500}

            async def watch(message: Any) -> None:
                if message["type"] == "http.response.start":
                    seen["status"] = message["status"]
                    for k, v in message.get("headers", ()):
                        if k in (b"x-request-id", b"x-model-version"):
                            seen[k.decode()] = v.decode("latin-1")
                await send(message)

            try:
                status = await self._http(scope, receive, watch)
                if status is not None:
                    seen["status"] = status
                    seen["x-request-id"] = scope.get("tether.request_id")
                    seen["x-model-version"] = scope.get("tether.version")
            finally:
                _access_line(scope, seen, started, time.perf_counter() - t0)

    application = App(routes=routes, lifespan=lifespan)
    application.state.server = srv
    application.tether_fast = FastPath(begin, finish, opts.max_body, access_log)  # type: ignore[attr-defined]
    return application


def _writer_process(workspace: Workspace) -> dict[str, Any] | None:
    """What the log's writer process needs to open this workspace as the server has it
    (``tether.serving.logwriter``), or None where its settings cannot be handed over."""
    spec = {
        "root": str(workspace.root), "overrides": workspace.overrides,
        "project": workspace.project,
    }  # fmt: skip
    try:
        json.dumps(spec)
    except (TypeError, ValueError):
        return None
    return spec


def _access_line(scope: Any, seen: dict[str, Any], started: float, latency: float) -> None:
    """One JSON line on the ``tether.serving.access`` logger."""
    from datetime import UTC, datetime

    if not access.isEnabledFor(logging.INFO):
        return
    rid = seen.get("x-request-id")
    if rid is None:
        rid = _request_id(_headers(scope).get("rid", b"").decode("latin-1"))
    version = seen.get("x-model-version")
    model = scope.get("tether.model") or scope.get("path_params", {}).get("name")
    line = {
        "time": datetime.fromtimestamp(started, UTC).isoformat(timespec="microseconds"),
        "request_id": rid,
        "method": scope["method"],
        "path": scope["path"],
        "status": seen["status"],
        "model": model,
        "version": int(version) if version is not None and version.isdigit() else None,
        "latency_ms": round(latency * 1e3, 3),
        "pid": os.getpid(),  # which worker answered (--workers N)
    }
    access.info("%s", _dumps(line).decode())
