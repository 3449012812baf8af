"""The column layout of the carrier index's arrays, defined once: the index writes these columns and the
kernels read them, so both import them from here (and derive every size from them).

A carrier's *hot row* (``hot[row, column]``, float64) holds what a query reads of it; its *CSR entry* (one
per bucket the carrier sits in) is a copy of the same columns plus the carrier's row, so a query reads a
bucket sequentially without touching the hot matrix. A *span-pool row* is a covering cell of a query's
disk: its centre and its bucket's run of CSR entries.
"""

from __future__ import annotations

# Columns of a hot row and of a CSR entry: latitude and longitude (radians), cos(latitude), effective fix
# time (-inf when inactive, without a position or stale), capacities, vehicle code, coverage group (-1:
# none), the query-independent part of the score, the per-km rate and base fare; ROW (CSR entries only):
# the carrier's row in the hot matrix.
PHI, LMB, COSPHI, TS_EFF, KG, M3, VEH, COVG, STATIC, RATE, BASE, ROW = range(12)
#: Columns of a CSR entry (PHI..BASE and ROW: 96 bytes).
CSR_COLS = ROW + 1
#: Floats per hot row: CSR_COLS rounded up to a power of two (128 bytes), so that a row never straddles
#: more cache lines than it must and the filter and distance columns PHI..COVG share one line.
HOT_STRIDE = 1 << (CSR_COLS - 1).bit_length()

# Columns of a span-pool row: a covering cell's centre (radians, cos of latitude) and its bucket's CSR run.
S_PHI, S_LMB, S_COS, S_START, S_END = range(5)
#: Columns of a span-pool row (40 bytes).
SPAN_COLS = S_END + 1

# Columns of a row of the buckets' hash table: bucket key, start and end of its CSR run, padding (32 bytes).
T_KEY, T_START, T_END = range(3)
TABLE_COLS = 4
