"""Render the edge's nginx configuration, or run nginx with it in the foreground.

    python -m services.edge render --listen 127.0.0.1:8000 --upstream catalog=127.0.0.1:8001 ...
    python -m services.edge run --runtime-dir var/edge --listen ... --upstream ...

Body caps, timeouts and rate limits come from the `GATEWAY_*` settings in the environment; the routes
from `services/edge/routes.py`. `run` checks the configuration (`nginx -t`) and then becomes nginx
(same process id): SIGQUIT stops it gracefully, SIGTERM at once, SIGHUP reloads.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from services.edge import routes
from services.edge.nginx import Layout, render
from services.gateway.config import Settings


def run_command(
    *,
    listen: str,
    upstreams: Mapping[str, Sequence[str]],
    runtime_dir: Path,
    access_log: Path,
    error_log: str = "stderr",
    workers: str = "1",
) -> list[str]:
    """The command line that runs the edge on this machine (`make up`, the tests)."""
    return [
        sys.executable,
        *("-m", "services.edge", "run", "--listen", listen, "--workers", workers),
        *(
            arg
            for name, servers in upstreams.items()
            for arg in ("--upstream", f"{name}={','.join(servers)}")
        ),
        *("--runtime-dir", str(runtime_dir.resolve()), "--access-log", str(access_log.resolve())),
        *("--error-log", error_log),
    ]


def nginx_binary() -> str:
    """The nginx executable (Debian's package: `make nginx` installs it)."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        raise SystemExit("nginx is not installed: run `make nginx` (apt-get install nginx-light)")
    return found


def _upstreams(values: Sequence[str]) -> dict[str, list[str]]:
    servers: dict[str, list[str]] = {}
    for value in values:
        name, _, addresses = value.partition("=")
        if name not in (*routes.SERVICES, "gateway") or not addresses:
            raise SystemExit(f"--upstream {value!r}: expected <service>=<host:port>[,<host:port>...]")
        servers.setdefault(name, []).extend(a for a in addresses.split(",") if a)
    missing = [n for n in (*routes.SERVICES, "gateway") if n not in servers]
    if missing:
        raise SystemExit(f"--upstream missing for: {', '.join(missing)}")
    return servers


def local_layout(args: argparse.Namespace) -> Layout:
    """The layout the command line describes (processes on this machine)."""
    runtime = Path(args.runtime_dir).resolve() if args.runtime_dir else None
    # Started as root (a developer's machine, CI), nginx would run its workers as `nobody`, who may
    # not reach a runtime directory under a private one: they run as the starting user instead. In
    # the image nginx starts unprivileged and this does not apply.
    user = pwd.getpwuid(os.geteuid()).pw_name if os.geteuid() == 0 and runtime else None
    return Layout(
        listen=args.listen,
        upstreams=_upstreams(args.upstream),
        runtime_dir=str(runtime) if runtime else None,
        access_log=args.access_log,
        error_log=args.error_log,
        worker_processes=args.workers,
        user=user,
    )


def run(settings: Settings, layout: Layout) -> None:
    """Write the configuration into the runtime directory, check it, and exec nginx on it."""
    if layout.runtime_dir is None:
        raise SystemExit("run needs --runtime-dir")
    runtime = Path(layout.runtime_dir)
    runtime.mkdir(parents=True, exist_ok=True)
    conf = runtime / "nginx.conf"
    conf.write_text(render(settings, layout))
    binary = nginx_binary()
    base = [binary, "-p", str(runtime), "-c", str(conf)]
    check = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, check=False)  # noqa: S603
    if check.returncode != 0:
        raise SystemExit(f"nginx refused {conf}:\n{check.stderr}")
    sys.stdout.flush()
    os.execv(binary, [*base, "-g", "daemon off;"])  # noqa: S606 (becomes nginx, same pid)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m services.edge", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("render", "run"):
        command = commands.add_parser(name)
        command.add_argument("--listen", required=True, help="host:port or port")
        command.add_argument(
            "--upstream", action="append", default=[], help="<service>=<host:port>[,...] (services, gateway)"
        )
        command.add_argument("--runtime-dir", help="pid and temporary files")
        command.add_argument("--access-log", default="/dev/stdout")
        command.add_argument("--error-log", default="stderr")
        command.add_argument("--workers", default="auto", help="nginx worker processes")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "render":
        sys.stdout.write(render(settings, local_layout(args)))
    else:
        run(settings, local_layout(args))


if __name__ == "__main__":
    main()
