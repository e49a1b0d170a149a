"""The pages in the distributed mode: nginx in front (rendered from services/edge/routes.py, where
`/app/` goes to the gateway app), the gateway and the services as processes on PostgreSQL and the
broker, the gateway reading the services' APIs over HTTP. Signed in through the form, through nginx."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import Browser

from shared.cluster import LocalCluster
from tests.e2e.conftest import cluster  # noqa: F401 (the fixture: the platform as `make up` runs it)
from tests.pages.test_dashboard import chart

pytestmark = pytest.mark.e2e


async def test_the_pages_are_served_through_nginx(cluster: LocalCluster, browser: Browser) -> None:  # noqa: F811
    base = cluster.public_url
    district = f"pages-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        r = await client.get("/app/pipeline")
        assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?return_to=")
        token = (
            await client.post("/auth/dev/token", json={"district_id": district, "roles": ["edtech"]})
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = await client.post(
            "/api/catalog/tools", json={"name": "GeoGebra", "subjects": ["math"]}, headers=headers
        )
        assert r.status_code == 201, r.text

    context = await browser.new_context()
    context.set_default_timeout(10_000)
    try:
        page = await context.new_page()
        await page.goto(f"{base}/app/pipeline")
        assert "/auth/login" in page.url
        await page.fill("#district_id", district)
        await page.fill("#subject", "edge-tester")
        async with page.expect_navigation():
            await page.click("button[type=submit]")
        assert page.url == f"{base}/app/pipeline"
        drawn = await chart(page, "stages")
        assert drawn["labels"][0] == "Proposed" and drawn["datasets"][0]["data"] == [1, 0, 0, 0, 0, 0, 0, 0]
        assert "GeoGebra" in await page.inner_text("#table-tools")

        response = await page.goto(f"{base}/app/dashboard?month=2026-03")
        assert response is not None and response.status == 200
        assert (await chart(page, "logins-by-grade"))["labels"] == []
        assert len(await page.query_selector_all("section.figure .freshness")) == 9
        asset = await page.request.get(f"{base}/app/static/vendor/chart.umd.min.js")
        assert asset.status == 200 and b"Chart.js v4.6.1" in (await asset.body())[:200]
    finally:
        await context.close()
