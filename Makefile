# Two entry points for a fresh machine (see README.md):
#   make run   - create .venv, install, start the dashboard on the built-in demo data
#   make test  - create .venv, install (incl. Debian chromium + chromium-driver), run every test
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint browser-deps demo-data bench

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

# numba compiles a kernel on its first call (most of a fresh clone's first run): compile them all once
# here, into numba's cache next to their source, and again whenever a kernel's source changes
KERNEL_SOURCES := $(wildcard geo/_kernels/*.py) geo/crs.py geo/uncertainty.py geo/risk_combine.py scripts/compile_kernels.py

.kernels-compiled: $(VENV)/.runtime $(KERNEL_SOURCES)
	$(PY) scripts/compile_kernels.py
	touch $@

browser-deps:
	bash scripts/install_browser.sh

run: $(VENV)/.runtime .kernels-compiled
	$(PY) app.py

test: $(VENV)/.dev .kernels-compiled browser-deps
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

demo-data: $(VENV)/.runtime
	$(PY) scripts/make_demo_data.py
