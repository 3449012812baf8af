"""Refuse to start with settings that are only safe for the demo.

The default payment secret is published (README, source): whoever knows it can sign payment notifications
and mark any order paid. It is accepted only while the service serves the demo data set.
"""

from __future__ import annotations

from api.settings import DEFAULT_PAYMENT_SECRET, Settings


class InsecureSettings(RuntimeError):
    """The settings are unsafe outside the demo; the message says which variable to set."""


def check_startup_settings(settings: Settings, *, demo: bool) -> None:
    """Raise InsecureSettings unless the payment secret was changed or the demo data set is served."""
    if not demo and settings.payment_secret == DEFAULT_PAYMENT_SECRET:
        raise InsecureSettings(
            "refusing to start: DISPATCH_PAYMENT_SECRET is the public demo default; set it to the secret shared"
            " with your payment gateway (or run `dispatch serve` without --no-demo to serve the demo data)"
        )
