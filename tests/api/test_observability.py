"""Logs: one readable line per request on a terminal, JSON lines elsewhere, either by setting."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator

import pytest
import structlog

from api.observability import configure_logging, resolve_log_format
from api.settings import Settings


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_structlog() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _log_a_request(stream: io.StringIO, log_format: str) -> list[str]:
    chosen = configure_logging(log_format, stream=stream)
    structlog.get_logger("api.request").info(
        "request", method="PUT", path="/v1/skus/SKU-0001", status=201, duration_ms=3.21, request_id="ab12"
    )
    structlog.get_logger("api.demo").info("demo_data_loaded", warehouses=3, skus=50)
    assert chosen == log_format or log_format == "auto"
    return stream.getvalue().splitlines()


def test_console_format_prints_one_short_readable_line_per_request() -> None:
    coloured = _log_a_request(_Terminal(), "console")
    request_line, demo_line = (re.sub(r"\x1b\[[0-9;]*m", "", line) for line in coloured)
    assert "PUT /v1/skus/SKU-0001 201 3.21 ms" in request_line
    assert "request_id=ab12" in request_line and not request_line.lstrip().startswith("{")
    assert "demo_data_loaded" in demo_line and "skus=50" in demo_line


def test_json_format_prints_one_json_object_per_line() -> None:
    request_line, demo_line = _log_a_request(io.StringIO(), "json")
    event = json.loads(request_line)
    assert event["event"] == "request" and event["method"] == "PUT" and event["status"] == 201
    assert event["request_id"] == "ab12" and event["level"] == "info" and event["timestamp"].endswith("Z")
    assert json.loads(demo_line)["skus"] == 50


def test_console_format_without_a_terminal_has_no_colour_codes() -> None:
    request_line, _ = _log_a_request(io.StringIO(), "console")
    assert "\x1b[" not in request_line and "PUT /v1/skus/SKU-0001 201 3.21 ms" in request_line


def test_auto_format_is_console_on_a_terminal_and_json_otherwise() -> None:
    assert resolve_log_format("auto", stream=_Terminal()) == "console"
    assert resolve_log_format("auto", stream=io.StringIO()) == "json"
    (line, _) = _log_a_request(io.StringIO(), "auto")
    assert json.loads(line)["path"] == "/v1/skus/SKU-0001"
    # the setting wins over the terminal; the older log_json switch still works when the format is auto
    assert resolve_log_format("json", stream=_Terminal()) == "json"
    assert resolve_log_format("auto", log_json=False, stream=io.StringIO()) == "console"
    assert resolve_log_format("auto", log_json=True, stream=_Terminal()) == "json"
    with pytest.raises(ValueError, match="log format"):
        resolve_log_format("yaml")


def test_log_format_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_LOG_FORMAT", "console")
    assert Settings().log_format == "console"
    monkeypatch.setenv("DISPATCH_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        Settings()
