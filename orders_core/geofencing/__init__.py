"""Geofence use cases: maintain fences, query them by point, read the enter/exit events."""
