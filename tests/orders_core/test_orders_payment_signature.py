"""The payment-signature check itself refuses hostile headers with its own errors (any caller, not just HTTP)."""

from __future__ import annotations

import pytest

from orders_core.orders.payments import InvalidSignature, StaleTimestamp, sign_payment, verify_payment_signature

SECRET = "s3cret"
BODY = b'{"transaction_id": "t1"}'


@pytest.mark.parametrize("signature", ["é" * 64, "not-hex", "", "0" * 64])
def test_malformed_or_wrong_signatures_are_invalid(signature: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_payment_signature(SECRET, "1000", signature, BODY, window_s=300, now_s=1000)


@pytest.mark.parametrize("timestamp", ["nan", "inf", "-inf", "1e400"])
def test_non_finite_timestamps_are_stale_even_when_signed(timestamp: str) -> None:
    signature = sign_payment(SECRET, timestamp, BODY)
    with pytest.raises(StaleTimestamp):
        verify_payment_signature(SECRET, timestamp, signature, BODY, window_s=300, now_s=1000)


def test_a_fresh_correct_signature_passes() -> None:
    verify_payment_signature(SECRET, "1000", sign_payment(SECRET, "1000", BODY), BODY, window_s=300, now_s=1100)
