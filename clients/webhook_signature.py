"""Webhook signatures: ``sha256=<hex HMAC-SHA256(secret, exact body bytes)>``.

The sender signs; receivers (our tests, users following the docs) verify. Verification must
use the raw body bytes as received, before any JSON parsing, and compares in constant time.

Receiver sketch (any framework that gives the raw body)::

    body = await request.body()
    if not verify_webhook_signature(secret, body, request.headers.get("X-Webhook-Signature")):
        return Response(status_code=401)
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

__all__ = ["SIGNATURE_PREFIX", "sign_webhook_body", "verify_webhook_signature"]

SIGNATURE_PREFIX = "sha256="
"""Every signature header value starts with this (GitHub-style), naming the algorithm."""


def _secret_bytes(secret: SecretStr | str) -> bytes:
    """Unwrap a secret at the last moment, so it lives in plain text as briefly as possible."""
    raw = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return raw.encode("utf-8")


def sign_webhook_body(secret: SecretStr | str, body: bytes) -> str:
    """Sign webhook body bytes.

    Args:
        secret: The shared signing secret.
        body: The exact bytes that are sent.

    Returns:
        ``"sha256=" + lowercase hex HMAC-SHA256(secret, body)``.

    Example:
        >>> sign_webhook_body("test-secret-not-real", b'{"event":"instance.ready"}')[:15]
        'sha256=6b0afcff'

    """
    digest = hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_webhook_signature(secret: SecretStr | str, body: bytes, header: str | None) -> bool:
    """Check a received signature header against the raw body, in constant time.

    Args:
        secret: The shared signing secret.
        body: The raw request body exactly as received (not re-serialised JSON).
        header: The ``X-Webhook-Signature`` (or ``X-Signature-SHA256``) header value; None or
            a value without the ``sha256=`` prefix never verifies.

    Returns:
        True when the header is the signature of ``body`` under ``secret``.

    Example:
        >>> body = b'{"event":"instance.ready"}'
        >>> header = sign_webhook_body("test-secret-not-real", body)
        >>> verify_webhook_signature("test-secret-not-real", body, header)
        True
        >>> verify_webhook_signature("test-secret-not-real", body + b" ", header)
        False

    """
    if not header:
        return False
    header = header.strip()
    if not header.lower().startswith(SIGNATURE_PREFIX):
        return False
    # Hex case is not meaningful; normalise so "SHA256=ABC..." from a proxy still verifies.
    received = SIGNATURE_PREFIX + header[len(SIGNATURE_PREFIX) :].lower()
    expected = sign_webhook_body(secret, body)
    return hmac.compare_digest(received.encode("ascii", "replace"), expected.encode("ascii"))
