"""The ASGI application: SageMaker's AWS JSON 1.1 protocol on `POST /`, CloudWatch Logs' (the same protocol, told
apart by its `X-Amz-Target` prefix) on `POST /` too, sagemaker-runtime's InvokeEndpoint on
`POST /endpoints/<name>/invocations` (all signed: `identity`), a health check on `GET /ping` (open),
Prometheus' `GET /metrics` (a bearer token or anonymous mode: `metrics`), and the web console under `/console/`
(a session cookie from a key id and secret: `clarimon.console`).

Operations run on a thread pool (they block on the database); the event loop only parses and routes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
import regex

from clarimon.api import service_model, validation, wire
from clarimon.api.gates import Crowded, Gates
from clarimon.api.identity import Caller, Identities, Received, Regions, Signed
from clarimon.api.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from clarimon.api.metrics import Metrics
from clarimon.console.routes import MAX_FORM_BYTES, Console
from clarimon.console.sessions import Sessions
from clarimon.control import invocations
from clarimon.control.context import Context, Operation, Services
from clarimon.errors import (
    EndpointUnavailable,
    InternalFailure,
    InvalidParameterException,
    InvocationError,
    InvocationFailure,
    InvocationValidationError,
    RequestTimeout,
    SerializationException,
    ServiceError,
    SignatureError,
    UnknownOperationException,
    ValidationException,
)
from clarimon.nulls import without_nulls
from clarimon.telemetry import API_LATENCY, API_REQUESTS

log = logging.getLogger("clarimon.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TARGET_PREFIX = "SageMaker."
MAX_BODY_BYTES = 16 * 1024 * 1024
INVOCATION_THREADS = 64


@dataclass(frozen=True)
class Protocol:
    """One AWS JSON 1.1 service served on `POST /`: its target prefix, the service name its requests are signed
    for, its botocore model, and the code its validation errors carry."""

    target_prefix: str
    signing_service: str
    model: str
    invalid: type[ServiceError] = ValidationException


SAGEMAKER = Protocol(TARGET_PREFIX, "sagemaker", "sagemaker")
# CloudWatch Logs reports a broken constraint as InvalidParameterException, in Coral's usual words.
LOGS = Protocol("Logs_20140328.", "logs", "logs", InvalidParameterException)

_INVOCATIONS = regex.compile(r"/endpoints/([^/]+)/invocations")
_ENDPOINT_NAME = service_model.service_model("sagemaker-runtime").operation_model("InvokeEndpoint").input_shape.members[
    "EndpointName"]


class App:
    """clarimon's HTTP surface over one server's services; `on_startup` and `on_shutdown` run in its lifespan."""

    def __init__(
        self,
        services: Services,
        operations: dict[str, Operation],
        *,
        log_operations: dict[str, Operation] | None = None,
        on_startup: Callable[[], None],
        on_shutdown: Callable[[], None],
        workers: int = 16,
    ) -> None:
        self.services = services
        self.operations = operations
        self._on_startup, self._on_shutdown = on_startup, on_shutdown
        settings = services.settings
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clarimon-op")
        # Model calls have threads of their own, a bounded number per endpoint (`gates`): a model that hangs
        # never holds a thread an operation needs.
        self.invocations = ThreadPoolExecutor(max_workers=INVOCATION_THREADS, thread_name_prefix="clarimon-invoke")
        self.gates = Gates(settings.invocations_per_endpoint)
        self.identities = Identities(
            credentials=settings.credentials, regions=Regions(settings.regions), default_account=settings.account,
            default_region=settings.region, access_keys=settings.access_keys)
        self.tables = {SAGEMAKER: self.operations, LOGS: log_operations or {}}
        self.models = {(protocol, name): service_model.operation_model(name, protocol.model)
                       for protocol, table in self.tables.items() for name in table}
        # The console signs in with the keys the API verifies; without them (anonymous mode) it needs no sign-in.
        self.console = Console(services, Sessions(self.identities.credentials, services.store.secret,
                                                  settings.account))
        self.metrics = Metrics(services)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            invocation = _INVOCATIONS.fullmatch(scope["path"]) if scope["method"] == "POST" else None
            if scope["method"] == "POST" and scope["path"] == "/":
                await self._json(scope, receive, send)
            elif invocation is not None:
                await self._invoke(scope, receive, send, invocation.group(1))
            elif scope["method"] == "GET" and scope["path"] == "/ping":
                await _respond(send, 200, b"", "text/plain", str(uuid.uuid4()))
            elif scope["path"] == "/console" or scope["path"].startswith("/console/"):
                await self._console(scope, receive, send)
            elif scope["method"] == "GET" and scope["path"] == "/metrics":
                await self._metrics(scope, send)
            else:
                error = UnknownOperationException(f"No operation at {scope['method']} {scope['path']}.")
                await _respond(send, 404, _rendered(error), wire.CONTENT_TYPE, str(uuid.uuid4()))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._on_startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=True)  # the last request is answered before anything stops
                self.invocations.shutdown(wait=True)
                self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _json(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A JSON 1.1 request: SageMaker's, or CloudWatch Logs' when its target says so."""
        request = self._request(scope)
        target = request.headers.get("x-amz-target", "")
        protocol = LOGS if target.startswith(LOGS.target_prefix) else SAGEMAKER
        known = target.startswith(protocol.target_prefix)
        operation = target[len(protocol.target_prefix):] if known else target or "-"
        status = 200
        try:
            caller, signed = self.identities.before_body(request.received, protocol.signing_service)
            body = await _read_body(receive, MAX_BODY_BYTES, self.services.settings.body_seconds)
            context = self._verified(request, caller, signed, body)
            handler = self.tables[protocol].get(operation) if known else None
            if handler is None:
                raise UnknownOperationException(f"clarimon does not serve the operation {target or '(none)'}.")
            parsed = _parse(body)
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.executor, self._run, protocol, operation, handler, context,
                                                parsed)
            payload = orjson.dumps(result)
        except ServiceError as error:
            status, payload = error.status, _rendered(error)
        except Exception:
            log.exception("internal failure op=%s request_id=%s", operation, request.id)
            failure = InternalFailure("We encountered an internal error. Please try again.")
            status, payload = failure.status, _rendered(failure)
        await _respond(send, status, payload, wire.CONTENT_TYPE, request.id)
        code = "" if status == 200 else orjson.loads(payload)["__type"]
        request.log(f"op={operation} status={status} code={code or '-'}")
        request.count(operation if operation in self.operations else "-", code)

    async def _metrics(self, scope: Scope, send: Send) -> None:
        request_id = str(uuid.uuid4())
        refused = self.metrics.refused(_headers(scope).get("authorization"))
        if refused is not None:
            status, reason = refused
            extra = [(b"www-authenticate", b"Bearer")] if status == 401 else []
            await _respond(send, status, reason.encode(), "text/plain; charset=utf-8", request_id, extra)
            return
        try:
            loop = asyncio.get_running_loop()
            page = await loop.run_in_executor(self.executor, self.metrics.page)
        except ServiceError as error:  # the database is away: the scrape fails, visibly, and the next one retries
            await _respond(send, error.status, f"{error.message}\n".encode(), "text/plain; charset=utf-8",
                           request_id)
            return
        await _respond(send, 200, page, METRICS_CONTENT_TYPE, request_id)

    async def _console(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self._request(scope)
        method, path = scope["method"], scope["path"]
        try:
            body = await _read_body(receive, MAX_FORM_BYTES, self.services.settings.body_seconds)
            loop = asyncio.get_running_loop()
            answer = await loop.run_in_executor(self.executor, self.console.answer, method, path,
                                                scope.get("query_string", b"").decode("latin-1"), request.headers,
                                                body)
            status, payload, kind = answer.status, answer.body, answer.content_type
            extra = [(k.encode(), v.encode()) for k, v in answer.headers]
        except ServiceError as error:  # the database is away, or the form is too large
            status, payload, kind, extra = error.status, f"{error.message}\n".encode(), "text/plain", []
        except Exception:
            log.exception("internal failure console path=%s request_id=%s", path, request.id)
            status, payload, kind, extra = 500, b"Internal error: see the server's log.\n", "text/plain", []
        await _respond(send, status, payload, kind, request.id, extra)
        request.log(f"console={method} path={path} status={status}")

    def _request(self, scope: Scope) -> _Request:
        headers = _headers(scope)
        received = Received(scope["method"], scope.get("raw_path") or scope["path"].encode(),
                            scope.get("query_string", b""), scope["headers"], headers.get("authorization"),
                            headers.get("x-amz-date"))
        return _Request(headers, received)

    def _verified(self, request: _Request, caller: Caller, signed: Signed | None, body: bytes) -> Context:
        """The caller's context once the signature covers the body too (SignatureError if not); only then does the
        request's log line name the caller."""
        self.identities.after_body(request.received, signed, body)
        request.caller = caller
        return Context(caller.account, caller.region, self.services)

    async def _invoke(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        request = self._request(scope)
        extra: list[tuple[bytes, bytes]] = []
        failure: ServiceError | None = None
        settings = self.services.settings
        try:
            caller, signed = self.identities.before_body(request.received)
            body = await _read_body(receive, invocations.PAYLOAD_LIMIT + 1, settings.body_seconds)
            context = self._verified(request, caller, signed, body)
            problem = validation.string_errors(_ENDPOINT_NAME, name, "endpointName")
            if problem is not None:  # checked before any lookup: a name such as "\x00" is no key of the database
                raise InvocationValidationError(problem)
            loop = asyncio.get_running_loop()
            async with self.gates.enter(f"{caller.account}/{caller.region}/{name}", settings.invoke_timeout_seconds):
                answer = await loop.run_in_executor(self.invocations, invocations.invoke, context, name, body,
                                                    request.headers)
            status, payload, kind = 200, answer.body, answer.content_type
            extra.append((b"x-amzn-invoked-production-variant", answer.variant.encode()))
            if answer.custom_attributes:
                extra.append((b"x-amzn-sagemaker-custom-attributes", answer.custom_attributes.encode()))
        except (InvocationError, SignatureError) as error:  # the runtime answers these in its own protocol
            failure = error
        except Crowded:
            failure = EndpointUnavailable(
                f"Endpoint {name} is busy: {settings.invocations_per_endpoint} requests were in its model for the "
                f"last {settings.invoke_timeout_seconds:g} s. Try again later.")
        except RequestTimeout as error:
            failure = error
        except ValidationException:  # the body was over the limit
            failure = InvocationValidationError("The request payload is larger than 6 MB.")
        except Exception:
            log.exception("internal failure op=InvokeEndpoint request_id=%s", request.id)
            failure = InvocationFailure("We encountered an internal error.")
        if failure is not None:
            status, payload, kind = failure.status, _rendered(failure), "application/json"
            extra.append((b"x-amzn-errortype", failure.code.encode()))
        await _respond(send, status, payload, kind, request.id, extra)
        request.log(f"op=InvokeEndpoint endpoint={name} status={status}")
        request.count("InvokeEndpoint", failure.code if failure is not None else "")

    def _run(self, protocol: Protocol, operation: str, handler: Operation, context: Context,
             request: dict[str, Any]) -> Any:
        model = self.models[(protocol, operation)]
        try:
            validation.validate(model.input_shape, request)
        except ValidationException as error:
            raise protocol.invalid(error.message) from None
        return wire.project(model.output_shape, handler(context, request))


@dataclass
class _Request:
    """One HTTP request's identity: its headers, caller and operation context, its id and when it came."""

    headers: dict[str, str]
    received: Received
    caller: Caller = field(default_factory=lambda: Caller("-", "-"))  # until identified
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.perf_counter)

    def count(self, operation: str, code: str) -> None:
        """The request in the API's metrics: by operation (a known one, else '-') and error code."""
        API_REQUESTS.labels(operation, code).inc()
        API_LATENCY.labels(operation).observe(time.perf_counter() - self.started)

    def log(self, what: str) -> None:
        """The request's one log line."""
        log.info("request %s ms=%.2f account=%s region=%s request_id=%s", what,
                 (time.perf_counter() - self.started) * 1000, self.caller.account, self.caller.region, self.id)


def _rendered(error: ServiceError) -> bytes:
    return orjson.dumps(wire.error_body(error))


def _parse(body: bytes) -> dict[str, Any]:
    try:
        request = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise SerializationException("The request body is not valid JSON.") from None
    if not isinstance(request, dict):
        raise SerializationException("The request body must be a JSON object.")
    return dict(without_nulls(request))  # SageMaker's JSON protocol reads a null member as an absent one


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _read_body(receive: Receive, limit: int, seconds: float) -> bytes:
    """The request body; ValidationException past `limit` bytes, RequestTimeout if it takes over `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            return await _receive_body(receive, limit)
    except TimeoutError:
        raise RequestTimeout(f"The request body did not arrive within {seconds:g} s.") from None


async def _receive_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValidationException(f"The request body is larger than {limit} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(send: Send, status: int, payload: bytes, content_type: str, request_id: str,
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
