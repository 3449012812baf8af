"""Stage timings, funnel and daily trend over the order timeline (issue 10, item 3).

``stats`` is pure (plain data in, figures out); ``queries`` fetches, for one period, only what the figures
need: each order's placement time and the first time it reached each main-line node.
"""
