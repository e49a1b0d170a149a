"""The baseline for webhook ingestion: a trivial FastAPI POST endpoint, nothing behind it.

python -m uvicorn bench.trivial_app:app --port 8100 --no-access-log
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI(title="Trivial POST baseline")


@app.post("/ingest")
async def ingest(payload: dict[str, Any]) -> dict[str, int]:
    """Parse the JSON body and answer that one event was accepted."""
    return {"accepted": 1 if payload else 0}
