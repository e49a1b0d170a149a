"""A demo district so that a new user of the embedded default sees a working platform at once.

Loaded through the gateway's public API with development tokens, like any client would, and
only once: a district that already has tools is left as it is.
"""

from __future__ import annotations

from typing import Any

import httpx

DEMO_DISTRICT = "demo-district"

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


async def token(client: httpx.AsyncClient, *roles: str, subject: str = "demo-edtech") -> dict[str, str]:
    """Headers with a development token for the demo district."""
    r = await client.post(
        "/auth/dev/token", json={"district_id": DEMO_DISTRICT, "roles": list(roles), "subject": subject}
    )
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def load_demo_district(client: httpx.AsyncClient) -> str:
    """Create the demo district's data through the API, unless it is there already."""
    edtech = await token(client, "edtech")
    existing = await client.get("/api/catalog/tools", params={"limit": 1}, headers=edtech)
    existing.raise_for_status()
    if existing.json()["total"] > 0:
        return f"already present ({existing.json()['total']} tools)"
    created = []
    for tool in DEMO_TOOLS:
        r = await client.post("/api/catalog/tools", json=tool, headers=edtech)
        r.raise_for_status()
        created.append(r.json()["id"])
    return f"{len(created)} tools in district {DEMO_DISTRICT!r}"
