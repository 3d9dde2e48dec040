# The two-command promise: `make run` and `make test` set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKLOAD := .cache/workload-200k.csv

.PHONY: install run test bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(WORKLOAD): $(STAMP)
	mkdir -p .cache
	$(BIN)/cfx workload 200000 $(WORKLOAD)

run: $(STAMP) $(WORKLOAD)
	$(BIN)/cfx replay $(WORKLOAD)

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest bench --benchmark-only --benchmark-json=.benchmarks/bench.json -p no:cacheprovider -o testpaths=bench

clean:
	rm -rf $(VENV) .cache .benchmarks
