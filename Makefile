# Set-up and the jobs README names. The venv is rebuilt when pyproject.toml changes.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[export,test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/edge-export --data examples/pump_history.csv --out build/demo/model.onnx --report build/demo/report.png
	$(BIN)/edge-agent inspect build/demo/model.onnx

test: $(VENV)/.installed
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/latency.py
