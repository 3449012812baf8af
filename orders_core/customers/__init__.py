"""Customers as the planning side sees them: the health score (``health``) and its inputs (``health_repository``),
and their weekly demand per SKU (``demand``), which pre-booked stock reserves softly."""
