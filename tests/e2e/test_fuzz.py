"""schemathesis over the combined OpenAPI document of the distributed mode (four processes on
PostgreSQL and the Kafka-protocol broker), for an edtech and a teacher token of one district.

A fixed seed and a fixed number of cases per operation bound the run (about a minute and a half per
token here). The checks: no server error, every answer's status, content type and body as the
document declares them. Any finding fails the test, which lists each one (check, operation,
status, answer, a curl to reproduce it) and the exceptions the services logged meanwhile.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.cluster import LocalCluster
from shared.openapi import operations

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]

SEED = 20261204
MAX_EXAMPLES = 20
"""Cases per operation and phase; with one worker the run is deterministic for a seed."""
CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
)
TIMEOUT_S = 900
"""A hang guard only (the run takes a fraction of it)."""
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)): (.*)$")


@pytest.fixture(scope="module")
def fuzz_district() -> str:
    """The district both tokens belong to: the teacher's run meets what the edtech's created."""
    return f"fuzz-{uuid.uuid4().hex[:8]}"


def _token(cluster: LocalCluster, district: str, role: str) -> str:
    r = httpx.post(
        f"{cluster.public_url}/auth/dev/token",
        json={"district_id": district, "roles": [role], "subject": f"fuzz-{role}"},
        timeout=10,
    )
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def _operation_count(cluster: LocalCluster) -> int:
    document = httpx.get(f"{cluster.public_url}/openapi.json", timeout=30).json()
    return sum(1 for _ in operations(document))


def _decoded(body: dict[str, Any] | None, limit: int = 300) -> str:
    if not body:
        return ""
    raw = base64.b64decode(body["$base64"]) if "$base64" in body else str(body).encode()
    return raw[:limit].decode("utf-8", errors="replace")


def findings(report: Path) -> list[str]:
    """Each failed check and each error of a schemathesis NDJSON report, one line each."""
    out: list[str] = []
    for line in report.read_text().splitlines():
        event = json.loads(line)
        if "NonFatalError" in event:
            error = event["NonFatalError"]
            out.append(
                f"error in {error.get('label')}: {error['value']['type']}: {error['value']['message']}"
            )
        if "ScenarioFinished" not in event:
            continue
        recorder = event["ScenarioFinished"]["recorder"]
        for case_id, checks in recorder.get("checks", {}).items():
            interaction = recorder.get("interactions", {}).get(case_id) or {}
            request, response = interaction.get("request", {}), interaction.get("response") or {}
            for check in checks:
                if check["status"] != "failure":
                    continue
                failure = check["failure_info"]["failure"]
                out.append(
                    f"{failure['code']} {failure['title']}: {request.get('method')} {request.get('uri')}"
                    f" sent {_decoded(request.get('body'), 200)!r}"
                    f" -> {response.get('status_code')} {_decoded(response.get('content'))!r}"
                    + (f" ({detail})" if (detail := failure.get("message", "").strip()) else "")
                )
    return out


def _log_sizes(cluster: LocalCluster) -> dict[Path, int]:
    return {log: log.stat().st_size for log in Path(cluster.log_dir).glob("*.log")}


def logged_exceptions(cluster: LocalCluster, since: dict[Path, int]) -> Counter[str]:
    """The exceptions the services logged since `since` (their last line), counted."""
    seen: Counter[str] = Counter()
    for log in Path(cluster.log_dir).glob("*.log"):
        with log.open("rb") as f:
            f.seek(since.get(log, 0))
            text = f.read().decode("utf-8", errors="replace")
        for line in text.splitlines():
            match = _EXCEPTION_LINE.match(line.strip())
            if match:
                seen[f"{log.stem}: {match.group(1)}: {match.group(2)[:200]}"] += 1
    return seen


@pytest.mark.parametrize("role", ["edtech", "teacher"])
def test_fuzzing_finds_no_server_error_and_nothing_undocumented(
    cluster: LocalCluster, fuzz_district: str, role: str, tmp_path: Path
) -> None:
    token = _token(cluster, fuzz_district, role)
    before = _log_sizes(cluster)
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{cluster.public_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--seed",
        str(SEED),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "ndjson",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    reports = sorted(tmp_path.glob("*.ndjson"))
    found = findings(reports[-1]) if reports else ["no report was written"]
    causes = logged_exceptions(cluster, before)
    summary = "\n".join(run.stdout.splitlines()[-40:])
    message = (
        f"schemathesis ({role}, seed {SEED}) exited {run.returncode} with {len(found)} finding(s):\n"
        + "\n".join(f"- {f}" for f in found)
        + "\nexceptions the services logged meanwhile:\n"
        + "\n".join(f"- {n} x {c}" for c, n in causes.most_common())
        + f"\n--- schemathesis output (tail) ---\n{summary}\n{run.stderr[-2000:]}"
    )
    if found or run.returncode != 0:
        pytest.fail(message, pytrace=False)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert tested is not None and int(tested.group(1)) == _operation_count(cluster), message
