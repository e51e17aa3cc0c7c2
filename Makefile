# The README's two commands are `make demo` and `make test`; the rest are helpers.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# What the tests need from Debian: pcscd and the vpcd virtual reader for card tests (pyscard
# compiles against libpcsclite-dev), a Japanese font for raster receipts, tmux for the TUI end-to-end test,
# libusb for USB printers (pyusb),
# postgresql for the throwaway clusters of the PostgreSQL tests (initdb, pg_ctl, pg_basebackup, pg_dump).
DEBS := pcscd libpcsclite-dev vsmartcard-vpcd fonts-ipafont-gothic tmux libusb-1.0-0 chromium postgresql
export ESCPOS_CAPABILITIES_PICKLE_DIR := $(CURDIR)/.cache/escpos

.PHONY: test demo bench soak lint system-deps clean

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict points
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

demo: $(VENV)/.installed
	$(PY) -m pos.demo

bench: $(VENV)/.installed
	$(PY) tests/bench/run.py

# The long soak (DESIGN.md §5): SOAK_SECONDS of traffic through faults, then every invariant checked.
SOAK_SECONDS ?= 1800
soak: $(VENV)/.installed
	$(PY) -m tests.e2e.soak --seconds $(SOAK_SECONDS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Installs the Debian packages when they are missing and we are root; otherwise says what to install.
system-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
	  apt-get -o DPkg::Lock::Timeout=300 update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq $$missing; \
	else \
	  echo "Missing Debian packages:$$missing — install them with: sudo apt-get install$$missing"; \
	fi

$(VENV)/.installed: pyproject.toml | system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	mkdir -p $(ESCPOS_CAPABILITIES_PICKLE_DIR)
	touch $@

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
