"""Stage timings, funnel and daily trend over the order timeline (issue 10, items 3 and 7).

``stats`` is pure (plain data in, figures out) and defines every figure; ``aggregates`` computes the same
figures in the database for one period (counts and, on PostgreSQL, ``percentile_cont``; on SQLite per-order
durations computed in SQL, percentiles in numpy), so no per-order Python objects are built per request.
"""
