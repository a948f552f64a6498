"""Encryption at rest for secrets set through the API (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``MAMC_SECRET_KEY`` (a Fernet key, or any long passphrase, which is stretched with
SHA-256). In dev, when it is unset, a key is generated once into ``MAMC_DATA_DIR/secret.key``
(mode 0600); prod refuses to start without it (shared/infra/settings.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from shared.infra.errors import ConfigError
from shared.infra.settings import Settings, get_settings


def _as_fernet_key(text: str) -> bytes:
    raw = text.strip().encode()
    try:
        if len(base64.urlsafe_b64decode(raw)) == 32:
            return raw
    except ValueError:
        pass  # not base64: treat it as a passphrase below
    return base64.urlsafe_b64encode(hashlib.sha256(raw).digest())


def ensure_key_file(data_dir: Path) -> str:
    path = data_dir / "secret.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def fernet(settings: Settings | None = None) -> Fernet:
    settings = settings or get_settings()
    if settings.secret_key is not None:
        return Fernet(_as_fernet_key(settings.secret_key.get_secret_value()))
    if settings.env == "prod":
        raise ConfigError("MAMC_SECRET_KEY is required in prod")
    return Fernet(_as_fernet_key(ensure_key_file(settings.data_dir)))


def encrypt(plaintext: str) -> bytes:
    return fernet().encrypt(plaintext.encode())


def decrypt(ciphertext: bytes) -> str:
    try:
        return fernet().decrypt(ciphertext).decode()
    except InvalidToken:
        raise ConfigError("a stored secret cannot be decrypted: MAMC_SECRET_KEY changed since it was saved; "
                          "set the secret again") from None
