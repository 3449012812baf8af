"""Reject NUL characters anywhere in a request, and oversized bodies, before they reach a handler.

PostgreSQL text cannot hold NUL, so such input would fail deep inside a transaction; SQLite would store
it silently. Either way it is never meaningful in this API, so it is a 422 at the door, for every route.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A JSON escape \u0000 is one preceded by an even number of backslashes (``\\u0000`` is a backslash and "u0000").
NUL_IN_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00")
MESSAGE = "NUL characters (\\u0000) are not allowed in paths, query strings or bodies"
MAX_BODY_BYTES = 16 * 1024 * 1024


class RequestInputGuard:
    """Pure ASGI middleware: buffers the (small) JSON body once, checks it, then replays it to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        if b"\x00" in unquote_to_bytes(raw_path) or b"\x00" in unquote_to_bytes(scope.get("query_string", b"")):
            await _reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
            size += len(chunks[-1])
            if size > MAX_BODY_BYTES:
                await _reject(send, 413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
                return
        body = b"".join(chunks)
        if not _is_file_upload(scope) and NUL_IN_JSON.search(body):
            await _reject(send)
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _is_file_upload(scope: Scope) -> bool:
    """A multipart upload (an XLSX export is a zip: NUL bytes are its content); its handler checks its own
    text fields, and the files are parsed, never stored as text."""
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return bool(value.lower().startswith(b"multipart/form-data"))
    return False


def _replay(messages: list[Message], receive: Receive | None = None) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        if receive is not None:
            return await receive()  # e.g. http.disconnect while the handler runs
        return {"type": "http.disconnect"}

    return replayed


async def _reject(send: Send, status: int = 422, code: str = "invalid_input", message: str = MESSAGE) -> None:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
