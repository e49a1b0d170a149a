#!/usr/bin/env python3
"""Container health probe: `healthcheck [/health/live|/health/ready]` exits 0 when the service answers 200.

Standard library only (python:*-slim has no curl). The port comes from $PORT (default 8000).
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    """Probe the local service once; 0 when healthy, 1 otherwise."""
    path = argv[1] if len(argv) > 1 else "/health/live"
    url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
