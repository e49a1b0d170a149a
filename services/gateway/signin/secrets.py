"""Secrets at rest: providers' client secrets and the signing keys, encrypted with the gateway's key."""

from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from services.gateway.config import Settings
from shared.files import create_once


def _development_secret(path: Path) -> str:
    """The secret kept in `path`, created on first use (every process gets the same)."""
    create_once(path, secrets.token_urlsafe(48).encode())
    return path.read_text().strip()


class SecretBox:
    """Encrypts and decrypts with a key derived from `GATEWAY_SECRET_KEY` (Fernet: AES-CBC + HMAC)."""

    def __init__(self, secret: str) -> None:
        key = base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest())
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box of the configured secret (production requires one; development keeps a file)."""
        if settings.secret_key is not None:
            return cls(settings.secret_key.get_secret_value())
        return cls(_development_secret(Path(settings.secret_key_file)))

    def seal(self, plain: bytes) -> bytes:
        """`plain`, encrypted."""
        return self._fernet.encrypt(plain)

    def open(self, sealed: bytes) -> bytes:
        """What `seal` encrypted; ValueError when the secret key has changed since."""
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken as exc:
            raise ValueError(
                "cannot decrypt: GATEWAY_SECRET_KEY differs from the one that encrypted"
            ) from exc
