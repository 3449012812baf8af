"""Carriers: master data (vehicle, capacity, coverage, webhook) and their last known positions."""
