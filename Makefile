# The two-command set-up contract: `make test` and `make bench` work on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
BENCH_OUT ?= bench-report
STAMP := $(VENV)/.handzoo-installed

.PHONY: install test bench lint clean-venv

$(STAMP): pyproject.toml setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e ".[all,dev]"
	@touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)
	$(VENV)/bin/handzoo-bench --all --out $(BENCH_OUT)

lint: $(STAMP)
	$(VENV)/bin/ruff check handzoo plugins tests benchmarks tools examples
	$(VENV)/bin/ruff format --check handzoo plugins tests benchmarks tools examples
	$(VENV)/bin/lint-imports --no-cache

clean-venv:
	rm -rf $(VENV)
