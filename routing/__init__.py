"""Delivery routes (VRP with time windows, capacities, shift ends, allowed vehicles) and loading order."""

from routing.planning import plan_routes

__all__ = ["plan_routes"]
