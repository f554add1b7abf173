# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow install install-dev lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install -e '.[dev,torch]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/jaxtune sweep experiments/demo.yaml --out runs/demo --overwrite
	$(BIN)/jaxtune report runs/demo

test: install-dev
	$(BIN)/python -m pytest -n auto --dist worksteal

# The long runs kept out of `make test` (the benchmark harnesses' quick modes, the full
# emotion run): CI runs them after it.
test-slow: install-dev
	$(BIN)/python -m pytest -n auto --dist worksteal -m slow

lint: install-dev
	$(BIN)/ruff check jaxtune tests benchmarks
	$(BIN)/ruff format --check jaxtune tests benchmarks

clean:
	rm -rf $(VENV) runs
