"""Map batches of records in a second process while the importing process writes the batches before them.

Mapping (parsing every field, running the profile's strategies) and writing (building rows, the database
driver, SQLite itself) each take about half of an import's CPU: on two cores they can overlap. The worker
is forked, so it inherits the open source, the profile and the master-data snapshot as they are; it sends
each batch's verdicts back in file order through a bounded queue (at most a few batches ahead). Only what
does not change during a run may be mapped ahead: the importer uses this for history-mode order imports,
whose master data the run never adds to. Duplicate checks, database judgement and writes stay in the
importing process, batch by batch, so atomicity, resume and the per-record report are unchanged.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable, Generator, Iterator
from typing import Any

from orders_core.integration.mapping import MappedLine, MappedRecord, Outcome, Verdict
from orders_core.integration.reader import SourceRecord

#: Batches the worker may map ahead of the writer (memory stays bounded).
AHEAD = 4
_POLL_S = 1.0


def can_fork() -> bool:
    """Whether a mapping worker can be used here: the fork start method and a second core."""
    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) >= 2


def mapped_in_worker(
    batches: Iterator[list[SourceRecord]],
    open_batches: Callable[[], Iterator[list[SourceRecord]]],
    map_batch: Callable[[list[SourceRecord]], list[Verdict]],
) -> Generator[tuple[list[SourceRecord], list[Verdict]], None, None]:
    """Each of ``batches`` with its verdicts, mapped in a worker that reads the same batches itself.

    The worker opens the source anew (``open_batches``: its own file handle and reader) and sends the
    verdicts without the raw rows (a compact tuple per record; rebuilding full objects costs as much as
    mapping), and this process pairs them with the records it read, checking the record numbers match.
    An error in the worker is raised here; closing the iterator early (stop_after, a failed write) stops it.
    """
    context = multiprocessing.get_context("fork")
    channel: Any = context.Queue(maxsize=AHEAD)

    def work() -> None:
        try:
            for batch in open_batches():
                channel.put(("batch", [_encode(verdict) for verdict in map_batch(batch)]))
            channel.put(("end", None))
        except BaseException as exc:
            channel.put(("error", _picklable(exc)))
        channel.close()
        channel.join_thread()

    worker = context.Process(target=work, name="import-mapper", daemon=True)
    worker.start()
    try:
        for batch in batches:
            kind, payload = _receive(channel, worker)
            if kind == "error":
                raise payload
            if kind != "batch" or len(payload) != len(batch):
                raise RuntimeError("the mapping worker read the source differently (batch sizes differ)")
            yield batch, [_decode(record, item) for record, item in zip(batch, payload, strict=True)]
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join()
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
