# Two entry points: `make run` and `make test`. Both create the virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit proto bench clean

$(STAMP): pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e clients/python
	touch $(STAMP)

run: $(STAMP)
	mkdir -p .state
	$(BIN)/sidecar serve --config-dir examples/config --state-dir .state \
		--listen unix:.state/sidecar.sock --listen 127.0.0.1:8013 --environment development

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check sidecar tests bench clients
	$(BIN)/ruff format --check sidecar tests bench clients

typecheck: $(STAMP)
	$(BIN)/mypy sidecar

unit: $(STAMP)
	$(BIN)/pytest

# Regenerates the committed protobuf/gRPC code; tests/test_proto_fresh.py fails when it is stale.
proto: $(STAMP)
	$(BIN)/python -m sidecar.tools.genproto

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .state
