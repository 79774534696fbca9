# The two set-up commands: `make serve` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev

.PHONY: serve test services agents browser prometheus bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

serve: $(STAMP)
	$(BIN)/llmswitch serve $(ARGS)

services:
	@scripts/ensure-services.sh

agents:
	@scripts/install-agents.sh

browser:
	@scripts/install-browser.sh

prometheus:
	@scripts/install-prometheus.sh

test: $(DEVSTAMP) services agents browser prometheus
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@bench/run.sh

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info src/*.egg-info
