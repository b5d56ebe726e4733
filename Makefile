# The whole set-up: `make run` serves the demo, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app portal
STAMP := $(VENV)/.installed-stamp
# PostgreSQL for the second test run; unreachable means those tests are skipped with a message.
PORTAL_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PORTAL_TEST_POSTGRES_URL

.PHONY: install run test test-sqlite test-postgres lint format bench clean guide-screenshots

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(FLASK) init-db
	$(FLASK) demo-data --if-empty
	@echo "Serving on http://127.0.0.1:5000 — log in with one of the demo logins above."
	PORTAL_SCHEDULER=$${PORTAL_SCHEDULER:-inprocess} $(FLASK) run --host 127.0.0.1 --port 5000

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test-sqlite: install
	$(PY) -m pytest -q

test-postgres: install
	PORTAL_TEST_DB=postgres $(PY) -m pytest -q

test: lint test-sqlite test-postgres

# make bench [BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test] [BENCH_ARGS=...]
#            [BENCH_SIZES=10000,100000,1000000]   (the pages at each size, and how far they move)
BENCH_DB := $(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL),)
BENCH_SIZES ?= 10000,100000

bench: install
	$(PY) -m bench.run $(BENCH_DB) --sizes $(BENCH_SIZES) $(BENCH_ARGS)
	$(PY) -m bench.finance $(BENCH_DB)
	$(PY) -m bench.jobs $(BENCH_DB)
	$(PY) -m bench.imports $(BENCH_DB)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The user guide's screenshots (portal/static/help/*.png), from the demo data in headless Chromium.
guide-screenshots: install
	$(PY) scripts/guide_screenshots.py
