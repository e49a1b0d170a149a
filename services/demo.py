"""A demo district so that a new user of the embedded default sees a working platform at once.

Loaded through the gateway's public API with development tokens, like any client would, and only
once: a district that already has tools is left as it is. It shows every stage: a tool proposed, one
in vetting, one in a running pilot (with observations and an error log), one adopted with a license.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

DEMO_DISTRICT = "demo-district"
TEACHERS = ["teacher-ana", "teacher-ben", "teacher-chloe"]

DEMO_TOOLS: list[dict[str, Any]] = [
    {
        "name": "Desmos Classroom",
        "vendor": "Amplify",
        "category": "math",
        "subjects": ["math"],
        "grade_bands": ["6-8", "9-12"],
        "url": "https://classroom.amplify.com",
        "description": "Interactive graphing and math activities.",
    },
    {
        "name": "Newsela",
        "vendor": "Newsela",
        "category": "literacy",
        "subjects": ["ela", "social studies"],
        "grade_bands": ["3-5", "6-8"],
        "description": "Leveled news articles with quizzes.",
    },
    {
        "name": "PhET Simulations",
        "vendor": "University of Colorado Boulder",
        "category": "science",
        "subjects": ["science"],
        "grade_bands": ["6-8", "9-12"],
        "description": "Free interactive simulations.",
    },
    {
        "name": "Quizlet",
        "vendor": "Quizlet Inc.",
        "category": "study tools",
        "subjects": ["ela", "science"],
        "grade_bands": ["6-8", "9-12"],
        "description": "Flashcards and study games.",
    },
]


async def dev_headers(
    client: httpx.AsyncClient, district: str, *roles: str, subject: str = "dev-user"
) -> dict[str, str]:
    """Headers with a token minted by the gateway's development issuer (`client` talks to the gateway)."""
    r = await client.post(
        "/auth/dev/token", json={"district_id": district, "roles": list(roles), "subject": subject}
    )
    if r.status_code != 200:
        raise RuntimeError(f"the dev issuer answered {r.status_code}: {r.text}")
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _call(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    r = await client.request(method, path, json=body, headers=headers)
    if r.status_code >= 400:
        raise RuntimeError(f"demo data: {method} {path} answered {r.status_code}: {r.text}")
    result: dict[str, Any] = r.json()
    return result


async def _vet(client: httpx.AsyncClient, headers: dict[str, str], tool_id: str, standard: str) -> None:
    base = f"/api/catalog/tools/{tool_id}"
    await _call(client, "POST", f"{base}/standards", headers, {"framework": "CCSS", "code": standard})
    await _call(
        client,
        "PUT",
        f"{base}/checklist/privacy",
        headers,
        {
            "result": "pass",
            "evidence": "Signed data privacy agreement; FERPA and COPPA reviewed",
            "evidence_url": "https://vendor.example/privacy",
        },
    )
    for point, body in (
        ("sso", {"result": "pass", "evidence": "Clever SSO tested"}),
        ("accessibility", {"result": "pass", "evidence": "VPAT: WCAG 2.1 AA"}),
        ("mobile", {"result": "pass", "evidence": "Works on phones"}),
    ):
        await _call(client, "PUT", f"{base}/checklist/{point}", headers, body)
    for status in ("vetting", "approved_for_pilot"):
        await _call(client, "POST", f"{base}/transitions", headers, {"to_status": status, "reason": "demo"})


async def _pilot(
    client: httpx.AsyncClient, headers: dict[str, str], tool_id: str, title: str, start: dt.date
) -> dict[str, Any]:
    pilot = await _call(
        client,
        "POST",
        "/api/pilots/pilots",
        headers,
        {
            "tool_id": tool_id,
            "title": title,
            "goals": ["raise engagement in practice"],
            "teacher_ids": TEACHERS,
            "start_date": start.isoformat(),
            "classes": [{"name": "Grade 7 math", "period": "3", "teacher_id": TEACHERS[0]}],
        },
    )
    return await _call(client, "POST", f"/api/pilots/pilots/{pilot['id']}/start", headers)


async def load_demo_district(client: httpx.AsyncClient) -> str:
    """Create the demo district's data through the API, unless it is there already."""
    edtech = await dev_headers(client, DEMO_DISTRICT, "edtech", subject="demo-edtech")
    specialist = await dev_headers(client, DEMO_DISTRICT, "specialist", subject="demo-specialist")
    existing = await _call(client, "GET", "/api/catalog/tools?limit=1", edtech)
    if existing["total"] > 0:
        return f"already present ({existing['total']} tools)"
    tools = []
    for tool in DEMO_TOOLS:  # each vendor on record, its data privacy agreement signed but Quizlet's
        vendor = await _call(
            client,
            "POST",
            "/api/catalog/vendors",
            edtech,
            {"name": tool["vendor"], "dpa_signed": tool["name"] != "Quizlet"},
        )
        body = {k: v for k, v in tool.items() if k != "vendor"} | {"vendor_id": vendor["id"]}
        tools.append(await _call(client, "POST", "/api/catalog/tools", edtech, body))
    desmos, newsela, phet, _quizlet = (t["id"] for t in tools)

    today = dt.date.today()
    await _vet(client, edtech, desmos, "CCSS.MATH.CONTENT.7.RP.A.2")
    running = await _pilot(client, edtech, desmos, "Desmos in grade 7", today - dt.timedelta(days=10))
    await _call(
        client,
        "POST",
        f"/api/pilots/pilots/{running['id']}/observations",
        specialist,
        {
            "teacher_id": TEACHERS[0],
            "observed_on": (today - dt.timedelta(days=8)).isoformat(),
            "intervals": [
                {"on_task": 22, "present": 25},
                {"on_task": 20, "present": 25},
                {"on_task": 18, "present": 25},
            ],
            "samr_level": "augmentation",
            "picrat": {"student": "interactive", "teacher": "amplification"},
            "notes": "Students explored slopes on their own.",
        },
    )
    await _call(
        client,
        "POST",
        f"/api/pilots/pilots/{running['id']}/errors",
        specialist,
        {
            "what_failed": "activity would not load",
            "severity": "medium",
            "class_period": "3",
            "occurred_at": dt.datetime.combine(
                today - dt.timedelta(days=7), dt.time(10, 5), dt.UTC
            ).isoformat(),
            "device": "Chromebook",
            "platform": "ChromeOS",
        },
    )

    await _vet(client, edtech, newsela, "CCSS.ELA-LITERACY.RI.7.1")
    decided = await _pilot(client, edtech, newsela, "Newsela in grade 7 ELA", today - dt.timedelta(days=45))
    await _call(client, "POST", f"/api/pilots/pilots/{decided['id']}/evaluate", edtech)
    await _call(
        client,
        "POST",
        f"/api/pilots/pilots/{decided['id']}/decision",
        edtech,
        {"decision": "adopt", "rationale": "Time on task up, teachers positive (TAM)"},
    )
    await _call(
        client,
        "POST",
        f"/api/catalog/tools/{newsela}/licenses",
        edtech,
        {
            "seats": 500,
            "price_total": "2000.00",
            "term_start": (today - dt.timedelta(days=30)).isoformat(),
            "term_end": (today + dt.timedelta(days=335)).isoformat(),
            "renewal_date": (today + dt.timedelta(days=305)).isoformat(),
        },
    )

    await _call(
        client,
        "POST",
        f"/api/catalog/tools/{phet}/transitions",
        edtech,
        {"to_status": "vetting", "reason": "requested by science department"},
    )
    return (
        f"{len(tools)} tools (proposed, vetting, piloting, adopted), 2 pilots in district {DEMO_DISTRICT!r}"
    )
