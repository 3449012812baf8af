"""The benchmark's webhook receiver: a minimal HTTP/1.1 keep-alive server on asyncio (its own process, so
it never competes with the worker for the GIL). It checks each request's Standard Webhooks signature
(its own few lines of HMAC, not the worker's signer), answers 200 (401 on a bad signature), and on
SIGTERM writes one line per request: ``webhook-id<TAB>waybill_no<TAB>receipt unix time<TAB>ok``.

Run: ``python -m benchmarks.webhook_receiver SECRET OUT_FILE``; prints ``PORT <n>`` once listening.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import signal
import sys
import time
from typing import Any

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"
REFUSED = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n"


class _Receipts:
    def __init__(self, secret: str) -> None:
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.lines: list[str] = []

    def take(self, headers: dict[str, str], body: bytes) -> bool:
        received = time.time()
        message_id = headers.get("webhook-id", "")
        signed = f"{message_id}.{headers.get('webhook-timestamp', '')}.".encode() + body
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest()).decode()
        offered = [part.partition(",")[2] for part in headers.get("webhook-signature", "").split(" ")]
        ok = any(hmac.compare_digest(expected, sig) for sig in offered)
        try:
            waybill_no = str(json.loads(body)["data"]["waybill_no"])
        except (ValueError, KeyError, TypeError):
            waybill_no, ok = "", False
        self.lines.append(f"{message_id}\t{waybill_no}\t{received:.6f}\t{int(ok)}")
        return ok


class _Http(asyncio.Protocol):
    def __init__(self, receipts: _Receipts) -> None:
        self.receipts = receipts
        self.buffer = bytearray()
        self.transport: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # uvloop's transport is not an asyncio.Transport subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            headers: dict[str, str] = {}
            for line in bytes(self.buffer[:end]).decode("latin-1").split("\r\n")[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            ok = self.receipts.take(headers, body)
            self.transport.write(OK if ok else REFUSED)


async def _serve(secret: str, out_path: str) -> None:
    receipts = _Receipts(secret)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Http(receipts), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"PORT {port}", flush=True)
    stopped = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopped.set)
    await stopped.wait()
    server.close()
    with open(out_path, "w") as out:
        out.write("\n".join(receipts.lines))


def main() -> None:
    """Entry point: ``SECRET OUT_FILE``."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(sys.argv[1], sys.argv[2]))


if __name__ == "__main__":
    main()
