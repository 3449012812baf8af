"""Waybill numbers (ISO 7064 MOD 11-2 check characters), packaging into packages, and phone masking."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders_core.transport.packaging import ItemUnit, PackingLimits, pack
from orders_core.transport.waybill_numbers import (
    child_number,
    is_valid,
    master_number,
    master_of,
    mod11_2,
    new_master_number,
)
from orders_core.transport.waybills import mask_phone


def test_mod11_2_matches_the_iso_7064_examples() -> None:
    # ISO 7064 worked example: 0794 -> check 0; 079 -> check X.
    assert mod11_2("0794") == "0"
    assert mod11_2("079") == "X"


def test_fresh_numbers_are_valid_and_children_belong_to_their_master() -> None:
    master = new_master_number()
    assert is_valid(master) and master.startswith("DW") and len(master) == 15
    child = child_number(master, 7)
    assert is_valid(child) and child.startswith(master + "-007")
    assert master_of(child) == master and master_of(master) is None


def _substitutions(number: str) -> list[str]:
    typos = []
    for i, ch in enumerate(number):
        if ch.isdigit():
            typos += [number[:i] + d + number[i + 1 :] for d in "0123456789" if d != ch]
    return typos


def _adjacent_swaps(number: str) -> list[str]:
    return [
        number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        for i in range(len(number) - 1)
        if number[i] != number[i + 1] and number[i].isdigit() and number[i + 1].isdigit()
    ]


@given(st.integers(min_value=0, max_value=10**12 - 1))
def test_every_single_digit_typo_and_adjacent_swap_is_detected(serial: int) -> None:
    number = master_number(serial)
    assert is_valid(number)
    for typo in _substitutions(number) + _adjacent_swaps(number):
        assert not is_valid(typo), (number, typo)


@given(st.integers(min_value=0, max_value=10**12 - 1), st.integers(min_value=1, max_value=999))
def test_typos_in_child_numbers_are_detected(serial: int, package: int) -> None:
    number = child_number(master_number(serial), package)
    for typo in _substitutions(number) + _adjacent_swaps(number):
        assert not is_valid(typo), (number, typo)


@pytest.mark.parametrize(
    "text", ["", "DW", "DW12345678901", "XX0004211234565", "DW000421123456Y", "dw000421123456X", "DW000421123456X-1"]
)
def test_malformed_numbers_are_invalid(text: str) -> None:
    assert not is_valid(text)


def test_packages_respect_the_limits_and_keep_every_unit() -> None:
    units = [ItemUnit("A", 10, 7.0, 0.01), ItemUnit("B", 1, 50.0, 0.1), ItemUnit("C", 3, 1.0, 0.2)]
    packages = pack(units, PackingLimits(max_kg=30, max_m3=0.25))
    # A: 4 + 4 + 2 units of 7 kg; B alone (oversize); C one per package by volume.
    expected = [[("A", 4)], [("A", 4)], [("A", 2)], [("B", 1)], [("C", 1)], [("C", 1)], [("C", 1)]]
    assert [p.items for p in packages] == expected
    assert [p.index for p in packages] == list(range(1, 8))
    for p in packages:
        assert (p.weight_kg <= 30 and p.volume_m3 <= 0.25) or p.items == [("B", 1)]


@given(
    st.lists(
        st.tuples(st.integers(1, 500), st.floats(0, 40), st.floats(0, 0.3)),
        min_size=1,
        max_size=6,
    )
)
def test_packing_conserves_units_and_only_oversize_units_break_limits(lines: list[tuple[int, float, float]]) -> None:
    limits = PackingLimits(max_kg=30, max_m3=0.25, max_packages=10_000)
    units = [ItemUnit(f"S{i}", qty, kg, m3) for i, (qty, kg, m3) in enumerate(lines)]
    packages = pack(units, limits)
    packed: dict[str, int] = {}
    for package in packages:
        for sku, qty in package.items:
            packed[sku] = packed.get(sku, 0) + qty
        single_unit = sum(q for _, q in package.items) == 1
        assert single_unit or (package.weight_kg <= 30 + 1e-6 and package.volume_m3 <= 0.25 + 1e-6)
    assert packed == {u.sku: u.qty for u in units}


def test_packing_caps_the_number_of_packages() -> None:
    packages = pack([ItemUnit("A", 10**9, 1.0, 0.0)], PackingLimits(max_kg=30, max_m3=1, max_packages=999))
    assert len(packages) == 999
    assert sum(q for p in packages for _, q in p.items) == 10**9


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("13812345678", "138****5678"), ("+49 170 1234567", "491*****4567"), ("12345", "***45"), (None, None)],
)
def test_phone_masking(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked
