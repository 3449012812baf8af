"""The import use case: stream a source file through a profile into the service, record by record.

Each record is judged whole in Python first (``mapping.map_record``: every field and strategy); then the
writes of a batch of whole records run in ONE transaction together with the run's new offset, so a crash
loses nothing and repeats nothing: a re-run continues after the last committed record. When a batch's
transaction fails, it is rolled back and its records are written one transaction each; a record the
database refuses is rejected with the database's reason while the others land. A record never
half-imports. Pipeline-mode orders go through intake (``place_order``) one transaction per record.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog

from foundation.clock import utc_now
from foundation.errors import Conflict, DispatchError, InvalidInput, NotFound
from foundation.money import MONEY_QUANTUM
from orders_core.integration.history_rows import (
    LINE_COLUMNS,
    ORDER_COLUMNS,
    TIMELINE_COLUMNS,
    HistoryRows,
    fresh_ids,
    history_order,
    lands_as_accepted_order,
)
from orders_core.integration.mapping import (
    MappedRecord,
    MasterIndex,
    Outcome,
    Verdict,
    map_records,
    order_is_whole,
)
from orders_core.integration.mapping_worker import can_fork, mapped_in_worker
from orders_core.integration.profile import EXPORT_ONLY_ENTITIES, Profile, Strategy
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.reader import SourceRecord, file_sha256, open_source
from orders_core.integration.repository import (
    COUNTERS,
    ImportRepository,
    report_dicts,
    row_encoder,
    run_row,
)
from orders_core.master_data.model import Customer, Sku
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.intake import place_order
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import PRE_SHIPPING, DeliveryPoint, OrderStatus, PlaceOrder, RequestedLine
from orders_core.orders.pipeline import StockPort
from orders_core.orders.repository import ORDER_LINES, ORDERS, TIMELINE, OrderRepository
from orders_core.orders.root_causes import root_cause_at_opening
from orders_core.orders.stage_durations import Duration, add_stage_durations, bucketed
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("orders_core.integration")

ProgressCallback = Callable[[int, int | None, dict[str, int]], None]
"""Told ``(done, total, counts)`` after each batch: bytes (csv, jsonl) or records (json, xlsx)."""
ReportSink = Callable[[list[dict[str, Any]]], None]
"""Given each batch's report rows (with ``raw`` source rows for records that did not land)."""


class ImportRunNotFound(NotFound):
    """No import run with this id."""

    code = "import_run_not_found"


class ImportKeyReused(Conflict):
    """The Idempotency-Key was used for another file or profile."""

    code = "idempotency_key_reused"


class StockServiceRequired(InvalidInput):
    """A stock snapshot or a pipeline-mode order import needs the stock service."""

    code = "stock_service_required"


@dataclass(frozen=True)
class ImportOptions:
    """How to run an import."""

    dry_run: bool = False
    batch_size: int = 500
    #: Stop after this many records (an interruption on purpose; the run stays resumable).
    stop_after: int | None = None
    idempotency_key: str | None = None
    actor: str = "import"
    price_tolerance: Decimal = Decimal("0.05")


@dataclass
class ImportSummary:
    """What a call of ``run_import`` did."""

    run_id: str | None
    status: str
    resumed_after: int
    records: int
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    header: list[str] = field(default_factory=list)
    document: Any = None
    replayed: bool = False


def run_import(
    new_uow: UnitOfWorkFactory,
    profile: Profile,
    path: str | Path,
    *,
    options: ImportOptions = ImportOptions(),
    stock: StockPort | None = None,
    master: MasterIndex | None = None,
    progress: ProgressCallback | None = None,
    report_sink: ReportSink | None = None,
    file_name: str | None = None,
) -> ImportSummary:
    """Import ``path`` with ``profile`` (see the module docstring); answers the run's summary."""
    if profile.target in EXPORT_ONLY_ENTITIES:
        raise InvalidInput(f"profile {profile.name!r} maps {profile.target} records: export only, not importable")
    needs_stock = profile.target == "stock" or (profile.target == "order" and profile.mode == "pipeline")
    if stock is None and needs_stock and not options.dry_run:
        raise StockServiceRequired(f"a {profile.target} import in {profile.mode} mode needs the stock service")
    # The header (and the first record) are read before anything is stored: a file the profile cannot
    # read is refused (SourceUnreadable) without a trace, like any bad input.
    source = open_source(profile, path)
    records = source.records()
    first = next(records, None)
    stream: Iterator[SourceRecord] = itertools.chain([first] if first is not None else [], records)
    sha = file_sha256(path)
    size = Path(path).stat().st_size
    run_id: str | None = None
    resumed_after = 0
    with new_uow() as uow:
        repository = ImportRepository(uow.session)
        master = master or repository.master_index()
        if not options.dry_run:
            if options.idempotency_key is not None:
                seen = repository.run_by_idempotency_key(options.idempotency_key)
                if seen is not None:
                    if seen.file_sha256 != sha or seen.profile != profile.name:
                        raise ImportKeyReused("Idempotency-Key was already used for another file or profile")
                    if seen.status == "finished":
                        return _replayed(seen)
            run = repository.resumable_run(profile.name, sha)
            if run is None:
                run_id = "imp_" + secrets.token_hex(8)
                repository.add_run(
                    run_row(
                        run_id,
                        profile=profile.name,
                        system=profile.system,
                        target=profile.target,
                        file_name=file_name or Path(path).name,
                        file_sha256=sha,
                        file_bytes=size,
                        idempotency_key=options.idempotency_key,
                        now=utc_now(),
                    )
                )
            else:
                run_id, resumed_after = run.id, run.last_record
                repository.advance_run(run.id, run.last_record, {}, status="running")
            uow.commit()
    importer = _Importer(new_uow, profile, master, options, stock, run_id)
    summary = ImportSummary(run_id=run_id, status="running", resumed_after=resumed_after, records=0)
    if run_id is not None:
        importer.retry_deferred(summary)
    try:
        for batch, verdicts in _judged_batches(importer, path, _batches(stream, resumed_after, options), resumed_after):
            rows = importer.process(batch, summary, verdicts)
            summary.records += len(batch)
            if report_sink is not None:
                report_sink(rows)
            if progress is not None:
                progress(source.done, source.total, summary.counts)
            if options.stop_after is not None and summary.records >= options.stop_after:
                summary.status = "interrupted"
                break
        else:
            summary.status = "finished"
    except Exception as exc:
        if run_id is not None:
            _finish(new_uow, run_id, "interrupted", repr(exc)[:2000])
        raise
    if run_id is not None:
        _finish(new_uow, run_id, summary.status)
        if summary.status == "finished" and profile.target in ("customer", "sku"):
            importer.retry_deferred(summary)  # records waiting for what this import created
    summary.header = list(source.header)
    summary.document = source.document
    log.info("import_run", run_id=run_id, profile=profile.name, status=summary.status, **summary.counts)
    return summary


def _replayed(run: Any) -> ImportSummary:
    summary = ImportSummary(run_id=run.id, status=run.status, resumed_after=run.last_record, records=0, replayed=True)
    summary.counts = {name: getattr(run, name) for name in COUNTERS}
    return summary


def _finish(new_uow: UnitOfWorkFactory, run_id: str, status: str, error: str | None = None) -> None:
    with new_uow() as uow:
        ImportRepository(uow.session).finish_run(run_id, status, error)
        uow.commit()


def _judged_batches(
    importer: _Importer, path: str | Path, batches: Iterator[list[SourceRecord]], resumed_after: int
) -> Iterator[tuple[list[SourceRecord], list[Verdict] | None]]:
    """Each batch with its records already mapped (in a worker process, while this one writes) when the
    profile allows it, else unmapped (mapped here, as the batch is processed)."""
    if not importer.maps_ahead():
        for batch in batches:
            yield batch, None
        return

    def open_batches() -> Iterator[list[SourceRecord]]:
        return _batches(open_source(importer.profile, path).records(), resumed_after, importer.options)

    yield from mapped_in_worker(batches, open_batches, importer.map_ahead)


def _batches(
    records: Iterator[SourceRecord], resumed_after: int, options: ImportOptions
) -> Iterator[list[SourceRecord]]:
    """Records after the committed offset, in batches (never past ``stop_after`` records)."""
    batch: list[SourceRecord] = []
    taken = 0
    for record in records:
        if record.number <= resumed_after:
            continue
        batch.append(record)
        taken += 1
        if len(batch) >= options.batch_size or (options.stop_after is not None and taken >= options.stop_after):
            yield batch
            batch = []
            if options.stop_after is not None and taken >= options.stop_after:
                return
    if batch:
        yield batch


class _Importer:
    """One run's state: the profile, the master-data snapshot, the keys seen, the writers."""

    def __init__(
        self,
        new_uow: UnitOfWorkFactory,
        profile: Profile,
        master: MasterIndex,
        options: ImportOptions,
        stock: StockPort | None,
        run_id: str | None,
    ) -> None:
        self.new_uow = new_uow
        self.profile = profile
        self.master = master
        self.options = options
        self.stock = stock
        self.run_id = run_id
        self.seen: set[str] = set()  # dry run: keys of this file (nothing is stored to find them)
        self.dedupe = bool(profile.rule(Strategy.DEDUPE_SOURCE_KEY))
        self.actor = f"{options.actor}:{profile.system}"
        self.split = bool(profile.rule(Strategy.SPLIT_BY_WAREHOUSE))
        with new_uow() as uow:
            dialect = uow.session.get_bind().dialect
        self.encode_order = row_encoder(dialect, ORDERS, ORDER_COLUMNS)
        self.encode_line = row_encoder(dialect, ORDER_LINES, LINE_COLUMNS)
        self.encode_timeline = row_encoder(dialect, TIMELINE, TIMELINE_COLUMNS)

    # ---- judging ------------------------------------------------------------------------------------
    def maps_ahead(self) -> bool:
        """Whether records may be mapped ahead in a worker: history-mode orders (the run adds no master
        data, so a record maps the same ahead of time) on a machine with a second core."""
        return self.profile.target == "order" and self.profile.mode == "history" and can_fork()

    def map_batch(self, batch: list[SourceRecord]) -> list[Verdict]:
        """Every record of the batch mapped and checked on its own (no database)."""
        return map_records(self.profile, batch, self.master)

    def map_ahead(self, batch: list[SourceRecord]) -> list[Verdict]:
        """``map_batch``, and the encoded rows of each record that will land as an accepted order unless
        it is a duplicate (in the mapping worker: the writing process then only writes them)."""
        verdicts = self.map_batch(batch)
        if self.options.dry_run:
            return verdicts
        landing = [verdict for verdict in verdicts if lands_as_accepted_order(verdict, self.master)]
        now = utc_now()
        for verdict, ids in zip(landing, fresh_ids(len(landing)), strict=True):
            assert verdict.mapped is not None
            verdict.rows = self.encoded(
                history_order(
                    verdict, verdict.mapped, self.master, ids=ids, actor=self.actor, system=self.profile.system, now=now
                )
            )
        return verdicts

    def encoded(self, rows: HistoryRows) -> tuple[str, Any, list[Any], list[Any], list[Duration]]:
        """An order's rows as the backend's bulk write takes them: (order id, order, lines, timeline), and the
        stage-timing durations it completes."""
        return (
            rows.order_id,
            self.encode_order(rows.order),
            [self.encode_line(line) for line in rows.lines],
            [self.encode_timeline(entry) for entry in rows.timeline],
            rows.durations,
        )

    def judge(
        self, batch: list[SourceRecord], *, retrying: bool = False, mapped: list[Verdict] | None = None
    ) -> list[Verdict]:
        """Map every record (unless ``mapped`` already), then mark duplicates (in the file or imported before)."""
        verdicts = mapped if mapped is not None else self.map_batch(batch)
        keys = {v.source_key for v in verdicts if v.outcome is not Outcome.REJECTED}
        with self.new_uow() as uow:
            repository = ImportRepository(uow.session)
            imported = repository.imported_keys(self.profile.system, self.profile.target, keys)
            waiting = set() if retrying else repository.waiting_keys(self.profile.system, self.profile.target, keys)
        in_batch: set[str] = set()
        for verdict in verdicts:
            if verdict.outcome is Outcome.REJECTED:
                continue
            key = verdict.source_key
            if key in waiting:
                verdict.outcome = Outcome.DUPLICATE
                verdict.reason = f"source key {key!r} is already waiting (held or deferred) from an earlier import"
                continue
            if key in imported or key in in_batch or key in self.seen:
                if key in in_batch or key in self.seen:
                    reason = f"source key {key!r} appears earlier in this file"
                else:
                    reason = f"source key {key!r} was imported already (its record is in the service)"
                if self.dedupe:
                    verdict.outcome, verdict.reason = Outcome.DUPLICATE, reason
                else:
                    verdict.outcome, verdict.reason = (
                        Outcome.REJECTED,
                        f"{reason}; the profile has no dedupe_source_key",
                    )
                continue
            in_batch.add(key)
            if self.profile.target == "order":
                self._check_history_order(verdict)
        if self.options.dry_run:
            self.seen |= in_batch
        return verdicts

    def _check_history_order(self, verdict: Verdict) -> None:
        mapped = verdict.mapped
        if mapped is None or verdict.outcome is Outcome.DEFERRED:
            return
        values = mapped.values
        if self.profile.mode == "history" and values.get("placed_at") is None and verdict.outcome is Outcome.ACCEPTED:
            verdict.outcome, verdict.reason = Outcome.REJECTED, "placed_at: required to record an order as history"
            return
        if verdict.outcome is Outcome.HELD and not order_is_whole(verdict, self.master):
            verdict.exception_kind = None  # held in the import's list: there is no whole order to hold
            return
        if values.get("delivery_lat") is None:
            registered = self.master.customers.get(str(values.get("customer_id")))
            if registered is None or registered[0] is None:
                verdict.outcome = Outcome.REJECTED
                verdict.reason = (
                    "delivery_lat/delivery_lng: no delivery point and the customer has no registered location"
                )
                return
            values["delivery_lat"], values["delivery_lng"] = registered

    # ---- writing ------------------------------------------------------------------------------------
    def process(
        self, batch: list[SourceRecord], summary: ImportSummary, mapped: list[Verdict] | None = None
    ) -> list[dict[str, Any]]:
        """Judge and write one batch (``mapped``: its records' verdicts, if mapped already); answers its
        report rows."""
        verdicts = self.judge(batch, mapped=mapped)
        if self.options.dry_run:
            rows = [self._report_row(v, None) for v in verdicts]
            for verdict in verdicts:
                summary.counts[verdict.outcome.value] += 1
            return rows
        per_record = self.profile.target == "order" and self.profile.mode == "pipeline"
        if not per_record:
            try:
                rows = self._write(verdicts)
            except Exception as exc:  # the batch failed whole: nothing of it landed; write record by record
                log.warning("import_batch_failed", run_id=self.run_id, error=repr(exc)[:500], records=len(verdicts))
                rows = self._write_one_by_one(verdicts)
        else:
            rows = self._write_one_by_one(verdicts)
        for row in rows:
            summary.counts[row["outcome"]] += 1
        return rows

    def _write_one_by_one(self, verdicts: list[Verdict]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for verdict in verdicts:
            try:
                rows.extend(self._write([verdict]))
            except Exception as exc:
                reason = _database_reason(exc)
                verdict.outcome, verdict.reason, verdict.mapped = Outcome.REJECTED, reason, None
                rows.extend(self._write([verdict]))
        return rows

    def _write(self, verdicts: list[Verdict]) -> list[dict[str, Any]]:
        """Write whole records and the run's new offset in one transaction; answers the report rows."""
        assert self.run_id is not None
        with self.new_uow() as uow:
            writer = _BatchWriter(uow, self, verdicts)
            rows = writer.write()
            counts: dict[str, int] = {}
            for row in rows:
                counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
            repository = ImportRepository(uow.session)
            repository.add_records(self.run_id, rows)
            last = max(v.record.number for v in verdicts)
            repository.advance_run(self.run_id, last if last > 0 else None, counts)
            uow.commit()
        writer.after_commit()
        return rows

    def _report_row(self, verdict: Verdict, entity_id: str | None) -> dict[str, Any]:
        landed = verdict.outcome in (Outcome.ACCEPTED, Outcome.DUPLICATE)
        return {
            "record_no": verdict.record.number,
            "source_key": verdict.source_key[:200],
            "outcome": verdict.outcome.value,
            "reason": verdict.reason,
            "warnings": verdict.warnings or None,
            "entity_id": entity_id,
            "raw": None if landed else _json_safe(verdict.record.rows),
        }

    # ---- deferred records ---------------------------------------------------------------------------
    def retry_deferred(self, summary: ImportSummary) -> None:
        """Retry every deferred record whose profile still loads (master data may have arrived since)."""
        with self.new_uow() as uow:
            repository = ImportRepository(uow.session)
            waiting = [(p.id, p.profile_path, p.record_no, p.raw, p.run_id) for p in repository.deferred()]
            master = repository.master_index() if waiting else None
        if not waiting or master is None:
            return
        profiles: dict[str, Profile | None] = {}
        for pending_id, profile_path, record_no, raw, run_id in waiting:
            if profile_path not in profiles:
                try:
                    profiles[profile_path] = load_profile(profile_path)
                except DispatchError:
                    profiles[profile_path] = None
            profile = profiles[profile_path]
            if profile is None:
                continue
            retry = _Importer(self.new_uow, profile, master, self.options, self.stock, self.run_id)
            record = SourceRecord(0, list(raw))
            (verdict,) = retry.judge([record], retrying=True)
            if verdict.outcome is Outcome.DEFERRED:
                continue
            verdict.reason = f"deferred record #{record_no} of run {run_id} retried" + (
                f": {verdict.reason}" if verdict.reason else ""
            )
            rows = retry._write_one_by_one([verdict])
            with self.new_uow() as uow:
                ImportRepository(uow.session).resolve_pending(pending_id, rows[0]["outcome"])
                uow.commit()
            summary.counts[rows[0]["outcome"]] += 1
            master = retry.master


class _BatchWriter:
    """Turns the verdicts of a batch into rows and writes them in the caller's unit of work."""

    def __init__(self, uow: UnitOfWork, importer: _Importer, verdicts: list[Verdict]) -> None:
        self.uow = uow
        self.importer = importer
        self.profile = importer.profile
        self.master = importer.master
        self.verdicts = verdicts
        self.repository = ImportRepository(uow.session)
        self.created: list[tuple[str, MappedRecord]] = []
        self.durations: list[Duration] = []

    def write(self) -> list[dict[str, Any]]:
        now = utc_now()
        rows: list[dict[str, Any]] = []
        keys: list[tuple[Any, ...]] = []
        pending: list[dict[str, Any]] = []
        orders: list[Any] = []
        lines: list[Any] = []
        timeline: list[Any] = []
        exceptions: list[dict[str, Any]] = []
        system, target, run_id = self.profile.system, self.profile.target, self.importer.run_id
        for verdict in self.verdicts:
            entity_id: str | None = None
            lands = verdict.outcome is Outcome.ACCEPTED or (
                verdict.outcome is Outcome.HELD
                and verdict.exception_kind is not None
                and self.profile.target == "order"
            )
            if lands and verdict.mapped is not None:
                entity_id = self._land(verdict, verdict.mapped, now, orders, lines, timeline, exceptions)
                keys.append((system, target, verdict.source_key[:200], run_id, verdict.record.number, entity_id, now))
            elif verdict.outcome in (Outcome.HELD, Outcome.DEFERRED):
                pending.append(
                    {
                        "run_id": self.importer.run_id,
                        "record_no": verdict.record.number,
                        "profile_path": str(Path(self.profile.path).resolve())[:500],
                        "system": self.profile.system,
                        "entity": self.profile.target,
                        "source_key": verdict.source_key[:200],
                        "status": verdict.outcome.value,
                        "reason": verdict.reason or "",
                        "waiting_for": verdict.waiting_for,
                        "raw": _json_safe(verdict.record.rows),
                        "created_at": now,
                    }
                )
            rows.append(self.importer._report_row(verdict, entity_id))
        self.repository.insert_orders(
            orders, lines, timeline, exceptions, columns=(ORDER_COLUMNS, LINE_COLUMNS, TIMELINE_COLUMNS)
        )
        add_stage_durations(self.uow.session, bucketed(self.durations))  # written as the batch commits
        self.repository.add_source_keys(keys)
        self.repository.add_pending(pending)
        return rows

    def _land(
        self,
        verdict: Verdict,
        mapped: MappedRecord,
        now: Any,
        orders: list[Any],
        lines: list[Any],
        timeline: list[Any],
        exceptions: list[dict[str, Any]],
    ) -> str:
        target = self.profile.target
        values = mapped.values
        if target == "order" and self.profile.mode == "pipeline":
            return self._place(verdict, mapped)
        if target == "order":
            return self._history_order(verdict, mapped, now, orders, lines, timeline, exceptions)
        if target == "customer":
            customer = Customer(
                id=values["customer_id"],
                name=values["name"],
                credit_limit=(values.get("credit_limit") or Decimal("0")).quantize(MONEY_QUANTUM),
                lat=values.get("lat"),
                lng=values.get("lng"),
                prepaid=bool(values.get("prepaid") or False),
                phone=values.get("phone"),
            )
            MasterDataRepository(self.uow.session).upsert_customer(customer)
            self.created.append(("customer", mapped))
            return customer.id
        if target == "sku":
            sku = Sku(
                sku=values["sku"],
                name=values["name"],
                unit_price=(values.get("unit_price") or Decimal("0")).quantize(MONEY_QUANTUM),
                weight_kg=float(values.get("weight_kg") or 0.0),
                volume_m3=float(values.get("volume_m3") or 0.0),
            )
            MasterDataRepository(self.uow.session).upsert_sku(sku)
            if values.get("pack_size"):
                self.repository.upsert_pack_size(sku.sku, int(values["pack_size"]))
            self.created.append(("sku", mapped))
            return sku.sku
        assert self.importer.stock is not None
        set_on_hand = getattr(self.importer.stock, "set_on_hand")  # noqa: B009 - StockService, not the port
        set_on_hand(self.uow, values["warehouse_id"], values["sku"], int(values["on_hand"]))
        return f"{values['warehouse_id']}/{values['sku']}"

    def _history_order(
        self,
        verdict: Verdict,
        mapped: MappedRecord,
        now: Any,
        orders: list[Any],
        lines: list[Any],
        timeline: list[Any],
        exceptions: list[dict[str, Any]],
    ) -> str:
        """An order recorded as given (``history_rows.history_order``): its rows as the mapping worker
        encoded them when it foresaw the record landing as accepted, else built here."""
        encoded = verdict.rows if verdict.outcome is Outcome.ACCEPTED else None
        if encoded is None:
            ((order_id, token),) = fresh_ids(1)
            built = history_order(
                verdict,
                mapped,
                self.master,
                ids=(order_id, token),
                actor=self.importer.actor,
                system=self.profile.system,
                now=now,
            )
            encoded = self.importer.encoded(built)
        order_id, order, order_lines, entries, durations = encoded
        orders.append(order)
        lines.extend(order_lines)
        timeline.extend(entries)
        self.durations.extend(durations)
        if verdict.outcome is Outcome.HELD:
            exceptions.append(_exception_row(order_id, str(verdict.exception_kind), verdict, now))
        return str(order_id)

    def _place(self, verdict: Verdict, mapped: MappedRecord) -> str:
        """A live order through intake (price, credit, stock, allocation), then held if the record must be."""
        stock = self.importer.stock
        assert stock is not None
        values = mapped.values
        delivery = DeliveryPoint(
            lat=values["delivery_lat"],
            lng=values["delivery_lng"],
            address=values.get("delivery_address"),
            contact_name=values.get("contact_name"),
            contact_phone=values.get("contact_phone"),
            cash_on_delivery=bool(values.get("cash_on_delivery") or False),
        )
        command = PlaceOrder(
            customer_id=values["customer_id"],
            lines=tuple(RequestedLine(line.sku, line.qty, line.unit_price) for line in mapped.lines),
            delivery=delivery,
            promised_by=values.get("promised_by"),
            priority=values.get("priority") or "normal",
        )
        placed = place_order(
            self.uow, stock, command, actor=self.importer.actor, price_tolerance=self.importer.options.price_tolerance
        )
        order_id = placed.order_id
        kind, details = verdict.exception_kind, dict(verdict.exception_details)
        if kind is None and not self.importer.split:
            warehouses = {s.warehouse_id for s in OrderRepository(self.uow.session).shipments(order_id)}
            if len(warehouses) > 1:
                kind = "import_review"
                details = {
                    "reason": f"the order needs {len(warehouses)} warehouses ({', '.join(sorted(warehouses))})"
                    " and the profile has no split_by_warehouse rule",
                }
                verdict.outcome, verdict.reason = Outcome.HELD, details["reason"]
        if kind is not None:
            details["record"] = _json_safe(verdict.record.rows)
            repository = OrderRepository(self.uow.session)
            opened = [row for row in repository.exception_rows_of(order_id, status="open") if row.kind == kind]
            if opened:  # intake's own check opened it (without holding): the record joins it, the order waits
                opened[0].details = {**(opened[0].details or {}), "record": details["record"]}
                if OrderStatus(load_order(self.uow, order_id).status) in PRE_SHIPPING:
                    reason = str(details.get("reason") or opened[0].message)
                    advance_order(
                        self.uow,
                        order_id,
                        OrderStatus.ON_HOLD,
                        actor=self.importer.actor,
                        reason_code=kind,
                        reason=reason,
                    )
            else:
                open_exception(self.uow, order_id, kind, str(details.get("reason")), details, actor=self.importer.actor)
        return order_id

    def after_commit(self) -> None:
        """The run's snapshot learns the master data this batch created."""
        for kind, mapped in self.created:
            values = mapped.values
            if kind == "customer":
                self.master.customers[values["customer_id"]] = (values.get("lat"), values.get("lng"))
            else:
                self.master.sku_prices[values["sku"]] = values.get("unit_price") or Decimal("0")
                if values.get("pack_size"):
                    self.master.pack_sizes[values["sku"]] = int(values["pack_size"])


def _exception_row(order_id: str, kind: str, verdict: Verdict, now: Any) -> dict[str, Any]:
    details = dict(verdict.exception_details)
    details["record"] = _json_safe(verdict.record.rows)
    details["source_key"] = verdict.source_key
    return {
        "id": "exc_" + secrets.token_hex(8),
        "order_id": order_id,
        "kind": kind,
        "status": "open",
        "message": verdict.reason or kind,
        "details": details,
        "root_cause": root_cause_at_opening(kind, details).value,
        "created_at": now,
        "resolved_at": None,
        "resolved_by": None,
        "note": None,
    }


def _database_reason(exc: Exception) -> str:
    """The database's (or intake's) reason a record was refused, in one line."""
    if isinstance(exc, DispatchError):
        return exc.message
    origin = getattr(exc, "orig", None) or exc
    text = str(origin).strip().splitlines()[0] if str(origin).strip() else type(exc).__name__
    return f"refused by the database: {text}"[:1000]


def _json_safe(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Raw rows as JSON-safe values (spreadsheet dates and numbers become text or numbers)."""
    safe: list[dict[str, Any]] = []
    for row in rows:
        safe.append({str(key): _json_value(value) for key, value in row.items()})
    return safe


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def run_report(new_uow: UnitOfWorkFactory, run_id: str, *, after_id: int = 0, limit: int = 100) -> dict[str, Any]:
    """A run with one page of its report (``next_after``: the cursor of the next page, or None)."""
    with new_uow() as uow:
        repository = ImportRepository(uow.session)
        run = repository.get_run(run_id)
        if run is None:
            raise ImportRunNotFound(f"no import run {run_id!r}")
        rows = repository.report(run_id, after_id=after_id, limit=limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "id": run.id,
            "profile": run.profile,
            "system": run.system,
            "target": run.target,
            "file_name": run.file_name,
            "file_sha256": run.file_sha256,
            "status": run.status,
            "last_record": run.last_record,
            "counts": {name: getattr(run, name) for name in COUNTERS},
            "error": run.error,
            "started_at": run.started_at,
            "finished_at": run.finished_at,
            "records": report_dicts(rows),
            "next_after": rows[-1].id if more and rows else None,
        }


def failed_rows(new_uow: UnitOfWorkFactory, run_id: str) -> Iterator[dict[str, Any]]:
    """The raw source rows of the run's rejected records, in record order, read page by page."""
    after = 0
    while True:
        with new_uow() as uow:
            page = ImportRepository(uow.session).report(run_id, after_id=after, limit=1000, outcome="rejected")
            batch = [(row.id, row.raw or []) for row in page]
        if not batch:
            return
        for _, raw in batch:
            yield from raw
        after = batch[-1][0]
