"""ASGI middleware: Cache-Control, JSON/text compression, request and response size limits,
request deadlines."""

import asyncio
import gzip
import logging
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from titiler.responses import JSONResponse

logger = logging.getLogger(__name__)

_COMPRESSIBLE = ("application/json", "application/geo+json", "application/xml", "text/")
_MINIMUM_COMPRESS_SIZE = 500


class CacheControlMiddleware:
    """Add `Cache-Control` to successful GET/HEAD responses that do not set their own."""

    def __init__(self, app: ASGIApp, cachecontrol: str | None) -> None:
        self.app = app
        self.cachecontrol = cachecontrol

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.cachecontrol:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = str(self.cachecontrol)
            await send(message)

        await self.app(scope, receive, send_with_header)


class CompressionMiddleware:
    """Gzip JSON, XML and text when the client accepts it; images are already compressed."""

    def __init__(self, app: ASGIApp, minimum_size: int = _MINIMUM_COMPRESS_SIZE) -> None:
        self.app = app
        self.minimum_size = minimum_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "gzip" not in Headers(scope=scope).get("accept-encoding", ""):
            await self.app(scope, receive, send)
            return
        start: MutableMapping[str, Any] = {}
        body = bytearray()
        passthrough = False

        async def buffered_send(message: Message) -> None:
            nonlocal passthrough
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                media_type = headers.get("content-type", "")
                passthrough = "content-encoding" in headers or not media_type.startswith(
                    _COMPRESSIBLE
                )
                if passthrough:
                    await send(message)
                else:
                    start.update(message)
                return
            if passthrough or message["type"] != "http.response.body":
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            headers = MutableHeaders(raw=list(start["headers"]))
            payload = bytes(body)
            if len(payload) >= self.minimum_size:
                payload = gzip.compress(payload, compresslevel=6)
                headers["Content-Encoding"] = "gzip"
                headers.append("Vary", "Accept-Encoding")
            headers["Content-Length"] = str(len(payload))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": payload})

        await self.app(scope, receive, buffered_send)


class SizeLimitMiddleware:
    """Refuse request bodies over `max_body_bytes` (413) and replace responses over
    `max_response_bytes` with a 400 that asks for a smaller output: Lambda cannot return
    more than 6 MB once base64-encoded, and API Gateway would answer a bare 502.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, max_response_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_response_bytes = max_response_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await self._reject(send, 413, self._body_message())
            return

        # Read the body before the app does: a chunked body (no Content-Length) that grows past
        # the limit inside FastAPI's body parsing would become a 400 "error parsing the body".
        buffered: list[Message] = []
        received = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                await self._reject(send, 413, self._body_message())
                return
            if not message.get("more_body", False):
                break

        async def limited_receive() -> Message:
            return buffered.pop(0) if buffered else await receive()

        replaced = False

        async def checked_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if message["type"] == "http.response.start":
                length = Headers(raw=message["headers"]).get("content-length")
                if length is not None and int(length) > self.max_response_bytes:
                    replaced = True
                    await self._reject(
                        send,
                        400,
                        f"The response would be {int(length)} bytes, more than the "
                        f"{self.max_response_bytes} this server can return; ask for a smaller "
                        "size (width/height/max_size) or a compressed format (jpeg, webp).",
                    )
                    return
            await send(message)

        await self.app(scope, limited_receive, checked_send)

    def _body_message(self) -> str:
        return f"The request body is larger than {self.max_body_bytes} bytes."

    @staticmethod
    async def _reject(send: Send, status: int, detail: str) -> None:
        response = JSONResponse({"detail": detail}, status_code=status)
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class RootPathMiddleware:
    """Serve under a path prefix (`TITILER_API_ROOT_PATH`, e.g. a REST API stage) when the
    server in front sets none, so that every link the app builds carries the prefix.
    """

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root_path and scope["type"] in ("http", "websocket") and not scope.get("root_path"):
            scope = {**scope, "root_path": self.root_path}
        await self.app(scope, receive, send)


class HeadMiddleware:
    """Answer HEAD like GET without the body (FastAPI routes GET only): map clients and CDNs
    probe tiles with HEAD and expect the same status and headers.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)


class DeadlineMiddleware:
    """Answer 504 with a JSON `detail` when a request runs out of time.

    The limit is `request_timeout` seconds when set, and on Lambda never later than the
    invocation's remaining time less `lambda_margin` (Mangum puts the invocation context in
    `scope["aws.context"]`). Without it, a source that answers slowly on every read can outlast
    the function: Lambda then kills the invocation and API Gateway answers a bare 502/504 with
    no reason. The read itself cannot be interrupted; its thread finishes (GDAL's own HTTP
    timeouts bound it) and its result is dropped.
    """

    def __init__(
        self, app: ASGIApp, request_timeout: float | None, lambda_margin: float = 0.5
    ) -> None:
        self.app = app
        self.request_timeout = request_timeout
        self.lambda_margin = lambda_margin

    def time_limit(self, scope: Scope) -> float | None:
        """Seconds this request may take, or None for no limit."""
        limits = [self.request_timeout] if self.request_timeout else []
        context = scope.get("aws.context")
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if callable(remaining):
            limits.append(max(remaining() / 1000 - self.lambda_margin, 0.1))
        return min(limits) if limits else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.time_limit(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking_send), limit)
        except TimeoutError:
            logger.warning("%s %s: no answer within %.1f s", scope["method"], scope["path"], limit)
            if started:  # part of the answer is out: nothing sound can follow it
                return
            detail = (
                f"The request did not finish within {limit:.1f} s: the source answers too "
                "slowly. Try again, or ask for a smaller image."
            )
            await JSONResponse({"detail": detail}, status_code=504)(scope, receive, send)
