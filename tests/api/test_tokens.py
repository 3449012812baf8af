"""Token storage on both backends: each function owns its transaction; only hashes are stored."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.tokens import (
    ApiToken,
    Principal,
    hash_token,
    issue_token,
    list_token_records,
    lookup_principal,
    revoke_token_by_id,
)
from foundation.errors import InvalidInput
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def new_uow(sessions: sessionmaker[Session]) -> UnitOfWorkFactory:
    return partial(UnitOfWork, sessions)


def test_issued_token_is_committed_and_looked_up_as_its_principal(
    sessions: sessionmaker[Session], new_uow: UnitOfWorkFactory
) -> None:
    issued = issue_token(new_uow, "customer", "CUST-1", "van 7")
    assert issued.principal == Principal(role="customer", subject="CUST-1", token_id=issued.principal.token_id)
    assert lookup_principal(new_uow, issued.value) == issued.principal
    with sessions() as session:
        row = session.get(ApiToken, issued.principal.token_id)
    assert row is not None
    assert row.token_sha256 == hash_token(issued.value)
    assert (row.label, row.revoked_at) == ("van 7", None)


def test_invalid_token_request_writes_nothing(new_uow: UnitOfWorkFactory) -> None:
    with pytest.raises(InvalidInput, match="subject"):
        issue_token(new_uow, "customer")
    with pytest.raises(InvalidInput, match="unknown role"):
        issue_token(new_uow, "root")
    assert list_token_records(new_uow) == []


def test_revocation_is_durable_and_happens_once(new_uow: UnitOfWorkFactory) -> None:
    issued = issue_token(new_uow, "dispatcher")
    assert revoke_token_by_id(new_uow, issued.principal.token_id) is True
    assert lookup_principal(new_uow, issued.value) is None
    [record] = list_token_records(new_uow)
    assert record.revoked_at is not None
    assert revoke_token_by_id(new_uow, issued.principal.token_id) is False
    assert list_token_records(new_uow) == [record]  # the first revocation time is kept
    assert revoke_token_by_id(new_uow, "no-such-id") is False


def test_records_list_newest_first_without_values(new_uow: UnitOfWorkFactory) -> None:
    first = issue_token(new_uow, "warehouse", label="first")
    second = issue_token(new_uow, "customer", "C1", "second")
    records = list_token_records(new_uow)
    assert [(r.id, r.role, r.subject, r.label) for r in records] == [
        (second.principal.token_id, "customer", "C1", "second"),
        (first.principal.token_id, "warehouse", None, "first"),
    ]
    assert first.value not in repr(records)
    assert second.value not in repr(records)
