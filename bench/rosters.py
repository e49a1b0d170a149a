"""Roster imports of a million rows through the API: time, the analytics process's peak memory, and
how the rest of the API answers meanwhile.

Two uploads go straight to the cluster's analytics process (the edge spools bodies to disk and caps
them at GATEWAY_MAX_UPLOAD_BYTES): a OneRoster zip of `ROWS` valid users (with orgs.csv: a district
and `SCHOOLS` schools) imported into an empty district, then the issue's case, a small zip of
`ROWS` invalid rows (every row rejected: the answer must stay bounded). For each: the time from
the POST to the job's end (and per step, read off the status resource), the peak RSS of the
analytics process during the import (its high-water mark is reset first, and VmRSS is sampled as
well), the size of the final answer, and the p50/p99 of a dashboard request made every
`PROBE_EVERY_S` while the import runs.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx

from bench.harness import Row, percentile
from services.demo import dev_headers
from shared.cluster import LocalCluster

ROWS = 1_000_000
SCHOOLS = 50
RSS_TARGET_MB = 300
PROBE_EVERY_S = 0.2
TIMEOUT_S = 3600.0
USERS_HEADER = (
    "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
    "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n"
)
ORGS = (
    "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
    + "dist,,,District,district,,\n"
)


def _write_zip(path: Path, users: Any) -> None:
    """A zip with orgs.csv and a users.csv written a batch of rows at a time."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "orgs.csv", ORGS + "".join(f"sch-{i},,,School {i},school,,dist\n" for i in range(SCHOOLS))
        )
        with archive.open("users.csv", "w", force_zip64=True) as out:
            out.write(USERS_HEADER.encode())
            batch: list[str] = []
            for line in users:
                batch.append(line)
                if len(batch) == 20_000:
                    out.write("".join(batch).encode())
                    batch.clear()
            out.write("".join(batch).encode())


def valid_users(n: int) -> Any:
    """n students with every identifier the identity index keys on."""
    for i in range(n):
        yield (
            f"u{i:07d},,,true,sch-{i % SCHOOLS},student,user{i},{{LDAP:u{i}}},Given{i},Family{i % 997},,"
            f"SIS{i},u{i}@example.org,,,,{i % 12 + 1:02d},\n"
        )


def invalid_users(n: int) -> Any:
    """n rows that are all rejected (an unknown role), as small as such a file gets."""
    for i in range(n):
        yield f"x{i},,,true,sch-0,wizard,,,,,,,,,,,05,\n"


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux `clear_refs` 5)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def _import(client: httpx.AsyncClient, headers: dict[str, str], path: Path, pid: int) -> dict[str, Any]:
    """POST one zip, follow the job to its end; time, steps, peak RSS, answer size, probe latencies."""
    reset = _reset_peak(pid)
    base_rss = _rss_mb(pid, "VmRSS")
    sampled = base_rss
    started = time.perf_counter()
    with path.open("rb") as body:
        r = await client.post(
            "/api/analytics/rosters/import",
            files=[("file", (path.name, body, "application/zip"))],
            headers=headers,
            timeout=600,
        )
    if r.status_code != 202:
        raise RuntimeError(f"the upload answered {r.status_code}: {r.text[:500]}")
    accepted_s = time.perf_counter() - started
    location = r.headers["location"]
    steps: dict[str, float] = {}
    probes: list[float] = []
    job: dict[str, Any] = r.json()
    while job["state"] in ("queued", "running"):
        if time.perf_counter() - started > TIMEOUT_S:
            raise RuntimeError(f"the import did not end in {TIMEOUT_S:.0f} s: {job}")
        await asyncio.sleep(PROBE_EVERY_S)
        sampled = max(sampled, _rss_mb(pid, "VmRSS"))
        asked = time.perf_counter()
        probe = await client.get(
            "/api/analytics/dashboards/logins",
            params={"from": "2026-03-02", "to": "2026-03-08"},
            headers=headers,
        )
        probes.append(time.perf_counter() - asked)
        if probe.status_code != 200:
            raise RuntimeError(f"a dashboard request during the import answered {probe.status_code}")
        answer = await client.get(location, headers=headers)
        job = answer.json()
        if job.get("step") and job["step"] not in steps:
            steps[job["step"]] = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    peak = _rss_mb(pid, "VmHWM") if reset else float("nan")
    return {
        "job": job,
        "seconds": elapsed,
        "accepted_s": accepted_s,
        "steps": steps,
        "peak_mb": max(peak, sampled) if reset else sampled,
        "base_mb": base_rss,
        "answer_bytes": len(answer.content),
        "probes": probes,
    }


def _steps(result: dict[str, Any]) -> str:
    marks = sorted(result["steps"].items(), key=lambda kv: kv[1])
    return ", ".join(f"{name} from {at:.0f} s" for name, at in marks)


async def rosters(cluster: LocalCluster, database_url: str, workdir: Path) -> list[Row]:
    """A million valid users, then a million invalid rows, imported through the API."""
    del database_url  # everything goes through the API
    analytics = cluster.url("analytics")
    pid = cluster.processes["analytics"].pid
    district = f"bench-rosters-{uuid.uuid4().hex[:6]}"
    async with httpx.AsyncClient(base_url=cluster.public_url) as gateway:
        headers = await dev_headers(gateway, district, "edtech")
    valid, invalid = workdir / "roster-valid.zip", workdir / "roster-invalid.zip"
    await asyncio.to_thread(_write_zip, valid, valid_users(ROWS))
    await asyncio.to_thread(_write_zip, invalid, invalid_users(ROWS))
    async with httpx.AsyncClient(base_url=analytics, timeout=60) as client:
        good = await _import(client, headers, valid, pid)
        bad = await _import(client, headers, invalid, pid)
    rows: list[Row] = []
    for label, result, path in (("valid users", good, valid), ("invalid rows", bad, invalid)):
        job = result["job"]
        files = job["files"].get("users.csv", {})
        rows += [
            Row(
                f"{ROWS:,} {label} ({path.stat().st_size / 1e6:.1f} MB zip): import time",
                f"{result['seconds']:.0f} s",
                "-",
                None,
            ),
            Row(f"  {label}: steps", _steps(result) or "-", "-", None),
            Row(
                f"  {label}: state, rows read / accepted / rejected",
                f"{job['state']}, {files.get('rows', 0):,} / {files.get('accepted', 0):,} / "
                f"{files.get('rejected', 0):,}",
                f"succeeded, {ROWS:,} read",
                job["state"] == "succeeded" and files.get("rows") == ROWS,
            ),
            Row(
                f"  {label}: peak RSS of analytics (before: {result['base_mb']:.0f} MB)",
                f"{result['peak_mb']:.0f} MB",
                f"< {RSS_TARGET_MB} MB",
                result["peak_mb"] < RSS_TARGET_MB,
            ),
            Row(
                f"  {label}: final answer ({job['errors_total']:,} errors, {len(job['errors'])} listed)",
                f"{result['answer_bytes'] / 1024:.1f} KB",
                "< 64 KB",
                result["answer_bytes"] < 64 * 1024,
            ),
            Row(
                f"  {label}: dashboard p50 / p99 meanwhile ({len(result['probes'])} requests)",
                " / ".join(f"{percentile(result['probes'], p) * 1000:.0f}" for p in (50, 99)) + " ms",
                "answered",
                bool(result["probes"]),
            ),
            Row(f"  {label}: upload answered 202 after", f"{result['accepted_s']:.1f} s", "-", None),
        ]
    return rows
