"""The transaction boundary of a use case: one SQLAlchemy session, plus hooks that run after it ends.

Side effects outside the relational store (Redis locks, in-process indexes, webhooks) register
``after_commit`` / ``after_rollback`` callbacks, so that a rolled-back use case leaves nothing behind
and a committed one is mirrored only once it is durable.

Observers (metrics, dashboards) are not global: the composition root (``api.container``) builds its units
of work with the ``transition_listeners`` it wants told about committed order transitions. A unit of work
built without them tells nobody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

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
        self._committed = False
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._after_commit = []
        self._after_rollback = []
        self._committed = False
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
        """Make the work durable, then run the after-commit hooks (in registration order)."""
        try:
            self.session.commit()
        except BaseException:
            self.session.rollback()
            self._run(self._after_rollback)
            self._after_rollback = []
            self._committed = True  # nothing left to roll back on exit
            raise
        self._committed = True
        self._run(self._after_commit)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this unit of work has committed."""
        self._after_commit.append(callback)

    def after_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if this unit of work ends without committing (compensation)."""
        self._after_rollback.append(callback)

    @staticmethod
    def _run(callbacks: list[Callable[[], None]]) -> None:
        for callback in callbacks:
            callback()


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""What a use case takes to open its own transaction(s): ``with new_uow() as uow: ...; uow.commit()``."""
