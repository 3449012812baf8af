"""present_json: the one presentation pass every JSON answer takes (looked up once per key name)."""

from __future__ import annotations

from api.schemas.presentation import present_json


def test_units_round_by_suffix_and_money_strings_become_numbers_however_often_a_key_repeats() -> None:
    content = {
        "weight_kg": 1.23456789,
        "volume_m3": 0.0021234567,
        "distance_m": 1234.56789,
        "eta_s": 3600.12345,
        "unit_price": "10.50",
        "total": "abc",
        "lat": 31.123456789,
        "qty": 3,
        "cash_on_delivery": True,
        "shipments": [{"weight_kg": 2.0004999, "distance_m": 1.005}, {"weight_kg": 7.1234567}],
        "terms": {"distance": 0.12345678901, "load": 1},
    }
    for _ in range(2):  # the second pass answers from the per-key lookup cache: the same presentation
        assert present_json(content) == {
            "weight_kg": 1.235,
            "volume_m3": 0.002123,
            "distance_m": 1234.57,
            "eta_s": 3600.123,
            "unit_price": 10.5,
            "total": "abc",
            "lat": 31.123456789,
            "qty": 3,
            "cash_on_delivery": True,
            "shipments": [{"weight_kg": 2.0, "distance_m": round(1.005, 2)}, {"weight_kg": 7.123}],
            "terms": {"distance": 0.123457, "load": 1},
        }
