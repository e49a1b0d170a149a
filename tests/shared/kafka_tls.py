"""A secured Kafka for the tests: certificates made on the spot and a Tansu broker reached only
through a TLS endpoint that checks client certificates, optionally requires a SASL login (the
endpoint is then the SASL server: the Tansu build used here keeps no SCRAM users and offers no
PLAIN), and keeps what went through it, in the clear, for the tests to read."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import ipaddress
import ssl
import struct
import subprocess
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import scramp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.testing import free_port, tansu_binary, wait_for_port

_T = TypeVar("_T")


@dataclass(frozen=True)
class Pki:
    """PEM files of a test CA, a broker certificate for 127.0.0.1 and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: a client trusting it must refuse the broker


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


def _ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey, common_name: str, *, server: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    return builder.sign(ca_key, hashes.SHA256()), key


def make_pki(directory: Path) -> Pki:
    """Write a CA, a broker certificate (127.0.0.1) and a client certificate under `directory`."""
    ca, ca_key = _ca("edtech test CA")
    other, _ = _ca("a CA nobody here uses")
    server, server_key = _leaf(ca, ca_key, "127.0.0.1", server=True)
    client, client_key = _leaf(ca, ca_key, "edtech-service", server=False)
    pki = Pki(
        ca=directory / "ca.pem",
        server_cert=directory / "broker.pem",
        server_key=directory / "broker.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other-ca.pem",
    )
    for path, cert in (
        (pki.ca, ca),
        (pki.server_cert, server),
        (pki.client_cert, client),
        (pki.other_ca, other),
    ):
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(pki.server_key, server_key)
    _write_key(pki.client_key, client_key)
    return pki


# Kafka's wire protocol (https://kafka.apache.org/protocol), as far as the SASL gate speaks it.
API_VERSIONS, SASL_HANDSHAKE, SASL_AUTHENTICATE, METADATA = 18, 17, 36, 3
UNSUPPORTED_SASL_MECHANISM, SASL_AUTHENTICATION_FAILED = 33, 58
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
# The versions the gate answers (aiokafka 0.14 sends ApiVersions v0, SaslHandshake v1 and
# SaslAuthenticate v1); the ApiVersions answer it relays is trimmed to them.
_GATE_VERSIONS = {SASL_HANDSHAKE: (1, 1), SASL_AUTHENTICATE: (0, 1)}
_MAX_UNAUTHENTICATED_FRAME = 524_288  # Apache Kafka's sasl.server.max.receive.size

AuthInfo = tuple[bytes, bytes, bytes, int]  # scramp's salt, stored key, server key, iteration count
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Refused(Exception):
    """Wrong credentials: the gate answers SASL_AUTHENTICATION_FAILED and hangs up."""


class _Fields:
    """Reads a Kafka request's fields in order (big-endian, as the protocol sends them)."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def _take(self, size: int) -> bytes:
        if size < 0 or self._at + size > len(self._data):
            raise ValueError("a truncated Kafka request")
        chunk = self._data[self._at : self._at + size]
        self._at += size
        return chunk

    def int16(self) -> int:
        return int(struct.unpack(">h", self._take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">i", self._take(4))[0])

    def nullable_string(self) -> str | None:
        size = self.int16()
        return None if size == -1 else self._take(size).decode()

    def bytes(self) -> bytes:
        return self._take(self.int32())


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    encoded = value.encode()
    return struct.pack(">h", len(encoded)) + encoded


class _Exchange(Protocol):
    """One SASL login: `step` takes the client's token and answers (token, finished)."""

    mechanism: str
    user: str

    def step(self, token: bytes) -> tuple[bytes, bool]: ...


class _ScramExchange:
    """RFC 5802/7677 SCRAM, server side, by scramp: two rounds, no password in either."""

    def __init__(self, mechanism: str, credentials: Mapping[str, AuthInfo]) -> None:
        self.mechanism = mechanism
        self.user = ""
        self._credentials = credentials
        self._server = scramp.ScramMechanism(mechanism).make_server(self._auth_info)
        self._first = True  # client-first, then client-final

    def _auth_info(self, user: str) -> AuthInfo | None:
        self.user = user
        return self._credentials.get(user)

    def step(self, token: bytes) -> tuple[bytes, bool]:
        try:
            if self._first:
                self._first = False
                self._server.set_client_first(token.decode())
                return self._server.get_server_first().encode(), False
            self._server.set_client_final(token.decode())
            return self._server.get_server_final().encode(), True
        except (scramp.ScramException, UnicodeDecodeError) as error:
            raise _Refused(str(error)) from error


class _PlainExchange:
    """RFC 4616 PLAIN (authzid NUL user NUL password), checked against the SCRAM-SHA-256 keys the
    gate keeps: the gate holds no password, not even for PLAIN."""

    mechanism = "PLAIN"

    def __init__(self, credentials: Mapping[str, AuthInfo]) -> None:
        self.user = ""
        self._credentials = credentials

    def step(self, token: bytes) -> tuple[bytes, bool]:
        try:
            authzid, self.user, password = token.decode().split("\0")
        except ValueError as error:
            raise _Refused("not a PLAIN token") from error
        known = self._credentials.get(self.user)
        if known is None or authzid not in ("", self.user):
            raise _Refused("unknown user or another authorization id")
        salt, stored_key, _, iterations = known
        _, offered, _, _ = scramp.ScramMechanism("SCRAM-SHA-256").make_auth_info(
            password, iteration_count=iterations, salt=salt
        )
        if not hmac.compare_digest(offered, stored_key):
            raise _Refused("wrong password")
        return b"", True


class SaslGate:
    """The SASL server of a `SecuredBroker`: it answers a connection's SASL requests itself and,
    once the client has logged in, pipes the connection to Tansu, which runs without
    `--authentication` (its in-memory engine keeps no SCRAM users and it offers no PLAIN).

    It speaks the frames of https://kafka.apache.org/protocol that aiokafka 0.14 sends: a request
    is a 4-byte big-endian size, then the request header v1 (api_key int16, api_version int16,
    correlation_id int32, client_id nullable string) and the body; a response is the size, the
    response header v0 (correlation_id int32) and the body. Before a login, like a broker requiring
    SASL, it relays ApiVersions (v0-v2) to Tansu, trimming SaslHandshake to v1 and SaslAuthenticate
    to v0-v1 in the answer; it answers SaslHandshake v1 (mechanism string -> error_code int16,
    mechanisms [string]) and SaslAuthenticate v0-v1 (auth_bytes bytes -> error_code int16,
    error_message nullable string, auth_bytes bytes, v1: session_lifetime_ms int64); any other
    request closes the connection. Wrong credentials get SASL_AUTHENTICATION_FAILED with a message,
    then the connection closes, as Apache Kafka does.

    Users are kept as scramp's SCRAM keys (salt, stored key, server key), never as passwords.
    `authenticated` and `failed` list the logins as (mechanism, user); `turned_away` the API keys
    of requests that came before a login."""

    def __init__(self, users: Mapping[str, str], *, mechanisms: Sequence[str] = SASL_MECHANISMS) -> None:
        self.mechanisms = tuple(mechanisms)
        self._credentials = {
            name: {
                user: scramp.ScramMechanism(name).make_auth_info(password) for user, password in users.items()
            }
            for name in ("SCRAM-SHA-256", "SCRAM-SHA-512")
        }
        self.authenticated: list[tuple[str, str]] = []
        self.failed: list[tuple[str, str]] = []
        self.turned_away: list[int] = []

    def _exchange(self, mechanism: str) -> _Exchange:
        if mechanism == "PLAIN":
            return _PlainExchange(self._credentials["SCRAM-SHA-256"])
        return _ScramExchange(mechanism, self._credentials[mechanism])

    async def admit(self, client: Streams, broker: Streams, sent: bytearray, received: bytearray) -> bool:
        """Run the connection's SASL login; True once the client is in, False when it is to close."""
        try:
            return await self._login(client, broker, sent, received)
        except (ValueError, struct.error, OSError, ssl.SSLError):
            return False  # a malformed frame, or a peer that hung up

    async def _login(self, client: Streams, broker: Streams, sent: bytearray, received: bytearray) -> bool:
        (client_r, client_w), (broker_r, broker_w) = client, broker
        exchange: _Exchange | None = None
        while True:
            frame = await _read_frame(client_r, limit=_MAX_UNAUTHENTICATED_FRAME)
            if frame is None:
                return False
            sent.extend(frame)
            fields = _Fields(frame[4:])
            api_key, version, correlation_id = fields.int16(), fields.int16(), fields.int32()
            fields.nullable_string()  # client_id
            if api_key == API_VERSIONS and version <= 2:
                broker_w.write(frame)
                await broker_w.drain()
                answer = await _read_frame(broker_r)
                if answer is None:
                    return False
                await _relay(client_w, _trim_versions(answer), received)
            elif api_key == SASL_HANDSHAKE and version == 1 and exchange is None:
                mechanism = fields.nullable_string() or ""
                known = mechanism in self.mechanisms
                error = 0 if known else UNSUPPORTED_SASL_MECHANISM
                listed = struct.pack(">i", len(self.mechanisms)) + b"".join(map(_string, self.mechanisms))
                await _send(client_w, struct.pack(">ih", correlation_id, error) + listed, received)
                if not known:
                    return False
                exchange = self._exchange(mechanism)
            elif api_key == SASL_AUTHENTICATE and version <= 1 and exchange is not None:
                lifetime = struct.pack(">q", 0) if version == 1 else b""  # 0: no re-authentication
                try:
                    token, finished = exchange.step(fields.bytes())
                except (_Refused, ValueError):
                    self.failed.append((exchange.mechanism, exchange.user))
                    message = (
                        "Authentication failed during authentication due to invalid credentials "
                        f"with SASL mechanism {exchange.mechanism}"
                    )
                    head = struct.pack(">ih", correlation_id, SASL_AUTHENTICATION_FAILED)
                    await _send(client_w, head + _string(message) + struct.pack(">i", 0) + lifetime, received)
                    return False
                head = struct.pack(">ih", correlation_id, 0) + _string(None)
                await _send(client_w, head + struct.pack(">i", len(token)) + token + lifetime, received)
                if finished:
                    self.authenticated.append((exchange.mechanism, exchange.user))
                    return True
            else:
                self.turned_away.append(api_key)
                return False


async def _read_frame(reader: asyncio.StreamReader, *, limit: int | None = None) -> bytes | None:
    """One size-prefixed Kafka frame (size included), or None when the peer hung up or sent junk."""
    try:
        head = await reader.readexactly(4)
        (size,) = struct.unpack(">i", head)
        if size < 0 or (limit is not None and size > limit):
            return None
        return head + await reader.readexactly(size)
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError):
        return None


async def _send(writer: asyncio.StreamWriter, body: bytes, seen: bytearray) -> None:
    """Send a response body, size-prefixed."""
    await _relay(writer, struct.pack(">i", len(body)) + body, seen)


async def _relay(writer: asyncio.StreamWriter, frame: bytes, seen: bytearray) -> None:
    """Send a whole frame (size included)."""
    seen.extend(frame)
    writer.write(frame)
    await writer.drain()


def _trim_versions(frame: bytes) -> bytes:
    """An ApiVersions v0-v2 response (correlation_id, error_code, [api_key, min, max], ...) with the
    SASL APIs narrowed to the versions the gate answers."""
    answer = bytearray(frame)
    (count,) = struct.unpack_from(">i", answer, 10)
    for offset in range(14, 14 + 6 * count, 6):
        api_key, low, high = struct.unpack_from(">hhh", answer, offset)
        if api_key in _GATE_VERSIONS:
            gate_low, gate_high = _GATE_VERSIONS[api_key]
            struct.pack_into(">hhh", answer, offset, api_key, max(low, gate_low), min(high, gate_high))
    return bytes(answer)


class SecuredBroker:
    """Tansu on a private port, reachable by clients only through a TLS endpoint (the address the
    broker advertises) that requires a client certificate signed by the test CA. With a `gate`,
    the endpoint also requires a SASL login (see `SaslGate`). `sent` and `received` hold the
    plaintext that crossed the endpoint (what clients sent and what the broker or the gate
    answered)."""

    def __init__(self, pki: Pki, *, gate: SaslGate | None = None) -> None:
        self.pki = pki
        self.gate = gate
        self.port = free_port()  # the TLS endpoint, advertised
        self._broker_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sent = bytearray()
        self.received = bytearray()

    @property
    def bootstrap_servers(self) -> str:
        """host:port of the TLS endpoint."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> SecuredBroker:
        """Start the broker and the TLS endpoint in front of it."""
        command = [
            str(tansu_binary()),
            "broker",
            "--listener-url",
            f"tcp://127.0.0.1:{self._broker_port}",
            "--advertised-listener-url",
            f"tcp://127.0.0.1:{self.port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0
        )
        await asyncio.to_thread(wait_for_port, "127.0.0.1", self._broker_port)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.pki.ca))
        context.load_cert_chain(self.pki.server_cert, self.pki.server_key)
        context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate, no connection
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=context)
        return self

    async def stop(self) -> None:
        """Stop the endpoint, its connections and the broker."""
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout=5)
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            await asyncio.to_thread(self._process.wait, 10)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self._broker_port)
        except OSError:
            client_w.close()
            return
        try:
            if self.gate is not None:
                login = self._track(
                    self.gate.admit((client_r, client_w), (broker_r, broker_w), self.sent, self.received)
                )
                if not await login:
                    return
            pipes = [
                self._track(self._pipe(client_r, broker_w, self.sent)),
                self._track(self._pipe(broker_r, client_w, self.received)),
            ]
            try:
                await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in pipes:
                    task.cancel()
        except asyncio.CancelledError:
            pass  # the endpoint is stopping
        finally:
            for writer in (client_w, broker_w):
                with contextlib.suppress(Exception):
                    writer.close()

    def _track(self, work: Coroutine[Any, Any, _T]) -> asyncio.Task[_T]:
        """A task `stop` cancels."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bytearray) -> None:
        with contextlib.suppress(OSError, ssl.SSLError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                seen.extend(chunk)
                writer.write(chunk)
                await writer.drain()
