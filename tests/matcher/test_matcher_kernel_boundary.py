"""The typed boundary of the kernels: the wrappers' structures name the compiled functions' parameters."""

from __future__ import annotations

import inspect

import pytest

from matcher import kernels
from matcher.kernel_types import BatchQueries, CsrBuckets, HotColumns, OneQuery, Pickup, QueryOutputs, SpanPool


def test_structures_spell_the_single_query_kernel_parameters_in_order() -> None:
    fields = [f for t in (SpanPool, CsrBuckets, HotColumns, Pickup, OneQuery, QueryOutputs) for f in t._fields]
    assert list(inspect.signature(kernels._match_one.py_func).parameters) == fields


def test_structures_spell_the_batch_kernel_parameters_in_order() -> None:
    fields = ["n_chunks", *(f for t in (SpanPool, CsrBuckets, HotColumns, BatchQueries) for f in t._fields)]
    for kernel in (kernels._batch_serial, kernels._batch_parallel):
        assert list(inspect.signature(kernel.py_func).parameters) == fields


def test_a_structure_out_of_step_with_its_kernel_fails_at_import() -> None:
    with pytest.raises(TypeError, match="_match_one"):
        kernels._check_parameters(kernels._match_one, CsrBuckets, SpanPool, HotColumns, Pickup, OneQuery, QueryOutputs)
