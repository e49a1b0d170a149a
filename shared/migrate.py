"""`python -m shared.migrate [upgrade|downgrade|revision|current] [service ...]`.

Without services, acts on all of them (catalog, pilots, analytics), each with its own database
URL from its settings (`CATALOG_DATABASE_URL`, ...).
"""

from __future__ import annotations

import argparse
import sys

from alembic import command

from shared.migrations import SCHEMAS, alembic_config, downgrade, service_database_url, upgrade


def main(argv: list[str] | None = None) -> int:
    """Run the migration command line."""
    parser = argparse.ArgumentParser(prog="python -m shared.migrate", description=__doc__)
    parser.add_argument("action", choices=["upgrade", "downgrade", "revision", "current"])
    parser.add_argument("services", nargs="*", metavar="service", help=", ".join(SCHEMAS))
    parser.add_argument("-m", "--message", default="change")
    parser.add_argument("--revision", default=None, help="target revision (default head / base)")
    parser.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.services) - set(SCHEMAS))
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    for service in args.services or SCHEMAS:
        url = service_database_url(service)
        print(f"[{service}] {args.action} ({url.split('@')[-1]})", flush=True)
        if args.action == "upgrade":
            upgrade(service, url, args.revision or "head")
        elif args.action == "downgrade":
            downgrade(service, url, args.revision or "base")
        elif args.action == "current":
            command.current(alembic_config(service, url), verbose=True)
        else:
            command.revision(
                alembic_config(service, url), message=args.message, autogenerate=args.autogenerate
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
