"""Encryption at rest for Slack tokens and connector credentials, and hashing of API keys."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.config import ConfigError


def _fernet(key_setting: str) -> MultiFernet:
    # Several comma-separated keys allow rotation: the first encrypts, all decrypt.
    keys = [k.strip() for k in key_setting.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise ConfigError(
            "TOKTRA_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)."
        ) from None


def check_key(key_setting: str) -> None:
    """Raise ConfigError unless the setting holds usable Fernet keys."""
    _fernet(key_setting)


def encrypt(key_setting: str, plaintext: str) -> str:
    """Encrypt a secret with the current key; the result is ASCII."""
    return _fernet(key_setting).encrypt(plaintext.encode()).decode()


def decrypt(key_setting: str, token: str) -> str:
    """Decrypt a secret written by encrypt(); raise ValueError if no key opens it."""
    try:
        return _fernet(key_setting).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("stored secret cannot be decrypted with TOKTRA_ENCRYPTION_KEY") from None


def generate_api_key() -> tuple[str, str, str]:
    """Return (full key, lookup prefix, sha256 hash) for a new API key."""
    prefix = secrets.token_hex(4)
    key = f"tok_{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_api_key(key)


def hash_api_key(key: str) -> str:
    """SHA-256 of a high-entropy API key (a slow KDF adds nothing for random keys)."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    """The lookup prefix embedded in a key, or None if the key is not ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "tok" or len(parts[1]) != 8:
        return None
    return parts[1]


def hashes_match(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a, b)
