"""Distributed mode on one machine: the four services as separate uvicorn processes against
PostgreSQL and a Kafka broker. `make up` runs it; the end-to-end tests use the same class.

    python -m shared.cluster

Environment: DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/edtech; created if
missing), KAFKA_BOOTSTRAP_SERVERS (default: a Tansu broker started here), GATEWAY_PORT (8000; the
services take the next three ports). Any `<SERVICE>_...` variable already set wins over the defaults.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from shared.migrations import SERVICES_WITH_DATABASE, upgrade
from shared.testing import TansuBroker, create_database, drop_database, ensure_database, free_port

ALL_SERVICES = ("catalog", "pilots", "analytics", "gateway")


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
        """Start the given services (all by default) as uvicorn processes."""
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        for service in services or ALL_SERVICES:
            log = open(Path(self.log_dir) / f"{service}.log", "ab")  # noqa: SIM115 (kept open by the child)
            self.processes[service] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    f"services.{service}.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.ports[service]),
                    "--no-access-log",
                    "--log-level",
                    "warning",
                    "--timeout-graceful-shutdown",
                    "5",
                ],
                env=self.env_for(service),
                stdout=log,
                stderr=subprocess.STDOUT,
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

    def stop(self, *services: str, sig: int = signal.SIGTERM) -> None:
        """Stop services (all by default); SIGKILL simulates a crash."""
        for service in services or tuple(self.processes):
            process = self.processes.pop(service, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(sig)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


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


def main() -> int:
    """Run the distributed platform in the foreground until interrupted."""
    database_url = os.environ.get("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/edtech")
    url = make_url(database_url)
    ensure_database(
        url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
        url.database or "edtech",
    )
    broker: TansuBroker | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = TansuBroker(log_path="./var/log/tansu.log")
        Path("./var/log").mkdir(parents=True, exist_ok=True)
        bootstrap = broker.start().bootstrap_servers
    cluster = LocalCluster(
        database_url=database_url,
        kafka_bootstrap=bootstrap,
        ports=default_ports(int(os.environ.get("GATEWAY_PORT", "8000"))),
        kafka_idempotence=broker is None,
    )
    try:
        cluster.migrate()
        cluster.start()
        cluster.wait_ready()
        print(
            f"""
  EdTech platform (distributed: PostgreSQL {url.host}/{url.database}, Kafka {bootstrap})
  gateway   {cluster.url("gateway")}/docs
  catalog   {cluster.url("catalog")}   pilots {cluster.url("pilots")}   analytics {cluster.url("analytics")}
  logs      {cluster.log_dir}/<service>.log      Ctrl-C stops everything
""",
            flush=True,
        )
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
        if broker is not None:
            broker.stop()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
