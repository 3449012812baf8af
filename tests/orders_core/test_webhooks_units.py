"""The webhook worker's small parts on their own: the HTTP client against raw sockets, the circuit
breaker, the retry schedule and the Standard Webhooks signer (checked with the reference package)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from api.settings import Settings
from orders_core.carriers.service import new_webhook_secret
from orders_core.transport.webhooks.breaker import CircuitBreaker
from orders_core.transport.webhooks.http import SendError, WebhookHttpClient
from orders_core.transport.webhooks.model import parse_retry_schedule, retry_wait_s
from orders_core.transport.webhooks.signing import secret_key, signed_headers

Responder = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return await reader.readexactly(length)


async def _serve(responder: Responder) -> tuple[asyncio.Server, str, list[int]]:
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            await responder(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hook", connections


def _client(timeout_s: float = 2.0) -> WebhookHttpClient:
    return WebhookHttpClient(connect_timeout_s=timeout_s, request_timeout_s=timeout_s, user_agent="test")


def test_chunked_answers_are_read_and_the_connection_is_reused() -> None:
    async def responder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            body = await _read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nok:\r\n")
            writer.write(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
            await writer.drain()

    async def scenario() -> None:
        server, url, connections = await _serve(responder)
        client = _client()
        first = await client.post(url, b'{"a":1}', {"content-type": "application/json"})
        second = await client.post(url, b'{"b":2}', {})
        await client.aclose()
        server.close()
        assert (first.status, first.body, second.body) == (200, b'ok:{"a":1}', b'ok:{"b":2}')
        assert len(connections) == 1

    asyncio.run(scenario())


def test_connection_close_answers_without_length_and_stale_keep_alive_connections() -> None:
    async def close_after_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy")  # read until EOF
        await writer.drain()

    async def silently_closes(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # keep-alive promised, then the server hangs up
        await writer.drain()

    async def scenario() -> None:
        server, url, connections = await _serve(close_after_answer)
        client = _client()
        answers = [await client.post(url, b"{}", {}) for _ in range(2)]
        assert [(a.status, a.body) for a in answers] == [(503, b"busy")] * 2 and len(connections) == 2
        server.close()
        server, url, connections = await _serve(silently_closes)
        assert (await client.post(url, b"{}", {})).status == 204
        await asyncio.sleep(0.05)
        assert (await client.post(url, b"{}", {})).status == 204  # the dead pooled connection is replaced
        assert len(connections) == 2
        await client.aclose()
        server.close()

    asyncio.run(scenario())


def test_redirects_are_answers_not_followed_and_garbage_timeouts_refusals_are_send_errors() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 302 Found\r\nlocation: http://elsewhere/\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await asyncio.sleep(5)

    async def scenario() -> None:
        client = _client(timeout_s=0.3)
        server, url, _ = await _serve(redirect)
        assert (await client.post(url, b"{}", {})).status == 302
        server.close()
        server, url, _ = await _serve(garbage)
        with pytest.raises(SendError, match="not an HTTP"):
            await client.post(url, b"{}", {})
        server.close()
        server, url, _ = await _serve(silent)
        started = time.monotonic()
        with pytest.raises(SendError, match="timed out"):
            await client.post(url, b"{}", {})
        assert time.monotonic() - started < 1.0
        server.close()
        await server.wait_closed()
        with pytest.raises(SendError):
            await client.post(url, b"{}", {})  # nobody listens there any more
        with pytest.raises(SendError, match="not an http"):
            await client.post("ftp://example.org/x", b"{}", {})
        await client.aclose()

    asyncio.run(scenario())


def test_breaker_opens_after_consecutive_failures_half_opens_and_closes_on_success() -> None:
    breaker = CircuitBreaker(failures=3, open_s=1.0, max_open_s=3.0)
    assert breaker.capacity("a", 0.0, 64) == 64
    assert [breaker.record("a", False, t) for t in (0.0, 0.1, 0.2)] == [False, False, True]
    assert breaker.capacity("a", 0.5, 64) == 0 and breaker.open_keys(0.5) == ["a"]
    assert breaker.capacity("b", 0.5, 64) == 64  # other endpoints are not affected
    assert breaker.capacity("a", 1.3, 64) == 1  # half-open: one probe
    assert breaker.tripped_keys() == ["a"] and breaker.open_keys(1.3) == []
    assert breaker.record("a", False, 1.3) and breaker.open_until("a") == pytest.approx(3.3)  # doubled
    assert breaker.record("a", False, 3.5) and breaker.open_until("a") == pytest.approx(6.5)  # capped at 3 s
    breaker.record("a", True, 7.0)
    assert breaker.capacity("a", 7.0, 64) == 64 and breaker.open_keys(7.0) == []


def test_retry_schedule_parses_jitters_within_bounds_and_ends_in_dead_letter() -> None:
    assert parse_retry_schedule("5, 300,1800") == (5.0, 300.0, 1800.0)
    for bad in ("-1", "5,abc", "inf"):
        with pytest.raises(ValueError):
            parse_retry_schedule(bad)
    rng = random.Random(7)
    waits = [retry_wait_s((10.0, 100.0), 1, 0.1, rng) for _ in range(200)]
    assert all(w is not None and 9.0 <= w <= 11.0 for w in waits) and len(set(waits)) > 100
    assert 90.0 <= (retry_wait_s((10.0, 100.0), 2, 0.1, rng) or 0) <= 110.0
    assert retry_wait_s((10.0, 100.0), 3, 0.1, rng) is None  # first try + 2 retries, then dead-letter
    with pytest.raises(ValidationError):
        Settings(webhook_retry_s="5,-3")
    assert Settings(webhook_retry_s="0.5,2").webhook_params().retry_s == (0.5, 2.0)
    assert Settings().webhook_params().retry_s == (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


def test_signer_output_verifies_with_the_reference_package_for_each_secret() -> None:
    first, second = new_webhook_secret(), new_webhook_secret()
    body = b'{"type":"waybill.created","timestamp":"2026-01-01T00:00:00Z","data":{}}'
    headers = signed_headers([secret_key(second), secret_key(first)], "msg_1", int(time.time()), body)
    assert headers["webhook-signature"].count("v1,") == 2
    for secret in (first, second):
        assert Webhook(secret).verify(body, headers) == {
            "type": "waybill.created",
            "timestamp": "2026-01-01T00:00:00Z",
            "data": {},
        }
    with pytest.raises(Exception, match="signature"):
        Webhook(new_webhook_secret()).verify(body, headers)
