"""E-waybill numbers with a check character, so a mistyped number is refused instead of misrouted.

Scheme:

* master waybill: ``DW`` + 12-digit serial + check character, e.g. ``DW0004211234565``;
* child (sub) waybill of package ``k`` of a master: the master number + ``-`` + ``k`` on 3 digits + its
  own check character, e.g. ``DW0004211234565-0027``.

The check character is ISO 7064 MOD 11-2 over the digits before it (for a child: the master's 12 serial
digits followed by the 3 package digits): ``0``-``9`` or ``X`` (for 10). MOD 11-2 detects every single
wrong digit and every swap of two adjacent digits, the two commonest typing errors. The serial is
random (from ``secrets``): numbers are unguessable, and the primary key rejects the rare collision.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "DW"
SERIAL_DIGITS = 12
PACKAGE_DIGITS = 3
MAX_PACKAGES = 10**PACKAGE_DIGITS - 1

_MASTER = re.compile(rf"^{PREFIX}(\d{{{SERIAL_DIGITS}}})([0-9X])$")
_CHILD = re.compile(rf"^{PREFIX}(\d{{{SERIAL_DIGITS}}})([0-9X])-(\d{{{PACKAGE_DIGITS}}})([0-9X])$")


def mod11_2(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character of a string of decimal digits (``0``-``9`` or ``X``)."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError(f"not a string of decimal digits: {digits!r}")
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2 % 11
    check = (12 - total) % 11
    return "X" if check == 10 else str(check)


def master_number(serial: int) -> str:
    """The master waybill number of a serial (0 <= serial < 10**12)."""
    if not 0 <= serial < 10**SERIAL_DIGITS:
        raise ValueError(f"serial out of range: {serial}")
    digits = f"{serial:0{SERIAL_DIGITS}d}"
    return f"{PREFIX}{digits}{mod11_2(digits)}"


def new_master_number() -> str:
    """A fresh master number with a random serial."""
    return master_number(secrets.randbelow(10**SERIAL_DIGITS))


def child_number(master_no: str, package_index: int) -> str:
    """The child waybill number of package ``package_index`` (1..999) of ``master_no``."""
    match = _MASTER.match(master_no)
    if match is None or not is_valid(master_no):
        raise ValueError(f"not a valid master waybill number: {master_no!r}")
    if not 1 <= package_index <= MAX_PACKAGES:
        raise ValueError(f"package index out of range 1..{MAX_PACKAGES}: {package_index}")
    package = f"{package_index:0{PACKAGE_DIGITS}d}"
    return f"{master_no}-{package}{mod11_2(match.group(1) + package)}"


def is_valid(waybill_no: str) -> bool:
    """Whether ``waybill_no`` is a well-formed master or child number whose check characters agree."""
    master = _MASTER.match(waybill_no)
    if master is not None:
        return mod11_2(master.group(1)) == master.group(2)
    child = _CHILD.match(waybill_no)
    if child is not None:
        serial, check, package, package_check = child.groups()
        return mod11_2(serial) == check and mod11_2(serial + package) == package_check
    return False


def master_of(waybill_no: str) -> str | None:
    """The master number a valid child number belongs to (None for a master or an invalid number)."""
    child = _CHILD.match(waybill_no)
    if child is None or not is_valid(waybill_no):
        return None
    return waybill_no.split("-", 1)[0]
