"""The ground floor every layer may import: domain errors, the clock, money and column types.

It imports nothing of the project, so ``geo/`` (geometry only), the engines, ``orders_core/`` and
``api/`` can all share one error family and one notion of "now" without depending on each other.
"""
