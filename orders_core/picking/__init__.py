"""Picking use cases: waves, pick tasks and confirmations, on top of the warehouse_picking engine."""
