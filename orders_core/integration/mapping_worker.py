"""Map batches of records in a second process while the importing process writes the batches before them.

Mapping (parsing every field, running the profile's strategies) and writing (building rows, the database
driver, SQLite itself) each take about half of an import's CPU: on two cores they can overlap. The worker
is forked, so it inherits the open source, the profile and the master-data snapshot as they are; it sends
each batch's verdicts back in file order through a bounded queue (at most a few batches ahead). Only what
does not change during a run may be mapped ahead: the importer uses this for history-mode order imports,
whose master data the run never adds to; for those the worker also builds and encodes the rows of each
record that will land as an accepted order (``importer._Importer.map_ahead``), so the importing process
mostly writes. Duplicate checks, database judgement and writes stay in the importing process, batch by
batch, so atomicity, resume and the per-record report are unchanged.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Generator, Iterator
from typing import Any

from orders_core.integration.mapping import MappedLine, MappedRecord, Outcome, Verdict
from orders_core.integration.reader import SourceRecord

#: Batches the workers may map ahead of the writer, together (memory stays bounded).
AHEAD = 4
#: Mapping processes by default. One: on this 2-core machine a second worker (each worker maps every
#: other batch) was slower under load, 39 s against 26 s for 100,000 orders into PostGIS, the cores being
#: busy already with the writer, the worker and the database server; it may pay off on more cores.
WORKERS = 1
_POLL_S = 1.0


def can_fork() -> bool:
    """Whether a mapping worker can be used here: the fork start method and a second core."""
    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) >= 2


def mapped_in_worker(
    batches: Iterator[list[SourceRecord]],
    open_batches: Callable[[], Iterator[list[SourceRecord]]],
    map_batch: Callable[[list[SourceRecord]], list[Verdict]],
    workers: int | None = None,
) -> Generator[tuple[list[SourceRecord], list[Verdict]], None, None]:
    """Each of ``batches`` with its verdicts, mapped in ``workers`` (default ``WORKERS``) processes that read
    the same batches.

    Each worker opens the source anew (``open_batches``: its own file handle and reader), maps every
    ``workers``-th batch (worker k the batches k, k + workers, ...) and sends the verdicts without the raw
    rows (a compact tuple per record; rebuilding full objects costs as much as mapping) through its own
    queue; this process takes the batches from the queues in turn, so in file order, and pairs them with
    the records it read, checking the record numbers match. An error in a worker is raised here; closing
    the iterator early (stop_after, a failed write) stops them.
    """
    context = multiprocessing.get_context("fork")
    count = max(1, WORKERS if workers is None else workers)
    channels: list[Any] = [context.Queue(maxsize=max(1, AHEAD // count)) for _ in range(count)]

    def work(index: int) -> None:
        channel = channels[index]
        try:
            for number, batch in enumerate(open_batches()):
                if number % count == index:
                    channel.put(("batch", [_encode(verdict) for verdict in map_batch(batch)]))
            channel.put(("end", None))
        except BaseException as exc:
            channel.put(("error", _picklable(exc)))
        channel.close()
        channel.join_thread()

    processes = [
        context.Process(target=work, args=(index,), name=f"import-mapper-{index}", daemon=True)
        for index in range(count)
    ]
    for process in processes:
        process.start()
    try:
        for number, batch in enumerate(batches):
            kind, payload = _receive(channels[number % count], processes[number % count])
            if kind == "error":
                raise payload
            if kind != "batch" or len(payload) != len(batch):
                raise RuntimeError("the mapping worker read the source differently (batch sizes differ)")
            yield batch, [_decode(record, item) for record, item in zip(batch, payload, strict=True)]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        for channel in channels:
            channel.close()
            channel.cancel_join_thread()


def _receive(channel: Any, worker: Any) -> tuple[str, Any]:
    while True:
        try:
            message: tuple[str, Any] = channel.get(timeout=_POLL_S)
            return message
        except queue.Empty:
            if not worker.is_alive() and channel.empty():
                raise RuntimeError(f"the mapping worker stopped (exit code {worker.exitcode})") from None


def _encode(verdict: Verdict) -> tuple[Any, ...]:
    """A verdict as plain values (no raw rows: the importing process has read them itself)."""
    mapped = verdict.mapped
    return (
        verdict.record.number,
        verdict.source_key,
        verdict.outcome.value,
        verdict.reason,
        verdict.warnings,
        verdict.waiting_for,
        verdict.exception_kind,
        verdict.exception_details,
        None if mapped is None else mapped.values,
        # A record with its rows built here needs no lines there (the writer stores those rows): rebuilding
        # a year's MappedLine objects cost the writer more than inserting them.
        None if mapped is None or verdict.rows is not None else [_line(line) for line in mapped.lines],
        verdict.rows,
    )


def _line(line: MappedLine) -> tuple[Any, ...]:
    return (line.sku, line.qty, line.unit_price, line.unit)


def _decode(record: SourceRecord, item: tuple[Any, ...]) -> Verdict:
    number, key, outcome, reason, warnings, waiting_for, kind, details, values, lines, rows = item
    if number != record.number:
        raise RuntimeError(f"the mapping worker answered record {number} for record {record.number}")
    mapped = None if values is None else MappedRecord(values, [MappedLine(*line) for line in lines or ()])
    return Verdict(record, key, Outcome(outcome), mapped, reason, warnings, waiting_for, kind, details, rows)


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling, else a RuntimeError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(repr(exc))
    return exc
