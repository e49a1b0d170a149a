"""Distributed mode on one machine: the four services as separate uvicorn processes against
PostgreSQL and a Kafka broker. `make up` runs it; the end-to-end tests use the same class.

    python -m shared.cluster

Environment: DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/edtech; created if
missing), KAFKA_BOOTSTRAP_SERVERS (default: a Tansu broker started here), GATEWAY_PORT (8000; the
services take the next three ports). Any `<SERVICE>_...` variable already set wins over the defaults.

SIGTERM, SIGINT (Ctrl-C) or SIGHUP stops everything in order, each step bounded: the gateway first
(its requests in flight still reach the services), then the services together (each finishes its
requests, its consumers' messages and its outbox relay's pass: `shared.serve`), the broker last.
The children run in process groups of their own, so a Ctrl-C reaches this process alone and the
order holds; the exit status is 0 when every child stopped by itself with 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from shared.migrations import SERVICES_WITH_DATABASE, upgrade
from shared.testing import TansuBroker, create_database, drop_database, ensure_database, free_port

ALL_SERVICES = ("catalog", "pilots", "analytics", "gateway")
STOP_TIMEOUT_S = 15.0
"""How long a stopping step waits for its processes before killing them."""


@dataclass
class LocalCluster:
    """Four service processes on this machine, configured by environment variables only."""

    database_url: str
    kafka_bootstrap: str
    ports: dict[str, int]
    dev_key_file: str = "./var/dev-issuer-key.pem"
    log_dir: str = "./var/log"
    kafka_idempotence: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        """The base URL of a service."""
        return f"http://127.0.0.1:{self.ports[service]}"

    def env_for(self, service: str) -> dict[str, str]:
        """The environment a service process starts with."""
        prefix = service.upper() + "_"
        own: dict[str, str] = {
            "ENVIRONMENT": "development",
            "AUTH_DEV_ISSUER": "true",
            "AUTH_DEV_KEY_FILE": str(Path(self.dev_key_file).resolve()),
            "AUTH_DEV_ISSUER_URL": f"{self.url('gateway')}/auth/dev",
        }
        if service == "gateway":
            own.update({f"{s.upper()}_URL": self.url(s) for s in SERVICES_WITH_DATABASE})
        else:
            own.update(
                {
                    "DATABASE_URL": self.database_url,
                    "BUS_BACKEND": "kafka",
                    "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                    "KAFKA_ENABLE_IDEMPOTENCE": str(self.kafka_idempotence).lower(),
                    "OUTBOX_POLL_INTERVAL_S": "0.2",
                }
            )
            if not self.kafka_idempotence:  # the Tansu test broker: short group sessions, fast joins
                own.update({"KAFKA_SESSION_TIMEOUT_MS": "2000", "KAFKA_HEARTBEAT_INTERVAL_MS": "300"})
        if service == "pilots":
            own.update({"CATALOG_URL": self.url("catalog"), "ANALYTICS_URL": self.url("analytics")})
        env = dict(os.environ)
        for key, value in own.items():
            env.setdefault(prefix + key, value)
        env.update(self.extra_env)
        return env

    def migrate(self) -> None:
        """Migrate every service's schema (each its own Alembic history)."""
        for service in SERVICES_WITH_DATABASE:
            upgrade(service, self.database_url)

    def start(self, *services: str) -> None:
        """Start the given services (all by default) as uvicorn processes (`shared.serve`)."""
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        for service in services or ALL_SERVICES:
            with open(Path(self.log_dir) / f"{service}.log", "ab") as log:
                self.processes[service] = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "shared.serve",
                        service,
                        "--port",
                        str(self.ports[service]),
                        "--graceful-timeout",
                        "5",
                    ],
                    env=self.env_for(service),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0,  # signals come from this process, in order (see `stop`)
                )

    def wait_ready(self, *services: str, timeout_s: float = 60.0) -> None:
        """Block until each service answers its readiness check."""
        deadline = time.monotonic() + timeout_s
        for service in services or ALL_SERVICES:
            while True:
                process = self.processes.get(service)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{service} exited with {process.returncode}:\n{self.log_tail(service)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{self.url(service)}/health/ready", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} not ready after {timeout_s}s; see {self.log_dir}")
                time.sleep(0.1)

    def log_tail(self, service: str, chars: int = 3000) -> str:
        """The end of a service's log."""
        path = Path(self.log_dir) / f"{service}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def stop(
        self, *services: str, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S
    ) -> dict[str, int]:
        """Stop services (all by default) and return their exit statuses; SIGKILL simulates a crash.

        The gateway goes first, so that requests in flight through it still reach the services;
        then the others together. A process still running after `timeout_s` is killed.
        """
        names = [s for s in services or tuple(self.processes) if s in self.processes]
        statuses: dict[str, int] = {}
        for step in ([s for s in names if s == "gateway"], [s for s in names if s != "gateway"]):
            stopping = {service: self.processes.pop(service) for service in step}
            for process in stopping.values():
                if process.poll() is None:
                    process.send_signal(sig)
            deadline = time.monotonic() + timeout_s
            for service, process in stopping.items():
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                statuses[service] = process.returncode
        return statuses


@contextlib.contextmanager
def fresh_cluster(
    *,
    admin_url: str,
    database_name: str,
    kafka_bootstrap: str,
    workdir: Path,
    kafka_idempotence: bool | None = None,
    extra_env: dict[str, str] | None = None,
    timeout_s: float = 90.0,
) -> Iterator[tuple[LocalCluster, str]]:
    """The four services as processes on free ports and a database of their own (dropped after),
    migrated and ready; yields (cluster, database URL). For tests and benchmarks.

    `kafka_idempotence` defaults to on for an external broker (KAFKA_BOOTSTRAP_SERVERS, real Kafka)
    and off for the Tansu test broker, which refuses the idempotent producer.
    """
    if kafka_idempotence is None:
        kafka_idempotence = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    database_url = create_database(admin_url, database_name)
    cluster = LocalCluster(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        ports={s: free_port() for s in ALL_SERVICES},
        dev_key_file=str(workdir / "dev-key.pem"),
        log_dir=str(workdir / "logs"),
        kafka_idempotence=kafka_idempotence,
        extra_env=dict(extra_env or {}),
    )
    try:
        cluster.migrate()
        cluster.start()
        cluster.wait_ready(timeout_s=timeout_s)
        yield cluster, database_url
    finally:
        cluster.stop()
        drop_database(admin_url, database_name)


def default_ports(gateway_port: int) -> dict[str, int]:
    """The gateway on `gateway_port`, the services on the next three."""
    return {
        "gateway": gateway_port,
        "catalog": gateway_port + 1,
        "pilots": gateway_port + 2,
        "analytics": gateway_port + 3,
    }


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class StopRequested(BaseException):
    """A stop signal arrived (a BaseException, so that no `except Exception` on the way holds it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _request_stop(signum: int, _frame: object) -> None:
    raise StopRequested(signum)


def _stopping_already(signum: int, _frame: object) -> None:
    name = signal.Signals(signum).name
    print(f"  {name}: already stopping (each step waits at most {STOP_TIMEOUT_S:.0f} s)", flush=True)


def _handle_stop_signals(handler: Any) -> None:
    # A parent may have blocked them (the mask is inherited across exec): unblock. SIGHUP stays
    # ignored when it was (nohup).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if sig != signal.SIGHUP or signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, handler)


def _report(name: str, status: int | None) -> str:
    if status is None:
        return f"  {name:<10} not running"
    if status < 0:
        return f"  {name:<10} killed by {signal.Signals(-status).name}"
    return f"  {name:<10} exited {status}"


def main() -> int:
    """Run the distributed platform in the foreground until SIGTERM, SIGINT or SIGHUP."""
    _handle_stop_signals(_request_stop)
    ports = default_ports(int(os.environ.get("GATEWAY_PORT", "8000")))
    taken = [f"{name} {port}" for name, port in ports.items() if not port_is_free(port)]
    if taken:
        print(f"ports in use: {', '.join(taken)} (another `make up`?); set GATEWAY_PORT", file=sys.stderr)
        return 2
    database_url = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/edtech")
    url = make_url(database_url)
    broker: TansuBroker | None = None
    cluster: LocalCluster | None = None
    failed = False
    try:
        ensure_database(
            url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
            url.database or "edtech",
        )
        bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not bootstrap:
            Path("./var/log").mkdir(parents=True, exist_ok=True)
            broker = TansuBroker(log_path="./var/log/tansu.log")
            bootstrap = broker.start().bootstrap_servers
        cluster = LocalCluster(
            database_url=database_url,
            kafka_bootstrap=bootstrap,
            ports=ports,
            kafka_idempotence=broker is None,
        )
        cluster.migrate()
        cluster.start()
        cluster.wait_ready()
        pids = {name: process.pid for name, process in cluster.processes.items()}
        if broker is not None and broker.process is not None:
            pids["broker"] = broker.process.pid
        print(
            f"\n  EdTech platform (distributed: PostgreSQL {url.host}/{url.database}, Kafka {bootstrap})\n"
            + "\n".join(
                f"  {name:<10} {where:<36} pid {pids.get(name)}"
                for name, where in (
                    ("gateway", f"{cluster.url('gateway')}/docs"),
                    *((s, cluster.url(s)) for s in SERVICES_WITH_DATABASE),
                    *((("broker", f"{bootstrap} (Tansu)"),) if broker is not None else ()),
                )
            )
            + f"\n  logs       {cluster.log_dir}/<service>.log      Ctrl-C stops everything\n",
            flush=True,
        )
        reported: set[str] = set()
        while True:
            time.sleep(0.5)
            for name, process in cluster.processes.items():
                if process.poll() is not None and name not in reported:
                    reported.add(name)
                    failed = True
                    log = f"{cluster.log_dir}/{name}.log"
                    print(f"{_report(name, process.returncode)} unexpectedly; see {log}", flush=True)
    except StopRequested as stop:
        _handle_stop_signals(_stopping_already)
        print(f"\n  {stop}: stopping the gateway, then the services, then the broker", flush=True)
    finally:
        _handle_stop_signals(_stopping_already)
        statuses: dict[str, int | None] = {}
        if cluster is not None:
            statuses.update(cluster.stop())
        if broker is not None:
            broker_process = broker.process
            broker.stop()
            statuses["broker"] = broker_process.returncode if broker_process is not None else None
        for name, status in statuses.items():
            print(_report(name, status), flush=True)
    return 1 if failed or any(status != 0 for status in statuses.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
