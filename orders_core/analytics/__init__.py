"""Stage timings, funnel and daily trend over the order timeline (issue 10, items 3 and 7).

``stats`` is pure (plain data in, figures out) and defines every figure; ``aggregates`` answers the same
figures for one period from counts the database keeps (exact counts per furthest node; percentiles within
2 % from the stage-timing pre-aggregate of ``orders_core.orders.stage_durations``), so no per-order Python
objects are built per request.
"""
