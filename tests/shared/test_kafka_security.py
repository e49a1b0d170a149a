"""Kafka as districts run it: TLS (CA, client certificate) and SASL settings reach every aiokafka
client, a service talks to a TLS-only broker with nothing but its settings, a SASL login (SCRAM or
PLAIN, at the tests' SASL gate) lets the bus in while wrong credentials or no SASL do not, and
settings that do not fit together stop the process at startup with a message naming them."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from pydantic import ValidationError

from services.catalog.config import Settings as CatalogSettings
from shared.bus import IncomingMessage, KafkaSecurity, OutgoingMessage
from shared.bus import kafka as kafka_module
from shared.bus.kafka import KafkaBus
from shared.bus.security import KafkaSecurityError
from shared.events.topics import CATALOG_TOOLS
from shared.testing import free_port
from tests.fixtures.auth import TokenFactory
from tests.fixtures.services import AppFactory
from tests.shared.kafka_tls import METADATA, Pki, SaslGate, SecuredBroker, make_pki
from tests.shared.support import FAST_GROUP, record_event, wait_until

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "district-app", "a password the SASL gate keeps only as SCRAM keys"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def tls_broker(pki: Pki) -> AsyncIterator[SecuredBroker]:
    broker = await SecuredBroker(pki).start()
    yield broker
    await broker.stop()


@pytest.fixture
async def gated_broker(pki: Pki) -> AsyncIterator[SecuredBroker]:
    broker = await SecuredBroker(pki, gate=SaslGate({USER: PASSWORD})).start()
    yield broker
    await broker.stop()


def mutual_tls(pki: Pki, **changes: Any) -> KafkaSecurity:
    fields: dict[str, Any] = {
        "protocol": "SSL",
        "ssl_cafile": str(pki.ca),
        "ssl_certfile": str(pki.client_cert),
        "ssl_keyfile": str(pki.client_key),
        **changes,
    }
    return KafkaSecurity(**fields)


def sasl_over_tls(pki: Pki, mechanism: str, user: str = USER, password: str = PASSWORD) -> KafkaSecurity:
    return mutual_tls(
        pki, protocol="SASL_SSL", sasl_mechanism=mechanism, sasl_username=user, sasl_password=password
    )


def gate_of(broker: SecuredBroker) -> SaslGate:
    assert broker.gate is not None
    return broker.gate


def secured_bus(bootstrap: str, security: KafkaSecurity) -> KafkaBus:
    return KafkaBus(
        bootstrap,
        client_id="security-tests",
        enable_idempotence=False,
        partitions=2,
        max_backoff_s=0.5,
        consumer_options=FAST_GROUP,
        producer_options={"request_timeout_ms": 3000},
        security=security,
    )


async def test_over_mutual_tls_the_bus_creates_topics_publishes_and_consumes(
    tls_broker: SecuredBroker, pki: Pki
) -> None:
    topic = f"shared-test.tls.{uuid.uuid4().hex[:8]}"
    bus = secured_bus(tls_broker.bootstrap_servers, mutual_tls(pki))
    seen: list[tuple[str | None, bytes]] = []

    async def handler(message: IncomingMessage) -> None:
        seen.append((message.key, message.value))

    bus.subscribe(f"tls-{uuid.uuid4().hex[:8]}", [topic], handler)
    try:
        await bus.ping()
        await bus.publish([OutgoingMessage(topic, f"k{n}", f"event {n}".encode()) for n in range(3)])
        await bus.start()
        await wait_until(lambda: len(seen) == 3, timeout_s=30, what="three messages over TLS")
    finally:
        await bus.stop()
    assert sorted(seen) == [(f"k{n}", f"event {n}".encode()) for n in range(3)]
    assert topic.encode() in tls_broker.sent  # admin, producer and consumer all went through TLS


@pytest.mark.parametrize(
    "changes",
    [{"ssl_cafile": "other"}, {"ssl_certfile": None, "ssl_keyfile": None}],
    ids=["broker-signed-by-another-ca", "no-client-certificate"],
)
async def test_tls_refuses_an_unknown_broker_and_a_client_without_certificate(
    tls_broker: SecuredBroker, pki: Pki, changes: dict[str, Any]
) -> None:
    if changes.get("ssl_cafile") == "other":
        changes["ssl_cafile"] = str(pki.other_ca)
    bus = secured_bus(tls_broker.bootstrap_servers, mutual_tls(pki, **changes))
    try:
        with pytest.raises(Exception) as refused:
            await bus.ping()
    finally:
        await bus.stop()
    assert "Unable to bootstrap" in str(refused.value) or isinstance(refused.value, ssl.SSLError)
    assert tls_broker.sent == bytearray()  # not one Kafka request got through


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
async def test_after_a_sasl_login_the_bus_creates_topics_publishes_and_consumes(
    gated_broker: SecuredBroker, pki: Pki, mechanism: str
) -> None:
    topic = f"shared-test.sasl.{uuid.uuid4().hex[:8]}"
    bus = secured_bus(gated_broker.bootstrap_servers, sasl_over_tls(pki, mechanism))
    gate = gate_of(gated_broker)
    seen: list[tuple[str | None, bytes]] = []

    async def handler(message: IncomingMessage) -> None:
        seen.append((message.key, message.value))

    try:
        await bus.ensure_topics([topic])  # the admin client
        after_admin = len(gate.authenticated)
        await bus.publish([OutgoingMessage(topic, "k", b"an event after a SASL login")])  # the producer
        after_producer = len(gate.authenticated)
        bus.subscribe(f"sasl-{uuid.uuid4().hex[:8]}", [topic], handler)
        await bus.start()  # the consumer
        await wait_until(lambda: len(seen) == 1, timeout_s=30, what="the message after a SASL login")
        after_consumer = len(gate.authenticated)
    finally:
        await bus.stop()
    assert seen == [("k", b"an event after a SASL login")]
    # Each client logged in on its own connections, as the configured user, and nothing was refused.
    assert 0 < after_admin < after_producer < after_consumer
    assert set(gate.authenticated) == {(mechanism, USER)}
    assert gate.failed == [] and gate.turned_away == []
    if mechanism == "PLAIN":  # PLAIN sends the password itself: only TLS keeps it from the wire
        assert f"{USER}\0{USER}\0{PASSWORD}".encode() in gated_broker.sent
    else:  # SCRAM proves knowledge of the password without sending it
        assert f"n,,n={USER},r=".encode() in gated_broker.sent
        assert PASSWORD.encode() not in gated_broker.sent


@pytest.mark.parametrize(
    ("mechanism", "user", "password"),
    [
        ("SCRAM-SHA-256", USER, "not the password"),
        ("SCRAM-SHA-512", USER, "not the password"),
        ("SCRAM-SHA-512", "nobody", PASSWORD),
        ("PLAIN", USER, "not the password"),
    ],
    ids=[
        "scram-sha-256-wrong-password",
        "scram-sha-512-wrong-password",
        "scram-unknown-user",
        "plain-wrong-password",
    ],
)
async def test_wrong_credentials_are_refused(
    gated_broker: SecuredBroker, pki: Pki, mechanism: str, user: str, password: str
) -> None:
    bus = secured_bus(gated_broker.bootstrap_servers, sasl_over_tls(pki, mechanism, user, password))
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await bus.ping()  # the producer
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await bus.ensure_topics(["shared-test.sasl.refused"])  # the admin client
    finally:
        await bus.stop()
    gate = gate_of(gated_broker)
    assert gate.authenticated == []
    assert len(gate.failed) >= 2 and set(gate.failed) == {(mechanism, user)}
    refusal = f"invalid credentials with SASL mechanism {mechanism}"
    assert gated_broker.received.count(refusal.encode()) == len(gate.failed)
    assert b"shared-test.sasl.refused" not in gated_broker.sent  # no request went past the login


async def test_a_client_without_sasl_is_turned_away_before_any_metadata(
    gated_broker: SecuredBroker, pki: Pki
) -> None:
    bus = secured_bus(gated_broker.bootstrap_servers, mutual_tls(pki))  # TLS, but no SASL
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await bus.ping()
    finally:
        await bus.stop()
    gate = gate_of(gated_broker)
    # The client asked for the API versions (answered, as brokers do before a login), then for
    # metadata: the gate closed the connection instead.
    assert gate.turned_away and set(gate.turned_away) == {METADATA}
    assert gate.authenticated == [] and gate.failed == []


async def test_a_mechanism_the_gate_does_not_offer_is_refused_at_the_handshake(pki: Pki) -> None:
    broker = await SecuredBroker(pki, gate=SaslGate({USER: PASSWORD}, mechanisms=["SCRAM-SHA-512"])).start()
    bus = secured_bus(broker.bootstrap_servers, sasl_over_tls(pki, "PLAIN"))
    try:
        with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
            await bus.ping()
    finally:
        await bus.stop()
        await broker.stop()
    gate = gate_of(broker)
    assert gate.authenticated == [] and gate.failed == []
    # The handshake asked for PLAIN and was told SCRAM-SHA-512; the password was never sent.
    assert b"PLAIN" in broker.sent and b"SCRAM-SHA-512" in broker.received
    assert PASSWORD.encode() not in broker.sent


async def test_every_aiokafka_client_gets_the_security_settings(
    monkeypatch: pytest.MonkeyPatch, pki: Pki
) -> None:
    made: dict[str, dict[str, Any]] = {}

    class Refused(Exception):
        pass

    def recorder(kind: str) -> type:
        class Client:
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                made[kind] = kwargs

            async def start(self) -> None:
                if kind != "admin":
                    raise Refused(kind)

            async def list_topics(self) -> list[str]:
                return ["t"]

            async def stop(self) -> None:
                return None

            async def close(self) -> None:
                return None

        return Client

    monkeypatch.setattr(kafka_module, "AIOKafkaProducer", recorder("producer"))
    monkeypatch.setattr(kafka_module, "AIOKafkaConsumer", recorder("consumer"))
    monkeypatch.setattr(kafka_module, "AIOKafkaAdminClient", recorder("admin"))
    security = mutual_tls(
        pki, protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="u", sasl_password="p"
    )
    bus = KafkaBus("broker:9093", client_id="c", security=security)
    with pytest.raises(Refused):
        await bus.ping()
    bus._running = True
    with pytest.raises(Refused):
        await bus._consume("g", ("t",), lambda message: asyncio.sleep(0))
    assert set(made) == {"producer", "consumer", "admin"}
    for kwargs in made.values():
        assert kwargs["security_protocol"] == "SASL_SSL"
        assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("u", "p")
        context = kwargs["ssl_context"]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert made["producer"]["ssl_context"] is made["admin"]["ssl_context"]  # built once, at startup


async def test_a_service_reaches_a_tls_only_broker_with_its_settings(
    tls_broker: SecuredBroker, pki: Pki, service_app: AppFactory, auth: TokenFactory, district: str
) -> None:
    overrides = {
        "workers_enabled": True,
        "bus_backend": "kafka",
        "kafka_bootstrap_servers": tls_broker.bootstrap_servers,
        "kafka_enable_idempotence": False,
        "kafka_security_protocol": "SSL",
        "kafka_ssl_cafile": str(pki.ca),
        "kafka_ssl_certfile": str(pki.client_cert),
        "kafka_ssl_keyfile": str(pki.client_key),
        "outbox_poll_interval_s": 0.1,
    }
    async with service_app("catalog", **overrides) as (_, client):
        ready = await client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"]["bus"] == "ok"
        r = await client.post("/api/catalog/tools", json={"name": "Tool over TLS"}, headers=auth("edtech"))
        assert r.status_code == 201, r.text
        tool_id = r.json()["id"]
        consumer = AIOKafkaConsumer(
            CATALOG_TOOLS,
            bootstrap_servers=tls_broker.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            **mutual_tls(pki).client_options(),
        )
        await consumer.start()
        try:
            seen: list[Any] = []  # the relay also sends what other tests left in the catalog's outbox

            async def the_event() -> Any:
                batches = await consumer.getmany(timeout_ms=200)
                seen.extend(record_event(r) for rs in batches.values() for r in rs)
                return [e for e in seen if e.data.get("tool_id") == tool_id]

            events = await wait_until(the_event, timeout_s=30, what="the tool's event over TLS")
        finally:
            await consumer.stop()
    assert [e.type for e in events] == ["org.edtech.tool.registered.v1"]
    assert events[0].districtid == district


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_security_protocol": "SASL_SSL"},
            "CATALOG_KAFKA_SASL_MECHANISM=SCRAM-SHA-512 needs CATALOG_KAFKA_SASL_USERNAME and "
            "CATALOG_KAFKA_SASL_PASSWORD",
        ),
        (
            {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_username": "u", "kafka_sasl_password": "pw"},
            "CATALOG_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs CATALOG_KAFKA_SASL_MECHANISM",
        ),
        (
            {"kafka_sasl_mechanism": "PLAIN", "kafka_sasl_username": "u", "kafka_sasl_password": "pw"},
            "CATALOG_KAFKA_SASL_MECHANISM=PLAIN needs CATALOG_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_cafile": "/nowhere/ca.pem"},
            "CATALOG_KAFKA_SSL_CAFILE: no file at /nowhere/ca.pem",
        ),
        (
            {"kafka_ssl_cafile": "PKI_CA"},
            "CATALOG_KAFKA_SSL_CAFILE is used only with CATALOG_KAFKA_SECURITY_PROTOCOL=SSL or SASL_SSL",
        ),
        (
            {"kafka_security_protocol": "SSL", "kafka_ssl_keyfile": "PKI_KEY"},
            "CATALOG_KAFKA_SSL_KEYFILE needs CATALOG_KAFKA_SSL_CERTFILE",
        ),
        (
            {
                "environment": "production",
                "database_url": "postgresql+asyncpg://catalog@db/edtech",
                "kafka_security_protocol": "SASL_PLAINTEXT",
                "kafka_sasl_mechanism": "PLAIN",
                "kafka_sasl_username": "u",
                "kafka_sasl_password": "pw",
            },
            "SASL_PLAINTEXT with PLAIN sends the password in clear",
        ),
    ],
    ids=[
        "no-credentials",
        "no-mechanism",
        "not-sasl",
        "no-ca-file",
        "ca-without-tls",
        "key-alone",
        "plain-text",
    ],
)
def test_settings_that_do_not_fit_are_refused_naming_them(
    settings: dict[str, str], message: str, pki: Pki
) -> None:
    files = {"PKI_CA": str(pki.ca), "PKI_KEY": str(pki.client_key)}
    values: dict[str, Any] = {k: files.get(v, v) for k, v in settings.items()}
    with pytest.raises(ValidationError) as refused:
        CatalogSettings(**values)
    assert message in str(refused.value)
    assert "pw" not in str(refused.value).replace("password", "")  # no value is echoed


def test_unusable_certificate_files_stop_the_bus_at_startup(pki: Pki) -> None:
    with pytest.raises(KafkaSecurityError, match="not a usable certificate and key"):
        secured_bus("127.0.0.1:9", mutual_tls(pki, ssl_certfile=str(pki.ca), ssl_keyfile=str(pki.client_key)))


def test_a_service_started_with_a_mechanism_but_no_credentials_exits_with_the_reason() -> None:
    env = {
        **os.environ,
        "CATALOG_DATABASE_URL": "sqlite+aiosqlite:///:memory:",
        "CATALOG_BUS_BACKEND": "kafka",
        "CATALOG_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "CATALOG_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
        "CATALOG_KAFKA_SASL_USERNAME": "district-app",
    }
    done = subprocess.run(
        [sys.executable, "-m", "shared.serve", "catalog", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0, done.stderr
    assert (
        "CATALOG_KAFKA_SASL_MECHANISM=SCRAM-SHA-256 needs CATALOG_KAFKA_SASL_USERNAME and "
        "CATALOG_KAFKA_SASL_PASSWORD" in done.stderr
    )
