"""District settings: the domain numbers are defaults each district can change."""

from __future__ import annotations

import uuid

import httpx

from tests.catalog.helpers import BASE
from tests.fixtures.auth import TokenFactory


async def test_defaults_update_and_reset(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await api.get(f"{BASE}/district-settings", headers=auth("teacher"))
    assert r.json() == {
        "cost_limit_per_student": 5.0,
        "retirement_notice_days": 30,
        "fatigue_limit": 5,
        "renewal_window_days": 60,
        "time_zone": "UTC",  # analytics' until it publishes the district's
        "overridden": [],
    }
    r = await api.put(
        f"{BASE}/district-settings",
        json={"fatigue_limit": 3, "cost_limit_per_student": 7.5},
        headers=auth("admin"),
    )
    assert r.status_code == 200
    assert r.json()["fatigue_limit"] == 3 and r.json()["cost_limit_per_student"] == 7.5
    assert sorted(r.json()["overridden"]) == ["cost_limit_per_student", "fatigue_limit"]
    other = await api.get(
        f"{BASE}/district-settings", headers=auth("edtech", district_id=f"o-{uuid.uuid4().hex}")
    )
    assert other.json()["fatigue_limit"] == 5
    r = await api.put(f"{BASE}/district-settings", json={"fatigue_limit": None}, headers=auth("edtech"))
    assert r.json()["fatigue_limit"] == 5 and r.json()["cost_limit_per_student"] == 7.5


async def test_roles_and_bad_input(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await api.put(f"{BASE}/district-settings", json={"fatigue_limit": 3}, headers=auth("teacher"))
    assert r.status_code == 403
    r = await api.put(f"{BASE}/district-settings", json={"fatigue_limit": 0}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "fatigue_limit"
    r = await api.put(f"{BASE}/district-settings", json={"district_id": "x"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "district_id"
