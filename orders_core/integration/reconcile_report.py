"""A reconciliation as files and text: the CSV of every difference, the JSON summary, the console digest."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import IO, Any

from orders_core.integration.reconcile import Difference, Reconciliation

CSV_COLUMNS = ("key", "cause", "field", "side", "ours", "theirs", "delta", "relative", "tolerance", "note")
KEY_SEPARATOR = "|"


def difference_row(difference: Difference) -> dict[str, str]:
    """One difference as the CSV's (and the API's) flat row; a composite key joined with ``|``."""
    return {
        "key": KEY_SEPARATOR.join(difference.key),
        "cause": difference.cause.value,
        "field": difference.field,
        "side": difference.side.value,
        "ours": difference.ours,
        "theirs": difference.theirs,
        "delta": difference.delta,
        "relative": difference.relative,
        "tolerance": difference.tolerance,
        "note": difference.note,
    }


def write_csv(differences: Iterable[Difference], out: IO[str]) -> int:
    """Write every difference as CSV (header first, UTF-8 text stream given by the caller); answers the rows."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = 0
    for difference in differences:
        writer.writerow(difference_row(difference))
        rows += 1
    return rows


def csv_text(result: Reconciliation) -> str:
    """The whole CSV report as one string (for uploads and tests)."""
    buffer = io.StringIO()
    write_csv(result.differences, buffer)
    return buffer.getvalue()


def summary(result: Reconciliation) -> dict[str, Any]:
    """The JSON summary: record counts, consistency, per-field consistency, mismatches by cause and by field."""
    return {
        "key": list(result.key_fields),
        "ours_records": result.ours_records,
        "theirs_records": result.theirs_records,
        "union_keys": result.union_keys,
        "paired_keys": result.paired_keys,
        "consistent_keys": result.consistent_keys,
        "consistency_pct": round(result.consistency_pct, 4),
        "differences": len(result.differences),
        "by_cause": result.by_cause(),
        "by_field": result.by_field(),
        "fields": {
            name: {
                "compared": tally.compared,
                "agree": tally.agree,
                "within_tolerance": tally.within_tolerance,
                "consistency_pct": round(tally.consistency_pct, 4),
            }
            for name, tally in result.fields.items()
        },
    }


def digest(report: dict[str, Any], *, examples: list[dict[str, str]] | None = None) -> str:
    """A few lines for a console: the consistency figure, then mismatches grouped by field and cause."""
    lines = [
        f"consistency {report['consistency_pct']:.2f} %  ({report['consistent_keys']} of {report['union_keys']} keys"
        f" consistent; ours {report['ours_records']} records, theirs {report['theirs_records']})",
        "by cause: " + ", ".join(f"{cause} {n}" for cause, n in report["by_cause"].items()),
        "by field:",
    ]
    for name, causes in report["by_field"].items():
        consistency = report["fields"].get(name, {}).get("consistency_pct")
        shown = f"  [{consistency:.2f} % agree]" if consistency is not None else ""
        lines.append(f"  {name:<20} " + ", ".join(f"{cause} {n}" for cause, n in causes.items()) + shown)
    for row in examples or []:
        lines.append(f"  - {row['key']} {row['cause']} {row['field']} ours={row['ours']!r} theirs={row['theirs']!r}")
    return "\n".join(lines)
