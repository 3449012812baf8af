"""Print which top-level package imports which (the architecture as the code has it, not as drawn).

Usage: ``python scripts/import_graph.py`` from the repository root; the closing notes quote its output.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp

PACKAGES = ("foundation", "geo", "geofences", "matcher", "routing", "warehouse_picking", "orders_core", "infra", "api",
            "benchmarks")  # fmt: skip


def main() -> None:
    """One line per package: the project packages it imports, directly."""
    root = Path.cwd()
    sys.path.insert(0, str(root))
    present = [name for name in PACKAGES if (root / name / "__init__.py").exists()]
    graph = grimp.build_graph(*present, cache_dir=None)
    for importer in present:
        imported = sorted(
            other
            for other in present
            if other != importer and graph.direct_import_exists(importer=importer, imported=other, as_packages=True)
        )
        print(f"{importer:18} -> {', '.join(imported) or '(nothing of the project)'}")


if __name__ == "__main__":
    main()
