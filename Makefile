# The README's two commands: `make run` (the demo) and `make test` (ruff + pytest).
# Each builds .venv itself on a fresh machine; only Python >= 3.11 and make are needed.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/errorsift demo --out demo-data
	$(BIN)/errorsift serve --db demo-data/demo.db --source demo-data/fleet.jsonl

test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: $(VENV)/.dev
	$(BIN)/python benchmarks/pipeline_1m.py

clean:
	rm -rf $(VENV) demo-data .pytest_cache .ruff_cache
