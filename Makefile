# Gongshu: `make demo` brings up a working platform; `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: venv install demo test lint browser-deps java-deps clean migration screens

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/gongshu demo

browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian chromium for browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@if ! fc-list :lang=zh | grep -q .; then \
		echo "installing CJK fonts for browser tests (layout is measured with them)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk >/dev/null; \
	fi

java-deps:
	@if ! command -v java >/dev/null 2>&1; then \
		echo "installing Java for Spark"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; \
	fi

# The second pass runs on PostgreSQL, and only the tests that reach the database
# (tests/conftest.py deselects the rest, which would run the same code twice); the
# browser and Spark tests touch no database and run once, in the first.
test: install browser-deps java-deps
	$(PY) -m pytest -q -p no:cacheprovider
	GONGSHU_TEST_DATABASE_URL=$(PG_URL) $(PY) -m pytest -q -p no:cacheprovider -m "not browser" \
		--ignore=tests/spark --ignore=tests/discovery/test_spark.py

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) var

# Write a new Alembic migration after changing models: make migration m="what changed"
migration: install
	$(PY) -c "from gongshu.migrate import autogenerate; autogenerate('$(m)')"

# Screenshots of the key pages per role at 1366 and 375 px wide (issue 17), taken by the
# layout browser test; not committed by default.
screens: install browser-deps
	GONGSHU_SCREENS=$(CURDIR)/docs/screens $(PY) -m pytest -q -p no:cacheprovider tests/e2e/test_layout.py
