"""An oversized document is refused: a vendor's upload (and the staff's) over CATALOG_DOCUMENT_MAX_BYTES
answers 413 problem+json naming the file, and nothing is stored; a document of exactly the limit is taken."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.domain.helpers import CATALOG, ok
from tests.domain.test_vendor_role import vendor_with_tool
from tests.fixtures.auth import TokenFactory
from tests.fixtures.platform import Platform, running_platform

LIMIT = 2048


@pytest.fixture
async def small_documents_platform(
    platform_database_url: str, auth_settings: dict[str, Any]
) -> AsyncIterator[Platform]:
    """The platform with the catalog taking documents of at most LIMIT bytes."""
    async with running_platform(
        platform_database_url, auth_settings, catalog={"document_max_bytes": LIMIT}
    ) as running:
        yield running


async def test_an_oversized_vendor_document_is_refused_with_413(
    small_documents_platform: Platform, auth: TokenFactory
) -> None:
    platform, edtech = small_documents_platform, auth("edtech")
    vendor, tool = await vendor_with_tool(platform, auth, "Amplify")
    await ok(
        await platform.catalog.post(
            f"{CATALOG}/vendors/{vendor['id']}/members",
            json={"subject": "rep@amplify.example"},
            headers=edtech,
        ),
        201,
    )
    rep = auth("vendor", subject="rep@amplify.example")

    async def upload(path: str, size: int, headers: dict[str, str]) -> Any:
        return await platform.catalog.post(
            path,
            data={"kind": "privacy_policy", "title": f"Policy of {size} bytes"},
            files={"file": ("privacy.pdf", b"%PDF" + b"x" * (size - 4), "application/pdf")},
            headers=headers,
        )

    portal_path = f"{CATALOG}/vendor-portal/tools/{tool['id']}/documents"
    for path, headers in ((portal_path, rep), (f"{CATALOG}/tools/{tool['id']}/documents", edtech)):
        r = await upload(path, LIMIT + 1, headers)
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (r.json()["status"], r.json()["field"]) == (413, "file")
        assert str(LIMIT) in r.json()["detail"]

    taken = await ok(await upload(portal_path, LIMIT, rep), 201)
    assert taken["size"] == LIMIT
    listed = await ok(await platform.catalog.get(f"{CATALOG}/tools/{tool['id']}/documents", headers=edtech))
    assert [d["title"] for d in listed] == [f"Policy of {LIMIT} bytes"]  # nothing of the refused ones
