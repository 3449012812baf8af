"""Signed carrier webhooks (Standard Webhooks): outbox -> deliveries -> a worker that sends them at least once.

Why our own worker over our own tables rather than a task queue such as procrastinate: the embedded
default runs on SQLite, where procrastinate does not run, and the issue wants one behaviour on both
backends. The outbox and the delivery table are plain tables on both; the worker claims rows with
``FOR UPDATE SKIP LOCKED`` and a lease on PostgreSQL (several workers, none waiting for another, a killed
one's claims coming back when the lease ends) and under SQLite's single writer lock on the embedded store.
It runs on a thread of the API process (``api.container``) or alone as ``dispatch webhooks worker``.

Why producers write the outbox and the worker makes the delivery row (``repository.relay_outbox``), rather
than ``announce_waybill_event`` writing the delivery directly: the outbox is the one interface every
producer already has (``OrderRepository.add_outbox`` in the change's transaction), the carrier's webhook
URL is read when the event is relayed, not by each producer, and the relay marks the outbox row published
in the same transaction that creates the delivery, so an event is never lost nor doubled between the two.

Modules: ``signing`` (headers), ``outbox`` (announce an event), ``tables`` / ``repository`` (storage,
claims), ``breaker`` (per-endpoint circuit breaker), ``worker`` (the loop), ``rotation`` (old secret keeps
signing for a grace period), ``service`` (the desk: list, replay), ``model`` (parameters and views).
"""
