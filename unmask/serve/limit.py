"""A request body over the upload limit is answered 413 before the app parses any of it (:class:`BodyLimit`, an
ASGI middleware): at once when its ``Content-Length`` says so, else as soon as the bytes received pass the limit
(a chunked upload). A body within the limit is held in memory and handed to the app unchanged."""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyLimit:
    """Wraps an ASGI ``app``: HTTP bodies of more than ``limit`` bytes get 413 with a one-line JSON ``detail``
    (``limit_mb``: the limit as the user set it, for the message)."""

    def __init__(self, app: Callable, limit: int, limit_mb: float) -> None:
        self.app = app
        self.limit = limit
        self.limit_mb = limit_mb

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        held: list[Message] = []
        size = 0
        while True:
            message = await receive()
            held.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send)
                return
            if not message.get("more_body", False):
                break
        replay = iter(held)

        async def again() -> Message:
            try:
                return next(replay)
            except StopIteration:
                return await receive()

        await self.app(scope, again, send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"the upload is over the limit of {self.limit_mb:g} MB"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
