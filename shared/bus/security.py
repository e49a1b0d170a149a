"""How Kafka clients reach a secured cluster: TLS and SASL, the same for producers, consumers and
the admin client (managed Kafka such as Confluent Cloud, Amazon MSK or Aiven needs both)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})


class KafkaSecurityError(ValueError):
    """The TLS or SASL settings do not fit together, or a file they name cannot be used."""


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL settings of every Kafka client of a process. TLS always verifies the broker's
    certificate and host name (against `ssl_cafile`, else the system's CAs)."""

    protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    """How each field is spelled where it was set (e.g. CATALOG_KAFKA_SASL_USERNAME), for messages."""

    def problems(self) -> list[str]:
        """What does not fit together (empty when the settings are usable)."""
        n = self._name
        out: list[str] = []
        sasl = self.protocol in SASL_PROTOCOLS
        if sasl and self.sasl_mechanism is None:
            out.append(
                f"{n('protocol')}={self.protocol} needs {n('sasl_mechanism')} "
                "(PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
            )
        if self.sasl_mechanism is not None and not sasl:
            out.append(
                f"{n('sasl_mechanism')}={self.sasl_mechanism} needs {n('protocol')}=SASL_SSL "
                f"(or SASL_PLAINTEXT), not {self.protocol}"
            )
        if self.sasl_mechanism is not None and not (self.sasl_username and self.sasl_password):
            out.append(
                f"{n('sasl_mechanism')}={self.sasl_mechanism} needs {n('sasl_username')} and "
                f"{n('sasl_password')}"
            )
        if not sasl and (self.sasl_username or self.sasl_password):
            out.append(
                f"{n('sasl_username')} and {n('sasl_password')} are used only with a SASL_ {n('protocol')}"
            )
        files = ("ssl_cafile", "ssl_certfile", "ssl_keyfile")
        if self.protocol not in TLS_PROTOCOLS:
            for name in files:
                if getattr(self, name):
                    out.append(f"{n(name)} is used only with {n('protocol')}=SSL or SASL_SSL")
        if self.ssl_keyfile and not self.ssl_certfile:
            out.append(f"{n('ssl_keyfile')} needs {n('ssl_certfile')} (the client certificate)")
        if self.ssl_key_password and not (self.ssl_keyfile or self.ssl_certfile):
            out.append(f"{n('ssl_key_password')} needs {n('ssl_keyfile')} or {n('ssl_certfile')}")
        for name in files:
            path = getattr(self, name)
            if path and not Path(path).is_file():
                out.append(f"{n(name)}: no file at {path}")
        return out

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        problems = self.problems()
        if problems:
            raise KafkaSecurityError("; ".join(problems))
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in TLS_PROTOCOLS:
            options["ssl_context"] = self.ssl_context()
        if self.protocol in SASL_PROTOCOLS:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options

    def ssl_context(self) -> ssl.SSLContext:
        """A client TLS context that verifies the broker (certificate and host name)."""
        from aiokafka.helpers import create_ssl_context

        try:
            context = create_ssl_context(cafile=self.ssl_cafile)
        except (ssl.SSLError, OSError) as exc:
            raise KafkaSecurityError(f"{self._name('ssl_cafile')} {self.ssl_cafile}: {exc}") from exc
        if self.ssl_certfile:
            try:
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile, self.ssl_key_password)
            except (ssl.SSLError, OSError) as exc:
                raise KafkaSecurityError(
                    f"{self._name('ssl_certfile')} {self.ssl_certfile}"
                    + (f" with {self._name('ssl_keyfile')} {self.ssl_keyfile}" if self.ssl_keyfile else "")
                    + f": not a usable certificate and key ({exc})"
                ) from exc
        return context

    def _name(self, name: str) -> str:
        return self.names.get(name, name)
