"""Warehouse picking: layouts, optimal pick routes and waves of pick tasks.

- ``layouts``: ``parse_layout(dict) -> Layout`` for the contract's ``rectangular`` kind (any number of
  blocks) and a ``graph`` kind for real floor plans; walking distances cached per layout JSON hash.
- ``routes``: ``pick_route(layout, slot_ids)`` -> sequence, true ``distance_m``, method, lower bound.
  Exact: Held-Karp (few stops), ``rect_dp`` (frontier DP, rectangular layouts up to 5 blocks),
  ``solvers.steiner_tsp_segments`` (MIP, graph layouts); OR-Tools GLS when the MIP runs out of time;
  S-shape / largest-gap / return baselines.
- ``waves``: seed-and-savings batching of orders into cart-sized batches (pure).
- ``service`` / ``repository`` / ``tables``: the use cases and persistence behind
  ``POST /v1/warehouses/{id}/pick-route``, ``PUT|GET /v1/warehouses/{id}/slots/{sku}``,
  ``POST /v1/warehouses/{id}/waves``, ``GET /v1/pick-tasks/{id}`` and ``POST /v1/pick-tasks/{id}/confirm``.
"""
