# Postdesk: the two commands of the quick start, `make demo` and `make test`, each doing all of
# its own set-up on a fresh machine (uv from pip when missing; Dovecot, PostgreSQL and Chromium
# from apt for the tests).

SHELL := /bin/bash
PYTHON ?= python3
# uv on PATH, else the copy pip installs into this Python (`python3 -m uv`).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")

.PHONY: demo test lint typecheck layers pytest pytest-sqlite pytest-postgresql bench sync uv dovecot chromium postgresql cups postfix rsvg clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || { \
		echo "installing uv with pip"; $(PYTHON) -m pip install --quiet uv; }

# Bytecode is compiled here, once: where PYTHONDONTWRITEBYTECODE is set (as on our CI
# machines) Python never caches it, and every engine, console and ctl process compiled all
# its imports again (importing the engine took 10 s instead of 3 on a loaded machine).
sync: uv
	@$(UV) sync --locked --quiet --compile-bytecode
	@$(UV) run --no-sync python -m compileall -q -j 0 engine data console postdesk >/dev/null

dovecot:
	@bash scripts/ensure-dovecot.sh

# The tests' throwaway PostgreSQL cluster (tests/postgres_server.py) needs the server binaries.
postgresql:
	@bash scripts/ensure-postgresql.sh

# The browser test of the public web service (tests/test_web_browser.py) drives Chromium.
chromium:
	@bash scripts/ensure-chromium.sh

# The printing tests run their own cupsd with a file queue, and render PDFs with pdftoppm.
cups:
	@bash scripts/ensure-cups.sh

# postfix's smtp-sink: bench/dialer.py's sink, and a pipelining server the dialer's tests
# send to (tests/test_dialer_pipelining.py). Its mail service is never started.
postfix:
	@bash scripts/ensure-postfix.sh

# rsvg-convert: console tests turn their SVG snapshots into PNGs to look at.
rsvg:
	@bash scripts/ensure-rsvg.sh

demo: sync
	@$(UV) run postdesk demo

lint: sync
	$(UV) run ruff format --check .
	$(UV) run ruff check .

typecheck: sync
	$(UV) run mypy

layers: sync
	$(UV) run lint-imports

# Every test on SQLite, then the tests that drive an engine or its database (marker
# `database`, tests/conftest.py) again on a throwaway PostgreSQL cluster; the consoles'
# rendering tests run once. `make pytest-sqlite` / `make pytest-postgresql` run one half.
pytest: pytest-sqlite pytest-postgresql

pytest-sqlite: sync dovecot chromium postgresql cups postfix rsvg
	$(UV) run pytest -q

pytest-postgresql: sync dovecot chromium postgresql cups postfix rsvg
	POSTDESK_TEST_DATABASE=postgresql $(UV) run pytest -q -m database

test: lint typecheck layers pytest

bench: sync dovecot
	@bash scripts/ensure-mbsync.sh
	$(UV) run python -m bench.ingest
	$(UV) run python -m bench.web

# Console cold start and a 200-message thread against minimal Textual apps (no mail servers).
.PHONY: bench-console
bench-console: sync
	$(UV) run python -m bench.console

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache dist

# Routing latency at 500 agents and the supervisor grid's CPU at 2,000 agents, against a bare
# event bus and a minimal Textual DataTable (no mail servers; about 5 minutes). Shorter:
# `uv run python -m bench.routing --seconds 10`.
.PHONY: bench-routing
bench-routing: sync
	$(UV) run python -m bench.routing

# The email dialer: 100,000 records to postfix's smtp-sink against smtp-source and a bare
# aiosmtplib loop (installs postfix when missing and root; about a few minutes).
.PHONY: bench-dialer
bench-dialer: sync postfix
	$(UV) run python -m bench.dialer
