# Set-up and the jobs README names. The venv is rebuilt when pyproject.toml or the compiled scorer changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench debian-deps test-aarch64 system-test
PY_DIRS := edge export bench tests tools firmware_bridge examples setup.py

$(VENV)/.installed: pyproject.toml setup.py edge/core/scorers/_likelihood_core.c edge/core/_condition_core.c edge/core/_values.h
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[export,test,lint]'
	touch $@

# Train on the bundled history, then replay two new days of the same pump with a bearing that
# overheats (a drift injected into bearing_temp_c on day two) and print the alert lines; then the
# same two days live: the firmware simulator streams them over a pseudo-terminal to edge-agent run.
demo: $(VENV)/.installed
	$(BIN)/edge-export --data examples/pump_history.csv --out build/demo/model.onnx --report build/demo/report.png
	$(BIN)/edge-agent inspect build/demo/model.onnx
	$(BIN)/python examples/make_pump_history.py --out build/demo/normal.csv --rows 576 --seed 8 --start 2026-03-16
	$(BIN)/python examples/inject_anomaly.py build/demo/normal.csv build/demo/live.csv \
		--at 400 --channel bearing_temp_c --kind drift --size 4 --length 48
	$(BIN)/edge-agent replay --model build/demo/model.onnx --input build/demo/live.csv --sensor pump-1 \
		--output build/demo/scores.csv --plot build/demo/replay.png
	$(BIN)/python examples/gateway_demo.py build/demo/model.onnx build/demo/live.csv build/demo

# Everything: the firmware core's C tests, the whole Python suite on this machine (with the systemd unit
# checks), then the gateway's subset again on aarch64 under qemu-user.
test: debian-deps $(VENV)/.installed firmware-test lint
	$(BIN)/python -m pytest
	$(MAKE) test-aarch64

debian-deps:
	tools/debian-deps.sh

# Lint, format and types: a violation fails `make test` (fix with: ruff check --fix / ruff format).
lint: $(VENV)/.installed
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy

# The gateway's tests on 64-bit ARM (Debian bookworm arm64 python3.11 + aarch64 wheels, under qemu).
test-aarch64: debian-deps
	PYTHON=$(PYTHON) tools/aarch64/run-tests.sh -q

# The dataset benches read data from outside the repository: make bench NAB_DATA=/path/to/nab SKAB_DATA=/path/to/skab
NAB_DATA ?= ../shared/data/nab
SKAB_DATA ?= ../shared/data/skab

bench: $(VENV)/.installed
	$(BIN)/python bench/latency.py --data $(NAB_DATA)/realKnownCause/machine_temperature_system_failure.csv
	$(BIN)/python bench/replay_speed.py
	$(BIN)/python bench/quantization.py
	$(BIN)/python bench/rss_floor.py
	$(BIN)/python bench/live.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/mqtt_outage.py
	$(BIN)/python bench/faults.py
	$(BIN)/python bench/modbus.py
	$(BIN)/python bench/mqtt_source.py
	$(BIN)/python bench/recorder.py
	$(BIN)/python bench/metrics_cost.py
	$(BIN)/python bench/telemetry.py
	$(BIN)/python bench/quality.py --data $(NAB_DATA)
	$(BIN)/python bench/skab.py --data $(SKAB_DATA)

# On demand, not in `test` (root, about a minute): boot Debian under systemd-nspawn, install the service
# with systemd/install.sh and show READY, reload on SIGHUP, an alert in the journal and a watchdog restart.
system-test: $(VENV)/.installed
	PYTHON=$(BIN)/python tools/nspawn/system-test.sh

# Host tests of the firmware bridge's portable C core against the shared protocol vectors (needs gcc).
.PHONY: firmware-test
firmware-test:
	$(MAKE) -C firmware_bridge test
