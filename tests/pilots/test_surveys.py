"""Surveys as data: TTIS pre/post deltas and TAM share of positive answers on known numbers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.fixtures.auth import TokenFactory
from tests.pilots.conftest import started_pilot

PILOTS = "/api/pilots/pilots"
TTIS_ITEMS = [f"ttis_{i}" for i in range(1, 9)]
TAM_ITEMS = ["pu_1", "pu_2", "pu_3", "pu_4", "peou_1", "peou_2", "peou_3", "peou_4", "itu_1", "itu_2"]


def ttis(value: int, **overrides: int) -> dict[str, int]:
    """TTIS answers: every item `value` unless overridden."""
    return {code: overrides.get(code, value) for code in TTIS_ITEMS}


async def answer(
    client: httpx.AsyncClient,
    auth: TokenFactory,
    pid: str,
    teacher: str,
    code: str,
    phase: str,
    answers: dict[str, int],
) -> httpx.Response:
    """A teacher answers their own survey."""
    return await client.post(
        f"{PILOTS}/{pid}/surveys/{code}/responses",
        json={"phase": phase, "answers": answers},
        headers=auth("teacher", subject=teacher),
    )


async def test_instruments_are_seeded_as_data(pilots: httpx.AsyncClient, auth: TokenFactory) -> None:
    r = await pilots.get("/api/pilots/instruments", headers=auth("teacher"))
    instruments = {i["code"]: i for i in r.json()["items"]}
    assert set(instruments) == {"TTIS", "TAM"}
    assert [i["code"] for i in instruments["TTIS"]["items"]] == TTIS_ITEMS
    assert {i["dimension"] for i in instruments["TAM"]["items"]} == {
        "perceived_usefulness",
        "ease_of_use",
        "intention_to_use",
    }
    assert (instruments["TAM"]["scale_min"], instruments["TAM"]["scale_max"]) == (1, 5)
    again = await pilots.get("/api/pilots/instruments", headers=auth("admin"))
    assert again.json()["total"] == 2  # seeded once

    custom = {
        "code": "EXIT",
        "name": "Exit ticket",
        "phases": ["post"],
        "scale_min": 1,
        "scale_max": 3,
        "items": [{"code": "q1", "dimension": "clarity", "text": "The lesson was clear."}],
    }
    r = await pilots.post("/api/pilots/instruments", json=custom, headers=auth("edtech"))
    assert r.status_code == 201, r.text
    r = await pilots.post("/api/pilots/instruments", json=custom, headers=auth("edtech"))
    assert r.status_code == 409


async def test_ttis_deltas_and_tam_positive_share(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    for teacher, phase, answers in [
        ("teacher-a", "pre", ttis(3)),
        ("teacher-a", "post", ttis(4, ttis_1=5, ttis_2=5)),
        ("teacher-b", "pre", ttis(2)),
        ("teacher-b", "post", ttis(3)),
        ("teacher-c", "pre", ttis(4)),
    ]:
        r = await answer(pilots, auth, pid, teacher, "TTIS", phase, answers)
        assert r.status_code == 201, r.text
    assert r.json()["score"] == 4.0
    tam_b = {
        "pu_1": 4,
        "pu_2": 4,
        "pu_3": 4,
        "pu_4": 4,
        "peou_1": 3,
        "peou_2": 3,
        "peou_3": 3,
        "peou_4": 3,
        "itu_1": 4,
        "itu_2": 2,
    }
    assert (
        await answer(pilots, auth, pid, "teacher-a", "TAM", "post", dict.fromkeys(TAM_ITEMS, 5))
    ).is_success
    assert (await answer(pilots, auth, pid, "teacher-b", "TAM", "post", tam_b)).is_success

    results = (await pilots.get(f"{PILOTS}/{pid}/surveys/results", headers=auth("edtech"))).json()
    teachers = {t["teacher_id"]: t for t in results["ttis"]["teachers"]}
    assert (teachers["teacher-a"]["pre"], teachers["teacher-a"]["post"], teachers["teacher-a"]["delta"]) == (
        3.0,
        4.25,
        1.25,
    )
    assert teachers["teacher-a"]["dimension_deltas"] == {
        "confidence": 2.0,
        "planning": 1.0,
        "student_use": 1.0,
        "assessment": 1.0,
    }
    assert (teachers["teacher-b"]["delta"], teachers["teacher-c"]["delta"]) == (1.0, None)
    assert (results["ttis"]["mean_pre"], results["ttis"]["mean_post"], results["ttis"]["mean_delta"]) == (
        3.0,
        3.625,
        1.125,
    )

    [tam] = results["tam"]
    assert (tam["phase"], tam["respondents"], tam["threshold"]) == ("post", 2, 4)
    assert tam["dimensions"] == {
        "ease_of_use": {"answers": 8, "positive": 4, "share_positive": 0.5},
        "intention_to_use": {"answers": 4, "positive": 3, "share_positive": 0.75},
        "perceived_usefulness": {"answers": 8, "positive": 8, "share_positive": 1.0},
    }
    assert tam["overall"] == {"answers": 20, "positive": 15, "share_positive": 0.75}
    assert (tam["buy_in_target"], tam["meets_target"]) == (0.85, False)

    r = await pilots.put(
        "/api/pilots/settings",
        json={"tam_positive_threshold": 3, "buy_in_target": 0.9},
        headers=auth("edtech"),
    )
    assert r.status_code == 200, r.text
    [tam] = (await pilots.get(f"{PILOTS}/{pid}/surveys/results", headers=auth("edtech"))).json()["tam"]
    assert (tam["overall"]["share_positive"], tam["meets_target"]) == (0.95, True)

    own = await pilots.get(f"{PILOTS}/{pid}/surveys/responses", headers=auth("teacher", subject="teacher-b"))
    assert {(x["teacher_id"], x["instrument_code"]) for x in own.json()["items"]} == {
        ("teacher-b", "TTIS"),
        ("teacher-b", "TAM"),
    }
    r = await pilots.get(f"{PILOTS}/{pid}/surveys/results", headers=auth("teacher", subject="teacher-b"))
    assert r.status_code == 403


async def test_teachers_answer_only_their_own_complete_surveys(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    r = await answer(pilots, auth, pid, "teacher-z", "TTIS", "pre", ttis(3))
    assert r.status_code == 404
    r = await pilots.post(
        f"{PILOTS}/{pid}/surveys/TTIS/responses",
        json={"phase": "pre", "answers": ttis(3)},
        headers=auth("specialist"),
    )
    assert r.status_code == 403
    incomplete = ttis(3)
    del incomplete["ttis_8"]
    r = await answer(pilots, auth, pid, "teacher-a", "TTIS", "pre", incomplete)
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "answers.ttis_8")
    r = await answer(pilots, auth, pid, "teacher-a", "TTIS", "pre", ttis(3, ttis_1=6))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "answers.ttis_1")
    r = await answer(pilots, auth, pid, "teacher-a", "TTIS", "mid", ttis(3))
    assert (r.status_code, r.json()["errors"][0]["field"]) == (422, "phase")
    r = await answer(pilots, auth, pid, "teacher-a", "NOPE", "pre", ttis(3))
    assert r.status_code == 404
    assert (await answer(pilots, auth, pid, "teacher-a", "TTIS", "pre", ttis(3))).status_code == 201
    r = await answer(pilots, auth, pid, "teacher-a", "TTIS", "pre", ttis(4))
    assert r.status_code == 409


async def test_a_district_edits_an_instrument_until_it_is_answered(
    pilots_app: FastAPI, pilots: httpx.AsyncClient, auth: TokenFactory, district: str
) -> None:
    pid = (await started_pilot(pilots_app, pilots, auth, district))["id"]
    tam = {
        "name": "TAM (short)",
        "scale_min": 1,
        "scale_max": 5,
        "phases": ["post"],
        "items": [
            {"code": "pu", "dimension": "perceived_usefulness", "text": "Useful for my class."},
            {
                "code": "hard",
                "dimension": "ease_of_use",
                "text": "It is hard to use.",
                "reverse_scored": True,
            },
        ],
    }
    r = await pilots.put("/api/pilots/instruments/TAM", json=tam, headers=auth("edtech"))
    assert r.status_code == 200, r.text
    assert [i["code"] for i in r.json()["items"]] == ["pu", "hard"]
    r = await pilots.put("/api/pilots/instruments/TAM", json={**tam, "scale_max": 1}, headers=auth("edtech"))
    assert r.status_code == 422

    r = await answer(pilots, auth, pid, "teacher-a", "TAM", "post", {"pu": 4, "hard": 2})
    assert r.status_code == 201, r.text
    assert (r.json()["score"], r.json()["dimension_scores"]) == (
        4.0,
        {"perceived_usefulness": 4.0, "ease_of_use": 4.0},
    )
    [result] = (await pilots.get(f"{PILOTS}/{pid}/surveys/results", headers=auth("edtech"))).json()["tam"]
    assert result["overall"] == {"answers": 2, "positive": 2, "share_positive": 1.0}  # "hard" = 2 counts as 4

    r = await pilots.put("/api/pilots/instruments/TAM", json=tam, headers=auth("edtech"))
    assert r.status_code == 409
    other = await pilots.get("/api/pilots/instruments/TAM", headers=auth("edtech", district_id="elsewhere"))
    assert len(other.json()["items"]) == 10  # the other district keeps the standard TAM
