# PerceptLab command surface. The README names `make demo` and `make test`; CI runs `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PYTHONPATH := $(CURDIR)/platform:$(CURDIR)
# torch and torchvision install from this machine's disk with plain pip (not uv/poetry).
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1

.PHONY: help setup frontend chromium demo demo-setup test test-fast lint format bench clean

help:
	@echo "make demo   - set up everything and run the platform (web + Celery worker) on embedded defaults"
	@echo "make test   - set up what the tests need and run the whole suite"
	@echo "make lint   - ruff check and ruff format --check"
	@echo "make format - ruff check --fix and ruff format"
	@echo "make bench  - performance benchmarks (see docs/performance.md)"

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "PerceptLab needs Python 3.11, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PINS)
	$(PIP) install --quiet -e '.[ml,dev,vdp]'
	touch $@

setup: $(VENV)/.installed frontend

# The worker-facing app (jsPsych 8 + our plugins), built into frontend/dist and served by whitenoise.
frontend: frontend/node_modules/.installed
	cd frontend && npm run --silent build

# Reinstalled whenever the lock file changes (a new devDependency such as axe-core).
frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Debian's Chromium for the browser tests (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo-setup: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py demo_setup

demo: demo-setup
	DEBUG=$${DEBUG:-true} bash scripts/run-demo.sh

test: setup chromium lint
	cd frontend && npm test --silent
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not e2e and not celery_worker and not slow" $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf var frontend/dist
