# Two entry points: `make run` and `make test`. Both create the virtualenv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit proto bench soak clean promtool

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

BUF := $(VENV)/buf/node_modules/.bin/buf

lint: $(STAMP)
	$(BIN)/ruff check sidecar tests bench clients
	$(BIN)/ruff format --check sidecar tests bench clients
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/hadolint Dockerfile
	@if command -v npm >/dev/null; then \
		test -x $(BUF) || npm install --silent --prefix $(VENV)/buf @bufbuild/buf@1.75.0; \
		cd proto && ../$(BUF) lint; \
	else echo "npm not found: skipping buf lint of proto/"; fi

typecheck: $(STAMP)
	$(BIN)/mypy sidecar

# Debian's promtool checks the /metrics exposition (tests/unit/telemetry/test_prometheus.py). It is unpacked
# from the package, not installed: installing the package would also set up a Prometheus server.
promtool: $(STAMP)
	@test -x $(BIN)/promtool || { echo "promtool missing: unpacking it from Debian's prometheus package into $(BIN)"; \
		tmp=$$(mktemp -d); ( cd $$tmp && { apt-get download prometheus || { apt-get update -qq && apt-get download prometheus; }; } \
		&& dpkg-deb --fsys-tarfile prometheus_*.deb | tar -xO ./usr/bin/promtool > promtool && chmod +x promtool \
		&& mv promtool $(CURDIR)/$(BIN)/promtool ) >/dev/null 2>&1 || echo "could not unpack promtool: its test is skipped"; \
		rm -rf $$tmp; }

# Daemons started by the tests are measured too (pyproject.toml [tool.coverage.run]). pytest's exit code
# is kept as is: 5 means no test ran, and that must fail the build as loudly as a failing test.
unit: $(STAMP) promtool
	rm -f .coverage .coverage.* coverage.json
	$(BIN)/pytest --cov=sidecar --cov-report=term:skip-covered || { rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest ran no tests" >&2; fi; exit $$rc; }
	$(BIN)/coverage json -q -o coverage.json
	$(BIN)/python .ci/coverage_floor.py coverage.json

# Regenerates the committed protobuf/gRPC code; tests/packaging/test_proto_fresh.py fails when it is stale.
proto: $(STAMP)
	$(BIN)/python -m sidecar.tools.genproto

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

# 20,000 generated requests at every RPC and at the management listener (about 20 minutes on 2 cores).
soak: $(STAMP)
	$(BIN)/python -m bench.bench_fuzz_soak --requests 20000

clean:
	rm -rf $(VENV) .state
