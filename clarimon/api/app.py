"""The ASGI application: SageMaker's AWS JSON 1.1 protocol on `POST /`, a health check on `GET /ping`.

Operations run on a thread pool (they block on the database); the event loop only parses and routes.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import regex

from clarimon.api import runtime, service_model, validation, wire
from clarimon.api.gates import Crowded, Gates
from clarimon.api.identity import Caller, identify
from clarimon.api.operations import SAGEMAKER
from clarimon.clock import for_settings
from clarimon.config import Settings
from clarimon.control import endpoints
from clarimon.control.context import Context, Operation, Services
from clarimon.errors import (
    InternalFailure,
    RequestTimeout,
    SerializationException,
    ServiceError,
    UnknownOperationException,
    ValidationException,
)
from clarimon.jobs.scheduler import Scheduler
from clarimon.nulls import without_nulls
from clarimon.objects import Objects, open_objects
from clarimon.serving.capture import CaptureWriter
from clarimon.serving.host import Host
from clarimon.store import Store

log = logging.getLogger("clarimon.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

TARGET_PREFIX = "SageMaker."
MAX_BODY_BYTES = 16 * 1024 * 1024
INVOCATION_THREADS = 64
_INVOCATIONS = regex.compile(r"/endpoints/([^/]+)/invocations")


class App:
    """clarimon's HTTP surface over one store."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        operations: dict[str, Operation] | None = None,
        clock: Callable[[], float] | None = None,
        workers: int = 16,
        objects: Objects | None = None,
    ) -> None:
        self.operations = SAGEMAKER if operations is None else operations
        objects = objects or open_objects(settings.home, settings.s3_endpoint_url)
        self.services = Services(store, settings, clock or for_settings(settings.clock_file), objects, Host(),
                                 CaptureWriter(objects, settings.home / "capture-journal",
                                               settings.capture_flush_seconds))
        self.scheduler = Scheduler(self.services, interval=settings.scheduler_seconds,
                                   lease_seconds=settings.lease_seconds, concurrency=settings.job_workers)
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clarimon-op")
        # Model calls have threads of their own, a bounded number per endpoint (`gates`): a model that hangs
        # never holds a thread an operation needs.
        self.invocations = ThreadPoolExecutor(max_workers=INVOCATION_THREADS, thread_name_prefix="clarimon-invoke")
        self.gates = Gates(settings.invocations_per_endpoint)
        model = service_model.service_model("sagemaker")
        self.models = {name: model.operation_model(name) for name in self.operations}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            invocation = _INVOCATIONS.fullmatch(scope["path"]) if scope["method"] == "POST" else None
            if scope["method"] == "POST" and scope["path"] == "/":
                await self._sagemaker(scope, receive, send)
            elif invocation is not None:
                await self._invoke(scope, receive, send, invocation.group(1))
            elif scope["method"] == "GET" and scope["path"] == "/ping":
                await _respond(send, 200, b"", "text/plain", str(uuid.uuid4()))
            else:
                error = UnknownOperationException(f"No operation at {scope['method']} {scope['path']}.")
                await _respond(send, 404, orjson.dumps(wire.error_body(error)), wire.CONTENT_TYPE, str(uuid.uuid4()))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                endpoints.recover(self.services)
                self.scheduler.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=True)
                self.invocations.shutdown(wait=True)
                self.scheduler.close()
                self.services.capture.close()  # after the last request: what was answered is written
                self.services.host.stop()
                self.services.store.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sagemaker(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        headers = _headers(scope)
        target = headers.get("x-amz-target", "")
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else target or "-"
        caller = self._caller(headers)
        status = 200
        try:
            body = await _read_body(receive, MAX_BODY_BYTES, self.services.settings.body_seconds)
            handler = self.operations.get(operation) if target.startswith(TARGET_PREFIX) else None
            if handler is None:
                raise UnknownOperationException(f"clarimon does not serve the operation {target or '(none)'}.")
            request = _parse(body)
            context = Context(caller.account, caller.region, self.services)
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(self.executor, self._run, operation, handler, context, request)
            payload = orjson.dumps(result)
        except ServiceError as error:
            status, payload = error.status, orjson.dumps(wire.error_body(error))
        except Exception:
            log.exception("internal failure op=%s request_id=%s", operation, request_id)
            failure = InternalFailure("We encountered an internal error. Please try again.")
            status, payload = failure.status, orjson.dumps(wire.error_body(failure))
        await _respond(send, status, payload, wire.CONTENT_TYPE, request_id)
        code = "" if status == 200 else orjson.loads(payload)["__type"]
        log.info(
            "request op=%s status=%d code=%s ms=%.2f account=%s region=%s request_id=%s",
            operation, status, code or "-", (time.perf_counter() - started) * 1000,
            caller.account, caller.region, request_id,
        )

    def _caller(self, headers: dict[str, str]) -> Caller:
        settings = self.services.settings
        return identify(headers.get("authorization"), default_region=settings.region,
                        default_account=settings.account, accounts=settings.access_keys)

    async def _invoke(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        headers = _headers(scope)
        caller = self._caller(headers)
        context = Context(caller.account, caller.region, self.services)
        extra: list[tuple[bytes, bytes]] = []
        failure: runtime.InvocationError | None = None
        settings = self.services.settings
        try:
            body = await _read_body(receive, runtime.PAYLOAD_LIMIT + 1, settings.body_seconds)
            loop = asyncio.get_running_loop()
            async with self.gates.enter(f"{caller.account}/{caller.region}/{name}", settings.invoke_timeout_seconds):
                answer = await loop.run_in_executor(self.invocations, runtime.invoke, context, name, body, headers)
            status, payload, kind = 200, answer.body, answer.content_type
            extra.append((b"x-amzn-invoked-production-variant", answer.variant.encode()))
            if answer.custom_attributes:
                extra.append((b"x-amzn-sagemaker-custom-attributes", answer.custom_attributes.encode()))
        except runtime.InvocationError as error:
            failure = error
        except Crowded:
            failure = runtime.InvocationError(
                "ServiceUnavailable", 503, f"Endpoint {name} is busy: {settings.invocations_per_endpoint} requests "
                f"were in its model for the last {settings.invoke_timeout_seconds:g} s. Try again later.")
        except RequestTimeout as error:
            failure = runtime.InvocationError(error.code, error.status, error.message)
        except ValidationException:  # the body was over the limit
            failure = runtime.InvocationError("ValidationError", 400, "The request payload is larger than 6 MB.")
        except Exception:
            log.exception("internal failure op=InvokeEndpoint request_id=%s", request_id)
            failure = runtime.InvocationError("InternalFailure", 500, "We encountered an internal error.")
        if failure is not None:
            status, payload, kind = failure.status, failure.body(), "application/json"
            extra.append((b"x-amzn-errortype", failure.code.encode()))
        await _respond(send, status, payload, kind, request_id, extra)
        log.info("request op=InvokeEndpoint endpoint=%s status=%d ms=%.2f account=%s region=%s request_id=%s",
                 name, status, (time.perf_counter() - started) * 1000, caller.account, caller.region, request_id)

    def _run(self, operation: str, handler: Operation, context: Context, request: dict[str, Any]) -> Any:
        model = self.models[operation]
        validation.validate(model.input_shape, request)
        return wire.project(model.output_shape, handler(context, request))


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
