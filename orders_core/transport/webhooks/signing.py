"""Standard Webhooks signatures (https://www.standardwebhooks.com): our own small signer.

``webhook-signature`` is a space-separated list of ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
one per secret that currently signs (during a secret rotation the old and the new one), so a receiver
holding either secret verifies. Secrets are ``whsec_`` + base64 of the key bytes. The tests verify what
this module writes with the reference ``standardwebhooks`` package, never with this code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"


class InvalidWebhookSecret(ValueError):
    """A secret that is not ``whsec_`` + base64 (or plain base64) of at least one byte."""


def secret_key(secret: str) -> bytes:
    """The HMAC key bytes of a ``whsec_...`` secret (the prefix is optional, as the specification allows)."""
    encoded = secret[len(SECRET_PREFIX) :] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(encoded, validate=True)
    except (ValueError, TypeError) as exc:
        raise InvalidWebhookSecret("a webhook secret is 'whsec_' + base64 of the key bytes") from exc
    if not key:
        raise InvalidWebhookSecret("a webhook secret must hold at least one key byte")
    return key


def signature(key: bytes, message_id: str, timestamp_s: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{id}.{timestamp}.{body}``."""
    signed = message_id.encode() + b"." + str(timestamp_s).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signed_headers(keys: Sequence[bytes], message_id: str, timestamp_s: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers (plus the JSON content type) for one send of ``body``.

    ``keys`` are the key bytes of every secret that signs now (newest first); each adds one signature.
    """
    if not keys:
        raise InvalidWebhookSecret("at least one signing key is needed")
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": " ".join(signature(key, message_id, timestamp_s, body) for key in keys),
    }
