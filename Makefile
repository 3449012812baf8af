# Two commands on a fresh machine: `make run` and `make test`. Everything else is a convenience.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# One worker per core (at most 4: each starts its own PostgreSQL and Redis); worksteal evens out the slow tests.
PYTEST_ARGS ?= -n auto --maxprocesses=4 --dist worksteal

.PHONY: run test lint kernels format bench system-deps install clean frontend

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## virtualenv with the locked dependencies

system-deps: ## PostgreSQL+PostGIS and Redis system packages (tests start throwaway servers from them)
	bash scripts/ensure_system_packages.sh

run: install ## serve the API on 127.0.0.1:8000 with the embedded store and demo data
	$(BIN)/dispatch serve --host 127.0.0.1 --port 8000

lint: install ## ruff (lint + format check), mypy, and the import contracts of DESIGN.md (import-linter)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# lint runs beside the matcher's first numba compile (a minute of one core on a fresh clone, cached on disk after).
test: system-deps install ## everything: lint, types, the whole suite against throwaway PostGIS and Redis
	$(MAKE) --no-print-directory -j2 lint kernels
	$(BIN)/pytest $(PYTEST_ARGS)

kernels: install ## compile the matcher's numba kernels into their on-disk cache
	$(BIN)/python -c 'from matcher import kernels; kernels.warm_up()'

bench: install system-deps ## every benchmark, human-readable
	$(BIN)/dispatch bench match
	$(BIN)/dispatch bench pick
	$(BIN)/dispatch bench pipeline
	$(BIN)/dispatch bench webhooks
	$(BIN)/dispatch bench vrp

# The committed api/static/vendor/ is this target's output: re-run it after changing frontend/package.json.
frontend: ## npm packages the UI serves (frontend/package-lock.json) copied into api/static/vendor/
	cd frontend && npm ci --no-audit --no-fund
	rm -rf api/static/vendor/leaflet && mkdir -p api/static/vendor/leaflet
	cp -r frontend/node_modules/leaflet/dist/leaflet.js frontend/node_modules/leaflet/dist/leaflet.css \
	  frontend/node_modules/leaflet/dist/images frontend/node_modules/leaflet/LICENSE api/static/vendor/leaflet/

lock: ## refresh requirements.lock from the current virtualenv
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e ' > requirements.lock

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
