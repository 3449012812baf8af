"""The order state machine as a specification (pure)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders_core.orders.model import (
    MAIN_LINE,
    PRE_SHIPPING,
    TRANSITIONS,
    InvalidTransition,
    OrderStatus,
    check_transition,
)


def test_the_main_line_moves_forward_one_step_at_a_time() -> None:
    for current, following in itertools.pairwise(MAIN_LINE):
        check_transition(current, following)
    with pytest.raises(InvalidTransition):
        check_transition(OrderStatus.PLACED, OrderStatus.ALLOCATED)
    with pytest.raises(InvalidTransition):
        check_transition(OrderStatus.ALLOCATED, OrderStatus.STOCK_LOCKED)


def test_hold_and_cancel_only_before_loading() -> None:
    for status in OrderStatus:
        allowed = TRANSITIONS[status]
        assert (OrderStatus.CANCELLED in allowed) == (status in PRE_SHIPPING or status is OrderStatus.ON_HOLD)
        assert (OrderStatus.ON_HOLD in allowed) == (status in PRE_SHIPPING)


def test_final_states_have_no_way_out() -> None:
    assert TRANSITIONS[OrderStatus.DELIVERED] == frozenset()
    assert TRANSITIONS[OrderStatus.CANCELLED] == frozenset()


@given(st.sampled_from(sorted(PRE_SHIPPING)), st.sampled_from(sorted(OrderStatus)))
def test_leaving_hold_returns_exactly_where_it_was(held_from: OrderStatus, target: OrderStatus) -> None:
    if target is held_from or target is OrderStatus.CANCELLED:
        check_transition(OrderStatus.ON_HOLD, target, held_from)
    else:
        with pytest.raises(InvalidTransition):
            check_transition(OrderStatus.ON_HOLD, target, held_from)
