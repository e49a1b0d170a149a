"""The API's documentation pages (Swagger UI and ReDoc) with every asset served by the app itself.

FastAPI's default pages load their scripts, styles and fonts from a CDN and stay blank on a
filtered network. The assets here come from the pinned `fastapi-offline` package (Swagger UI's
bundle and CSS, ReDoc's standalone bundle, a favicon), mounted next to the pages.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"


def install_docs(
    app: FastAPI,
    *,
    openapi_url: str,
    title: str,
    docs_url: str | None = "/docs",
    redoc_url: str | None = "/redoc",
    assets_url: str = "/docs-assets",
) -> None:
    """Serve Swagger UI at `docs_url` and ReDoc at `redoc_url` over `openapi_url`, assets included."""
    app.mount(assets_url, StaticFiles(directory=ASSETS), name="docs-assets")

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    if docs_url is not None:

        @app.get(docs_url, include_in_schema=False)
        async def swagger_ui(request: Request) -> HTMLResponse:
            """Swagger UI over the OpenAPI document."""
            base = root(request)
            return get_swagger_ui_html(
                openapi_url=base + openapi_url,
                title=f"{title} (Swagger UI)",
                swagger_js_url=f"{base}{assets_url}/swagger-ui-bundle.js",
                swagger_css_url=f"{base}{assets_url}/swagger-ui.css",
                swagger_favicon_url=f"{base}{assets_url}/favicon.png",
            )

    if redoc_url is not None:

        @app.get(redoc_url, include_in_schema=False)
        async def redoc(request: Request) -> HTMLResponse:
            """ReDoc over the OpenAPI document."""
            base = root(request)
            return get_redoc_html(
                openapi_url=base + openapi_url,
                title=f"{title} (ReDoc)",
                redoc_js_url=f"{base}{assets_url}/redoc.standalone.js",
                redoc_favicon_url=f"{base}{assets_url}/favicon.png",
                with_google_fonts=False,
            )
