"""The mapping worker: records mapped in a second process come back whole, in file order, equal to
mapping them here; a failure there is raised here; stopping early leaves no process behind."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from orders_core.integration.importer import ImportOptions, _batches
from orders_core.integration.mapping import MasterIndex, Outcome, Verdict, map_record
from orders_core.integration.mapping_worker import mapped_in_worker
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.reader import SourceRecord, open_source
from tests.orders_core.integration.conftest import DATA, PROFILES


def _master() -> MasterIndex:
    # Only part of the masters: some records map accepted, some are deferred or held.
    return MasterIndex(
        customers={"C0001": (31.23, 121.47), "C0002": (39.9, 116.4)},
        sku_prices={"SKU-0001": Decimal("12.50")},
        warehouses={"WH-SH", "WH-BJ"},
        pack_sizes={"SKU-0001": 12},
    )


def _batches_of(path: Path, size: int) -> Iterator[list[SourceRecord]]:
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    return _batches(open_source(profile, path).records(), 0, ImportOptions(batch_size=size))


def _summary(verdict: Verdict) -> tuple[object, ...]:
    mapped = verdict.mapped
    return (
        verdict.record.number,
        verdict.record.rows,
        verdict.source_key,
        verdict.outcome,
        verdict.reason,
        verdict.warnings,
        verdict.waiting_for,
        verdict.exception_kind,
        verdict.exception_details,
        None if mapped is None else (mapped.values, mapped.lines),
    )


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_worker_verdicts_equal_mapping_in_process_in_file_order(workers: int) -> None:
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    master = _master()
    path = DATA / "erp_orders.csv"

    def map_batch(batch: list[SourceRecord]) -> list[Verdict]:
        return [map_record(profile, record, master) for record in batch]

    expected = [_summary(v) for batch in _batches_of(path, 2) for v in map_batch(batch)]
    got = [
        _summary(v)
        for _, verdicts in mapped_in_worker(_batches_of(path, 2), lambda: _batches_of(path, 2), map_batch, workers)
        for v in verdicts
    ]
    assert len(expected) > 2
    assert {row[3] for row in expected} != {expected[0][3]}  # more than one outcome is compared
    assert got == expected


def test_a_failure_in_a_worker_is_raised_in_the_importing_process() -> None:
    path = DATA / "erp_orders.csv"

    def failing(batch: list[SourceRecord]) -> list[Verdict]:
        if batch[0].number == 2:  # the second worker's first batch
            raise ValueError(f"cannot map record {batch[0].number}")
        return [Verdict(record, "", Outcome.REJECTED) for record in batch]

    with pytest.raises(ValueError, match="cannot map record 2"):
        list(mapped_in_worker(_batches_of(path, 1), lambda: _batches_of(path, 1), failing, 2))
    assert multiprocessing.active_children() == []


def test_stopping_early_stops_the_worker() -> None:
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    master = _master()
    path = DATA / "erp_orders.csv"
    stream = mapped_in_worker(
        _batches_of(path, 1),
        lambda: _batches_of(path, 1),
        lambda batch: [map_record(profile, record, master) for record in batch],
    )
    first, verdicts = next(stream)
    assert first[0].number == 1 and verdicts[0].record is first[0]
    stream.close()
    assert multiprocessing.active_children() == []
