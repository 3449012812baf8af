"""The transaction boundary of a use case: one SQLAlchemy session, plus hooks that run after it ends.

Side effects outside the relational store (Redis locks, in-process indexes, webhooks) register
``after_commit`` / ``after_rollback`` callbacks, so that a rolled-back use case leaves nothing behind
and a committed one is mirrored only once it is durable.

A COMMIT that raises (the connection dropped) may have committed on the server. The unit of work does not
guess: it reads the database in a new session through the ``commit_probe`` callbacks its use cases
registered (does the row this unit of work wrote exist?) and runs the after-commit or the after-rollback
hooks accordingly. When nobody registered a probe, or the database cannot be read, it runs neither: the
leases on the fast store's holds expire and the stock reconciler settles the fast store on the database.
An after-commit hook that fails is logged and the others still run.

Observers (metrics, dashboards) are not global: the composition root (``api.container``) builds its units
of work with the ``transition_listeners`` it wants told about committed order transitions. A unit of work
built without them tells nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from types import TracebackType

import structlog
from sqlalchemy.orm import Session, sessionmaker

log = structlog.get_logger("orders_core.unit_of_work")

CommitProbe = Callable[[Session], bool]
"""Asked, in a new session, after a COMMIT whose outcome is unknown: is this unit of work's write durable?"""


class CommitOutcome(Enum):
    """What a COMMIT that raised turned out to be."""

    COMMITTED = "committed"
    ROLLED_BACK = "rolled_back"
    UNKNOWN = "unknown"


TransitionListener = Callable[[str, str], None]
"""Told ``(from_status, to_status)`` after an order transition commits (``from_status`` is "" at intake)."""


class UnitOfWork:
    """Context manager around one session: commit explicitly, roll back on anything else."""

    def __init__(
        self, session_factory: sessionmaker[Session], *, transition_listeners: Sequence[TransitionListener] = ()
    ) -> None:
        self._session_factory = session_factory
        #: Whom ``orders_core.orders.lifecycle`` tells about transitions once this unit of work commits.
        self.transition_listeners = transition_listeners
        self._after_commit: list[Callable[[], None]] = []
        self._after_rollback: list[Callable[[], None]] = []
        self._probes: list[CommitProbe] = []
        self._committed = False
        #: Set when a COMMIT raised: what reading the database found (tests, logs).
        self.commit_outcome: CommitOutcome | None = None
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._after_commit = []
        self._after_rollback = []
        self._probes = []
        self._committed = False
        self.commit_outcome = None
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                self.session.rollback()
                self._run(self._after_rollback)
        finally:
            self.session.close()

    def commit(self) -> None:
        """Make the work durable, then run the after-commit hooks (in registration order).

        A failed flush rolled back for sure (after-rollback hooks, then the error). A failed COMMIT is
        resolved by ``_resolve``: committed after all (after-commit hooks, no error: the work is durable),
        rolled back (after-rollback hooks, the error), or unknown (no hooks, the error)."""
        try:
            self.session.flush()
        except BaseException:
            self._end_rolled_back()
            raise
        try:
            self.session.commit()
        except Exception as exc:
            self._rollback_quietly()  # first: on SQLite the probe's session waits for this one's write lock
            self._committed = True  # nothing left to roll back on exit
            outcome = self.commit_outcome = self._resolve(exc)
            if outcome is CommitOutcome.COMMITTED:
                self._run(self._after_commit)
                return
            if outcome is CommitOutcome.ROLLED_BACK:
                self._run(self._after_rollback)
            # UNKNOWN: no hooks; the leases expire and the reconciler settles the fast store.
            self._after_rollback = []
            raise
        except BaseException:
            self._end_rolled_back()
            raise
        self._committed = True
        self._run(self._after_commit)

    def commit_probe(self, probe: CommitProbe) -> None:
        """Register how to tell, from a new session, that this unit of work committed (see ``commit``)."""
        self._probes.append(probe)

    def _end_rolled_back(self) -> None:
        self._rollback_quietly()
        self._run(self._after_rollback)
        self._after_rollback = []
        self._committed = True  # nothing left to roll back on exit

    def _rollback_quietly(self) -> None:
        try:
            self.session.rollback()
        except Exception:  # the connection is gone: nothing to roll back on this side
            log.warning("rollback_failed", exc_info=True)

    def _resolve(self, error: Exception) -> CommitOutcome:
        """Read the database in a new session to learn whether the COMMIT that raised ``error`` took effect."""
        if not self._probes:
            log.warning("commit_outcome_unknown", error=repr(error), probes=0)
            return CommitOutcome.UNKNOWN
        try:
            with self._session_factory() as session:
                answers = {bool(probe(session)) for probe in self._probes}
        except Exception as again:
            log.warning("commit_outcome_unknown", error=repr(error), probe_error=repr(again))
            return CommitOutcome.UNKNOWN
        if answers == {True}:
            outcome = CommitOutcome.COMMITTED
        elif answers == {False}:
            outcome = CommitOutcome.ROLLED_BACK
        else:
            outcome = CommitOutcome.UNKNOWN
        log.warning("commit_outcome_resolved", error=repr(error), outcome=outcome.value)
        return outcome

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this unit of work has committed."""
        self._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if this unit of work ends without committing (compensation)."""
        self._after_rollback.append(callback)

    @staticmethod
    def _run(callbacks: list[Callable[[], None]]) -> None:
        """Run every callback; one that fails is logged and the rest still run (each mirrors its own write)."""
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("unit_of_work_hook_failed", hook=getattr(callback, "__qualname__", repr(callback)))


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""What a use case takes to open its own transaction(s): ``with new_uow() as uow: ...; uow.commit()``."""
