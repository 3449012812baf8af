"""A real local HTTP receiver for webhook tests: verifies every request with the reference
``standardwebhooks`` package (independent of our signer) and records what it got.

It can be slow (``delay_s``), answer errors (``status``), or be down for real (``go_down`` closes the
listening socket: connection refused) and come back on the same port (``come_back``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Receipt:
    """One request as received: its webhook-id, parsed body, raw headers and body, and which secrets verified it."""

    webhook_id: str
    body: dict[str, Any]
    raw_body: bytes
    headers: dict[str, str]
    verified_by: tuple[str, ...]
    answered: int
    at: float


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (timeout) breaks the pipe: expected here, not worth a traceback."""

    daemon_threads = True
    request_queue_size = 256  # the default listen backlog of 5 drops connects when many sends start at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


@dataclass
class Receiver:
    """A threaded HTTP/1.1 server on 127.0.0.1 (keep-alive) verifying with ``secrets``."""

    secrets: list[str]
    status: int = 200
    delay_s: float = 0.0
    receipts: list[Receipt] = field(default_factory=list)
    #: Requests read so far (counted on arrival, before ``delay_s``: includes those still being answered).
    arrived: int = 0
    port: int = 0
    _server: _QuietServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _connections: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                verified = []
                for secret in receiver.secrets:
                    try:
                        Webhook(secret).verify(raw, headers)
                        verified.append(secret)
                    except WebhookVerificationError:
                        pass
                with receiver._lock:
                    receiver.arrived += 1
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                answer = receiver.status if verified else 401
                with receiver._lock:
                    receiver.receipts.append(
                        Receipt(
                            headers.get("webhook-id", ""),
                            json.loads(raw),
                            raw,
                            headers,
                            tuple(verified),
                            answer,
                            time.time(),
                        )
                    )
                payload = b"ok" if answer < 300 else b"no"
                self.send_response(answer)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def go_down(self) -> None:
        """Stop listening (new connections are refused; kept-alive ones are dropped by the client's errors)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def come_back(self) -> None:
        """Listen again on the same port."""
        self.start()

    def stop(self) -> None:
        self.go_down()

    def snapshot(self) -> list[Receipt]:
        with self._lock:
            return list(self.receipts)

    def accepted(self) -> list[Receipt]:
        """Receipts answered 2xx."""
        return [r for r in self.snapshot() if 200 <= r.answered < 300]


def wait_until(condition: Any, timeout_s: float = 20.0, interval_s: float = 0.02) -> bool:
    """Poll ``condition()`` until it is true or ``timeout_s`` passes; answers its last value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return bool(condition())
