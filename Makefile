# Two commands do all the set-up on a machine with only python3:
#   make run    the backend and its sandboxes on embedded defaults (or real services when their URLs are set)
#   make test   the whole suite on real PostgreSQL and Redis (started on the fly when their URLs are unset),
#               and the back office in Debian's Chromium (installed with apt when missing)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=
SOAK_ARGS ?=

.PHONY: install run test lint typecheck bench bench-catalog bench-capacity bench-profile bench-chain soak clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) scripts/run.py

test: install
	@$(PY) scripts/browser.py >/dev/null  # Debian's Chromium for the back office's browser tests
	$(PY) scripts/testservices.py -- $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache  # the one-way app graph (pyproject.toml [tool.importlinter])
	@# The OpenAPI schema a client generator reads: valid, and no drf-spectacular warning.
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

typecheck: install
	$(VENV)/bin/mypy kiosk_project catalog orders payments kds_bridge backoffice kiosk_screen

bench: install
	$(PY) scripts/testservices.py -- $(PY) -m bench.run

bench-catalog: install
	$(PY) scripts/testservices.py -- $(PY) -m bench.catalog

# Status polls, payment initiation, webhook-to-kitchen and placement, each against its floor (one table).
bench-capacity: install
	$(PY) scripts/testservices.py -- $(PY) -m bench.capacity

# Where each hot path's CPU goes (ours, Django, drivers, ...), from cProfile; bench/profile_paths.py.
bench-profile: install
	$(PY) scripts/testservices.py -- $(PY) -m pytest bench/profile_paths.py -q -s -p no:randomly -p no:cacheprovider

# A 100-branch chain on one box: 400 kiosks polling, ordering and revalidating menus (docs/performance.md).
bench-chain: install
	$(PY) scripts/testservices.py -- $(PY) -m bench.chain

# The fault soak: its own PostgreSQL and Redis (it restarts them), gunicorn, a worker, beat, both sandboxes.
# `make soak SOAK_ARGS=--quick` for a short run (docs/performance-payments-kitchen.md).
soak: install
	$(PY) -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 .run .pytest_cache .ruff_cache .mypy_cache
