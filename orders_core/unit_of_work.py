"""The transaction boundary of a use case: one SQLAlchemy session, plus hooks that run after it ends.

Side effects outside the relational store (Redis locks, in-process indexes, webhooks) register
``after_commit`` / ``after_rollback`` callbacks, so that a rolled-back use case leaves nothing behind
and a committed one is mirrored only once it is durable.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """Context manager around one session: commit explicitly, roll back on anything else."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory
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
