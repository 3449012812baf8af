"""Single-query loop time of CarrierIndex.match on one fixed workload, to compare two checkouts.

Run it in each: ``PYTHONPATH=$PWD .venv/bin/python scripts/match_single_query_loop.py LABEL``; it prints the
minimum and the median of 7 passes over 2,000 queries (100,000 carriers, 900 s position age). A process
lands in one of two speed bands (memory layout), so compare several processes of each, interleaved.
"""

from __future__ import annotations

import statistics
import sys
import time

from matcher.index import CarrierIndex
from matcher.simulation import generate_fleet, generate_queries, load_index

NOW_S = 1_700_000_000.0


def main() -> None:
    """Load the fleet, warm every query once, then time 7 passes of one match() call per query."""
    fleet = generate_fleet(100_000)
    index = CarrierIndex(max_position_age_s=900.0)
    load_index(fleet, index)
    queries = generate_queries(fleet, 2000)
    for query in queries:
        index.match(query, now_s=NOW_S)
    per_query_us = []
    for _ in range(7):
        started = time.perf_counter()
        for query in queries:
            index.match(query, now_s=NOW_S)
        per_query_us.append((time.perf_counter() - started) / len(queries) * 1e6)
    label = sys.argv[1] if len(sys.argv) > 1 else "this checkout"
    print(f"{label} us/query min {min(per_query_us):.2f} median {statistics.median(per_query_us):.2f}")


if __name__ == "__main__":
    main()
