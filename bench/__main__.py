"""`make bench`: speed and memory of the platform, printed against targets and baselines.

Runs the platform as `make up` does (nginx at the edge, the gateway and the services as separate
processes on PostgreSQL and the Kafka-protocol broker); this process is the load generator.
Figures are printed, never asserted: these machines are shared.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from bench.harness import Row, bench_cluster, peak_rss_mb
from bench.path import edge_hop, event_path


async def run(sections: set[str], workdir: Path) -> list[tuple[str, list[Row]]]:
    """Run the chosen sections against one cluster."""
    results: list[tuple[str, list[Row]]] = []
    with bench_cluster(workdir) as (cluster, database_url):
        if "path" in sections:
            results.append(("Edge hop", await edge_hop(cluster)))
            results.append(("Event path", await event_path(cluster, database_url)))
        if "ingest" in sections:
            from bench.ingest import ingestion

            results.append(("Webhook ingestion (analytics)", await ingestion(cluster, database_url, workdir)))
        if "counting" in sections:
            from bench.counting import sustained

            results.append(("Counting after the append", await sustained(cluster, database_url, workdir)))
        if "dashboards" in sections:
            from bench.dashboards import dashboards

            results.append(("Dashboards (analytics)", await dashboards(cluster, database_url, workdir)))
        if "rosters" in sections:
            from bench.rosters import rosters

            results.append(("Roster imports (analytics)", await rosters(cluster, database_url, workdir)))
        rss = [
            Row(f"peak RSS of {name}", f"{peak_rss_mb(p.pid):.0f} MB", "< 300 MB", peak_rss_mb(p.pid) < 300)
            for name, p in cluster.processes.items()
        ]
        results.append(("Memory", rss))
    return results


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only",
        choices=["path", "ingest", "counting", "dashboards", "rosters"],
        action="append",
        help="run only these sections (default: all)",
    )
    args = parser.parse_args()
    sections = set(args.only or ["path", "ingest", "counting", "dashboards", "rosters"])
    with tempfile.TemporaryDirectory(prefix="edtech-bench-") as tmp:
        results = asyncio.run(run(sections, Path(tmp)))
    missed = []
    for title, rows in results:
        print(f"\n{title}")
        for row in rows:
            print(row.line())
            if row.met is False:
                missed.append(row.name)
    print("\nTargets missed: " + (", ".join(missed) if missed else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
