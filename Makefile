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
# The counter's message catalogs: the .po files are the source, the .mo files are built here.
CATALOGS := $(wildcard pos/locale/*/LC_MESSAGES/*.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: install test demo bench soak lint catalogs system-deps clean

# The install step: the venv with the project in it, the compiled catalogs, and the project's
# bytecode: the editable install leaves our own modules uncompiled, and where bytecode is not
# written (PYTHONDONTWRITEBYTECODE) every start compiled them again (tui_start_ms). Up-to-date
# files are skipped, so this costs well under a second after the first time.
install: $(VENV)/.installed $(COMPILED)
	$(PY) -m compileall -q pos points printers server > /dev/null

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy --strict points
	$(VENV)/bin/lint-imports
	MYKEY_REQUIRE_PG=1 $(PY) -m pytest

# make demo DESK=library [LIBRARY=YANAGAWA] or DESK=facility: the library or facility desk instead of the shop.
DESK ?= shop
demo: install
	$(PY) -m pos.demo --desk $(DESK) $(if $(LIBRARY),--library $(LIBRARY))

bench: install
	$(PY) tests/bench/run.py

# The long soak (DESIGN.md §5): SOAK_SECONDS of traffic through faults, then every invariant checked.
# SOAK_DB=postgresql soaks on a throwaway PostgreSQL cluster (killed as one of the faults), or give
# a postgresql://... URL of a server of your own (a role that may create databases; never killed).
SOAK_SECONDS ?= 1800
SOAK_DB ?= sqlite
soak: install
	$(PY) -m tests.e2e.soak --seconds $(SOAK_SECONDS) --db $(SOAK_DB)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# After adding or changing a _("...") in the code: collect the ids (pyproject.toml [tool.babel]) and
# merge them into both catalogs, then translate the new Japanese entries by hand.
catalogs: $(VENV)/.installed
	$(VENV)/bin/pybabel -q extract -F pyproject.toml --omit-header
	$(VENV)/bin/pybabel -q update -D mykey-pos -i pos/locale/mykey-pos.pot -d pos/locale \
	  --no-wrap --no-fuzzy-matching
	rm pos/locale/mykey-pos.pot

# A .po compiled to the .mo pos.i18n loads (rebuilt whenever the .po is newer).
%.mo: %.po $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -D mykey-pos -i $< -o $@ -l $(word 3,$(subst /, ,$<))

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
