"""The API docs work with no internet: /api/docs in real Chromium with every request that leaves the
machine refused, and the operations are listed."""

import pytest

from tests.e2e.conftest import chinese_tab, shoot

pytestmark = pytest.mark.e2e


def test_api_docs_render_offline(playwright_api, live_server, db):
    outside = []

    def only_local(route):
        url = route.request.url
        if url.startswith(live_server.url):
            return route.continue_()
        outside.append(url)
        return route.abort()

    with chinese_tab(playwright_api) as tab:
        tab.route("**/*", only_local)
        tab.goto(f"{live_server.url}/api/docs")
        playwright_api.expect(
            tab.locator(".opblock-summary-path", has_text="/api/v1/orders").first
        ).to_be_visible()
        paths = set(tab.locator(".opblock-summary-path").all_inner_texts())
        shoot(tab, "api-docs-offline.png")
    assert {"/api/v1/health", "/api/v1/orders", "/api/v1/contract/order.schema.json"} <= paths
    assert outside == [] and tab.failed_responses == [] and tab.errors == []
