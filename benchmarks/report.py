"""What every benchmark shows the same way: progress bars, tables of figures, ratios and the JSON last line."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]


def progress_bar(console: Console, *, label: str = "{task.description}", transient: bool = True) -> Progress:
    """A progress display (label, bar, done/total, elapsed time) on ``console``, normally stderr."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )


def figures_table(title: str, columns: Sequence[str], *, left: int = 0) -> Table:
    """A table whose first ``left`` columns (names) are left-aligned and the others (figures) right-aligned."""
    table = Table(title=title)
    for n, column in enumerate(columns):
        table.add_column(column, justify="left" if n < left else "right")
    return table


def percentile(
    values: Sequence[float] | np.ndarray, q: float, *, method: Literal["linear", "nearest"] = "linear"
) -> float:
    """The ``q``-th percentile of ``values`` as a plain float (NumPy's ``method``, linear by default)."""
    return float(np.percentile(np.asarray(values), q, method=method))


def ratio(numerator: float | None, denominator: float | None, digits: int) -> float | None:
    """``numerator / denominator`` rounded to ``digits``; None when either side was not measured (or is 0)."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, digits)


def print_json_line(result: Mapping[str, Any]) -> None:
    """The machine-readable result: one JSON object on stdout, the last line of the run."""
    typer.echo(json.dumps(result))
