"""Secrets and answers kept encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256), each purpose under
a key of its own derived from the portal's SECRET_KEY (HMAC as the KDF: the secret key is already
random), so nothing sealed for one purpose can be opened as another, and a copy of the database alone
reads none of them: the TOTP secrets (services/mfa.py), the webhook signing secrets
(services/webhooks.py) and the stored answers of idempotent API calls (services/idempotency.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet(purpose: bytes) -> Fernet:
    secret_key = str(current_app.config["SECRET_KEY"]).encode()
    return Fernet(base64.urlsafe_b64encode(hmac.new(secret_key, purpose, hashlib.sha256).digest()))


def seal(purpose: bytes, text: str) -> str:
    """`text` encrypted for `purpose` (ASCII, for a text column)."""
    return _fernet(purpose).encrypt(text.encode()).decode()


def unseal(purpose: bytes, token: str) -> str | None:
    """The text sealed for `purpose`, or None when it cannot be read (SECRET_KEY changed since)."""
    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return None
