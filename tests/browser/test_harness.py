"""The harness itself: the live server answers, Chromium renders it, axe-core runs and can fail."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import LiveServer, assert_accessible


def test_live_server_answers_in_chromium(live_server: LiveServer, desk_page: Page) -> None:
    desk_page.goto(live_server.url("/healthz"))
    assert '"ok"' in desk_page.content()
    assert live_server.admin.get("/v1/warehouses").status_code == 200


def test_axe_finds_a_missing_label(desk_page: Page) -> None:
    desk_page.set_content('<html lang="en"><title>t</title><main><input type="text"></main></html>')
    with pytest.raises(AssertionError, match="label"):
        assert_accessible(desk_page)
