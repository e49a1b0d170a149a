"""Distributed mode on one machine: nginx as the public edge, the gateway and each service as
separate uvicorn processes (several replicas of a service if asked) against PostgreSQL and a Kafka
broker. `make up` runs it; the end-to-end tests and the benchmarks use the same class.

    python -m shared.cluster [--replicas analytics=2 ...]

Environment: DATABASE_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/edtech; created if
missing), KAFKA_BOOTSTRAP_SERVERS (default: a Tansu broker started here), GATEWAY_PORT (8000, the
edge's; catalog, pilots and analytics take the next three ports, the gateway app the fourth, extra
replicas the ones after). Any `<SERVICE>_...` variable already set wins over the defaults.

SIGTERM, SIGINT (Ctrl-C) or SIGHUP stops everything in order, each step bounded: the edge first
(it finishes the requests it holds, which still reach the services), then the gateway, then the
services together (each finishes its requests, its consumers' messages and its outbox relay's
pass: `shared.serve`), the broker last.
The children run in process groups of their own, so a Ctrl-C reaches this process alone and the
order holds; the exit status is 0 when every child stopped by itself with 0.
"""

from __future__ import annotations

import argparse
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

from services.edge.__main__ import run_command as edge_command
from services.edge.routes import EDGE_HEALTH
from shared.migrations import SCHEMAS, SERVICES_WITH_DATABASE, upgrade
from shared.testing import TansuBroker, create_database, drop_database, ensure_database, free_port

ALL_SERVICES = ("catalog", "pilots", "analytics", "gateway", "edge")
"""What a cluster runs, in start order: the services, the gateway app, the nginx edge in front."""
STOP_ORDER = (("edge",), ("gateway",), SERVICES_WITH_DATABASE)
STOP_TIMEOUT_S = 15.0
"""How long a stopping step waits for its processes before killing them."""
GRACEFUL = {"edge": signal.SIGQUIT}
"""The signal that stops a process gracefully where it is not SIGTERM (nginx: SIGQUIT)."""


UNTHROTTLED = {
    f"GATEWAY_{kind}_{what}": "1000000"
    for kind in ("API", "WEBHOOK", "ADDRESS")
    for what in ("RATE_PER_S", "BURST")
}
"""Edge rate limits no test suite or benchmark reaches: their load comes from one address and a few
tokens. The limits themselves are tested on edges of their own (tests/e2e/test_edge.py)."""


def service_of(instance: str) -> str:
    """The service an instance runs (`analytics-2` runs `analytics`)."""
    return instance.split("-", 1)[0]


@dataclass
class LocalCluster:
    """The platform's processes on this machine, configured by environment variables only.

    `ports` names each instance: `edge` (the public entry point), `gateway`, each service, and
    `<service>-2`, `<service>-3`... for the extra replicas of a service.
    """

    database_url: str
    kafka_bootstrap: str
    ports: dict[str, int]
    dev_key_file: str = "./var/dev-issuer-key.pem"
    log_dir: str = "./var/log"
    runtime_dir: str = "./var/edge"
    kafka_idempotence: bool = False
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, instance: str) -> str:
        """The base URL of an instance (`edge`, `gateway`, a service or one of its replicas)."""
        return f"http://127.0.0.1:{self.ports[instance]}"

    @property
    def public_url(self) -> str:
        """Where clients reach the platform: the edge."""
        return self.url("edge")

    def instances(self, *services: str) -> list[str]:
        """The instances of the given services (all by default), in start order."""
        wanted = services or ALL_SERVICES
        chosen = [name for name in self.ports if service_of(name) in wanted or name in wanted]
        return sorted(chosen, key=lambda name: ALL_SERVICES.index(service_of(name)))

    def env_for(self, instance: str) -> dict[str, str]:
        """The environment an instance starts with (the edge reads the gateway's settings)."""
        service = service_of(instance)
        if service == "edge":
            service = "gateway"
        prefix = service.upper() + "_"
        own: dict[str, str] = {
            "ENVIRONMENT": "development",
            "AUTH_DEV_ISSUER": "true",
            "AUTH_DEV_KEY_FILE": str(Path(self.dev_key_file).resolve()),
            "AUTH_DEV_ISSUER_URL": f"{self.public_url}/auth/dev",
            "AUTH_PLATFORM_ISSUER": f"{self.public_url}/auth",
        }
        if service == "gateway":
            own.update({f"{s.upper()}_URL": self.url(s) for s in SERVICES_WITH_DATABASE})
            own.update(
                {
                    "DATABASE_URL": self.database_url,
                    "PUBLIC_URL": self.public_url,
                    "SECRET_KEY_FILE": str(Path(self.dev_key_file).resolve().parent / "gateway-secret.key"),
                }
            )
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
        if service == "catalog":
            own.update({"ANALYTICS_URL": self.url("analytics")})
        env = dict(os.environ)
        for key, value in own.items():
            env.setdefault(prefix + key, value)
        env.update(self.extra_env)
        return env

    def migrate(self) -> None:
        """Migrate every schema, the services' and the gateway's (each its own Alembic history)."""
        for service in SCHEMAS:
            upgrade(service, self.database_url)

    def command(self, instance: str) -> list[str]:
        """The command line of an instance: uvicorn (`shared.serve`) or nginx (`services.edge`)."""
        if instance != "edge":
            port = str(self.ports[instance])
            serve = ("-m", "shared.serve", service_of(instance), "--port", port)
            return [sys.executable, *serve, "--graceful-timeout", "5"]
        return edge_command(
            listen=f"127.0.0.1:{self.ports['edge']}",
            upstreams={
                service: [f"127.0.0.1:{self.ports[i]}" for i in self.instances(service)]
                for service in (*SERVICES_WITH_DATABASE, "gateway")
            },
            runtime_dir=Path(self.runtime_dir),
            access_log=Path(self.log_dir) / "edge-access.log",
        )

    def start(self, *services: str) -> None:
        """Start every instance of the given services (all by default; `edge` is nginx)."""
        Path(self.log_dir).mkdir(parents=True, exist_ok=True)
        for instance in self.instances(*services):
            with open(Path(self.log_dir) / f"{instance}.log", "ab") as log:
                self.processes[instance] = subprocess.Popen(
                    self.command(instance),
                    env=self.env_for(instance),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=0,  # signals come from this process, in order (see `stop`)
                )

    def wait_ready(self, *services: str, timeout_s: float = 60.0) -> None:
        """Block until each instance answers its readiness check (the edge answers its own)."""
        deadline = time.monotonic() + timeout_s
        for instance in self.instances(*services):
            probe = EDGE_HEALTH if instance == "edge" else "/health/ready"
            while True:
                process = self.processes.get(instance)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(
                        f"{instance} exited with {process.returncode}:\n{self.log_tail(instance)}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{self.url(instance)}{probe}", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{instance} not ready after {timeout_s}s; see {self.log_dir}")
                time.sleep(0.1)

    def log_tail(self, service: str, chars: int = 3000) -> str:
        """The end of a service's log."""
        path = Path(self.log_dir) / f"{service}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no log)"

    def stop(
        self, *names: str, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S
    ) -> dict[str, int]:
        """Stop instances (every instance of a service named; all by default) and return their
        exit statuses; SIGTERM stops each gracefully, SIGKILL simulates a crash.

        The edge goes first, then the gateway, so that requests in flight through them still reach
        the services; then the services together. A process still running after `timeout_s` is killed.
        """
        running = [i for i in self.processes if not names or i in names or service_of(i) in names]
        statuses: dict[str, int] = {}
        for services in STOP_ORDER:
            stopping = {i: self.processes.pop(i) for i in running if service_of(i) in services}
            for instance, process in stopping.items():
                if process.poll() is None:
                    _signal(process, GRACEFUL.get(instance, sig) if sig == signal.SIGTERM else sig)
            deadline = time.monotonic() + timeout_s
            for service, process in stopping.items():
                try:
                    process.wait(timeout=max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _signal(process, signal.SIGKILL)
                    process.wait()
                statuses[service] = process.returncode
        return statuses


def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
    """Signal a process; SIGKILL goes to its whole group (nginx's workers outlive a killed master)."""
    if sig == signal.SIGKILL:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)


@contextlib.contextmanager
def fresh_cluster(
    *,
    admin_url: str,
    database_name: str,
    kafka_bootstrap: str,
    workdir: Path,
    kafka_idempotence: bool | None = None,
    extra_env: dict[str, str] | None = None,
    replicas: dict[str, int] | None = None,
    timeout_s: float = 90.0,
) -> Iterator[tuple[LocalCluster, str]]:
    """The platform as processes on free ports (`replicas` of each service, one by default) and a
    database of its own (dropped after), migrated and ready; yields (cluster, database URL). For
    tests and benchmarks.

    `kafka_idempotence` defaults to on for an external broker (KAFKA_BOOTSTRAP_SERVERS, real Kafka)
    and off for the Tansu test broker, which refuses the idempotent producer.
    """
    if kafka_idempotence is None:
        kafka_idempotence = bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    database_url = create_database(admin_url, database_name)
    cluster = LocalCluster(
        database_url=database_url,
        kafka_bootstrap=kafka_bootstrap,
        ports={name: free_port() for name in instance_names(replicas or {})},
        dev_key_file=str(workdir / "dev-key.pem"),
        log_dir=str(workdir / "logs"),
        runtime_dir=str(workdir / "edge"),
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


def instance_names(replicas: dict[str, int]) -> list[str]:
    """Every instance of a cluster in start order, with `replicas[service]` of each (1 by default)."""
    unknown = set(replicas) - set(SERVICES_WITH_DATABASE)
    if unknown or any(n < 1 for n in replicas.values()):
        raise ValueError(f"replicas: services are {', '.join(SERVICES_WITH_DATABASE)}, each at least 1")
    names: list[str] = []
    for service in ALL_SERVICES:
        names.append(service)
        names += [f"{service}-{i}" for i in range(2, replicas.get(service, 1) + 1)]
    return names


def default_ports(public_port: int, replicas: dict[str, int] | None = None) -> dict[str, int]:
    """The edge on `public_port`; catalog, pilots and analytics on the next three (as before the
    edge, so their addresses stay put), the gateway app on the fourth, extra replicas after."""
    names = instance_names(replicas or {})
    fixed = ["edge", *SERVICES_WITH_DATABASE, "gateway"]
    ordered = fixed + [n for n in names if n not in fixed]
    return {name: public_port + offset for offset, name in enumerate(ordered)}


def parse_replicas(values: list[str]) -> dict[str, int]:
    """`["analytics=2", "catalog=3"]` as a mapping (`make up REPLICAS="analytics=2 catalog=3"`)."""
    replicas: dict[str, int] = {}
    for value in values:
        service, _, count = value.partition("=")
        if not count.isdigit():
            raise ValueError(f"--replicas {value!r}: expected <service>=<count>")
        replicas[service] = int(count)
    instance_names(replicas)  # validates
    return replicas


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


def main(argv: list[str] | None = None) -> int:
    """Run the distributed platform in the foreground until SIGTERM, SIGINT or SIGHUP."""
    parser = argparse.ArgumentParser(prog="python -m shared.cluster", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--replicas", nargs="*", default=[], metavar="SERVICE=N", help="replicas of a service (1 each)"
    )
    args = parser.parse_args(argv)
    try:
        replicas = parse_replicas([v for value in args.replicas for v in value.split()])
    except ValueError as exc:
        parser.error(str(exc))
    _handle_stop_signals(_request_stop)
    ports = default_ports(int(os.environ.get("GATEWAY_PORT", "8000")), replicas)
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
                f"  {name:<12} {where:<36} pid {pids.get(name)}"
                for name, where in (
                    ("edge", f"{cluster.public_url}/docs (nginx)"),
                    *((i, cluster.url(i)) for i in cluster.instances() if i != "edge"),
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
        print(f"\n  {stop}: stopping the edge, the gateway, the services, then the broker", flush=True)
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
