"""Rubric evaluations: weighted totals, PICRAT and SAMR, several per tool, side by side."""

from __future__ import annotations

import uuid

import httpx

from tests.catalog.helpers import BASE, register
from tests.fixtures.auth import TokenFactory

RUBRIC = {
    "name": "Middle school math",
    "scale_max": 4,
    "criteria": [
        {
            "key": "alignment",
            "name": "Standards alignment",
            "learning_objective": "Ratios (6.RP)",
            "weight": 3,
        },
        {"key": "engagement", "name": "Engagement", "learning_objective": "Productive struggle", "weight": 1},
    ],
}


async def make_rubric(api: httpx.AsyncClient, auth: TokenFactory) -> dict[str, object]:
    r = await api.post(f"{BASE}/rubrics", json=RUBRIC, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def evaluation(rubric_id: object, alignment: float, engagement: float) -> dict[str, object]:
    return {
        "rubric_id": rubric_id,
        "scores": {"alignment": alignment, "engagement": engagement},
        "picrat_student": "interactive",
        "picrat_teacher": "amplification",
        "samr": "augmentation",
    }


async def test_evaluations_weighted_and_compared(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    rubric = await make_rubric(api, auth)
    a = await register(api, auth, name="Alpha")
    b = await register(api, auth, name="Beta")
    r = await api.post(
        f"{BASE}/tools/{a['id']}/evaluations", json=evaluation(rubric["id"], 4, 2), headers=auth("edtech")
    )
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["weighted_total"] == 3.5 and ev["weighted_percent"] == 87.5
    assert ev["picrat"] == "interactive/amplification" and ev["samr"] == "augmentation"
    await api.post(
        f"{BASE}/tools/{a['id']}/evaluations", json=evaluation(rubric["id"], 3, 3), headers=auth("edtech")
    )
    await api.post(
        f"{BASE}/tools/{b['id']}/evaluations", json=evaluation(rubric["id"], 4, 4), headers=auth("edtech")
    )
    listed = await api.get(f"{BASE}/tools/{a['id']}/evaluations", headers=auth("teacher"))
    assert listed.json()["total"] == 2
    cmp = await api.get(f"{BASE}/rubrics/{rubric['id']}/comparison", headers=auth("teacher"))
    rows = cmp.json()["rows"]
    assert [(row["tool_name"], row["evaluation"]["weighted_total"]) for row in rows] == [
        ("Beta", 4.0),
        ("Alpha", 3.5),
        ("Alpha", 3.0),
    ]
    only_b = await api.get(
        f"{BASE}/rubrics/{rubric['id']}/comparison", params={"tool_id": b["id"]}, headers=auth("teacher")
    )
    assert [row["tool_name"] for row in only_b.json()["rows"]] == ["Beta"]


async def test_scores_must_match_the_rubric(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    rubric = await make_rubric(api, auth)
    tool = await register(api, auth)
    url = f"{BASE}/tools/{tool['id']}/evaluations"
    r = await api.post(url, json=evaluation(rubric["id"], 5, 1), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.alignment"
    body = evaluation(rubric["id"], 1, 1) | {"scores": {"alignment": 1}}
    r = await api.post(url, json=body, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.engagement"
    body = evaluation(rubric["id"], 1, 1) | {"scores": {"alignment": 1, "engagement": 1, "fun": 2}}
    r = await api.post(url, json=body, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "scores.fun"
    r = await api.post(url, json=evaluation(rubric["id"], 1, 1) | {"samr": "magic"}, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "samr"
    r = await api.post(url, json=evaluation(str(uuid.uuid4()), 1, 1), headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rubric_id"


async def test_rubric_validation_and_duplicates(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    await make_rubric(api, auth)
    assert (await api.post(f"{BASE}/rubrics", json=RUBRIC, headers=auth("edtech"))).status_code == 409
    bad = RUBRIC | {"name": "Other", "criteria": [RUBRIC["criteria"][0] | {"weight": 0}]}  # type: ignore[index]
    r = await api.post(f"{BASE}/rubrics", json=bad, headers=auth("edtech"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "criteria.0.weight"
    r = await api.post(
        f"{BASE}/rubrics", json=RUBRIC | {"name": "Empty", "criteria": []}, headers=auth("edtech")
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "criteria"
    assert (
        await api.post(f"{BASE}/rubrics", json=RUBRIC | {"name": "T"}, headers=auth("teacher"))
    ).status_code == 403


async def test_other_district_cannot_use_rubric_or_tool(api: httpx.AsyncClient, auth: TokenFactory) -> None:
    rubric = await make_rubric(api, auth)
    tool = await register(api, auth)
    other_district = f"other-{uuid.uuid4().hex[:6]}"
    other = auth("edtech", district_id=other_district)
    assert (await api.get(f"{BASE}/rubrics/{rubric['id']}", headers=other)).status_code == 404
    r = await api.post(
        f"{BASE}/tools/{tool['id']}/evaluations", json=evaluation(rubric["id"], 1, 1), headers=other
    )
    assert r.status_code == 404
    own_tool = (await api.post(f"{BASE}/tools", json={"name": "Theirs"}, headers=other)).json()
    r = await api.post(
        f"{BASE}/tools/{own_tool['id']}/evaluations", json=evaluation(rubric["id"], 1, 1), headers=other
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "rubric_id"
