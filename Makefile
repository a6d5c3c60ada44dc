# Two commands matter (README "Quick start"): `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PANTAU_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install demo test browser lint lock bench

# Exactly the locked, hash-checked versions: a new upstream release cannot change what we run.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/pantau demo

# Debian's Chromium for the PWA tests (Playwright cannot download browsers here); needs root.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and not root: browser tests will skip (fail under CI=true)"; fi; }

test: install browser
	$(BIN)/ruff check server projections tests
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check server projections tests

lock:
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev -o requirements.lock pyproject.toml

bench: install
	$(BIN)/python -m tests.bench
