"""The pages' assets: the charting library served is the npm package the lock pins, byte for byte, and
every asset comes from the platform itself (no CDN at run time)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.pages.conftest import NODE_MODULES, ROOT, Seeded

STATIC = ROOT / "services" / "gateway" / "pages" / "static"
TEMPLATES = ROOT / "services" / "gateway" / "pages" / "templates"


def test_the_served_chart_js_is_the_locked_npm_package(browser_installed: None) -> None:
    served = (STATIC / "vendor" / "chart.umd.min.js").read_bytes()
    assert served == (NODE_MODULES / "chart.js" / "dist" / "chart.umd.min.js").read_bytes()
    assert b"Chart.js v4.6.1" in served[:200]


def test_no_page_loads_anything_from_another_site() -> None:
    for template in [*TEMPLATES.glob("*.html"), STATIC / "pages.css", STATIC / "charts.js"]:
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), template
        assert "@import" not in text and "url(http" not in text, template


async def test_the_assets_are_served_under_app_static(seeded: Seeded) -> None:
    async with httpx.AsyncClient(base_url=seeded.base_url) as client:
        for path, kind in (
            ("/app/static/vendor/chart.umd.min.js", "javascript"),
            ("/app/static/charts.js", "javascript"),
            ("/app/static/pages.css", "text/css"),
        ):
            r = await client.get(path)
            assert r.status_code == 200 and kind in r.headers["content-type"], path
        assert (await client.get("/app/static/vendor/chart.umd.min.js")).content == (
            STATIC / "vendor" / "chart.umd.min.js"
        ).read_bytes()


def test_the_package_ships_the_templates_and_assets() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pattern in ('"*.html"', '"*.js"', '"*.css"'):
        assert pattern in pyproject, pattern
    assert Path(STATIC / "vendor" / "chart.js-LICENSE.txt").is_file()
