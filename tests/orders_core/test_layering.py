"""The domain stands alone: no module of orders_core (nor the engines under it) imports the api package,
not even lazily when its services are built; the composition root hands observers in instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import importlib, pkgutil, sys
import orders_core
for module in pkgutil.walk_packages(orders_core.__path__, "orders_core."):
    importlib.import_module(module.name)
from orders_core.stock.service import build_stock_service
build_stock_service(None)
leaked = sorted(name for name in sys.modules if name == "api" or name.startswith("api."))
assert not leaked, leaked
"""


def test_orders_core_imports_nothing_of_the_api() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    answer = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True)
    assert answer.returncode == 0, answer.stderr
