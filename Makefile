# The two-command promise: `make run` and `make test` set everything up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKLOAD := .cache/workload-1m.csv
SCENARIO ?= cfx/scenarios/baseline.toml
RUN_DIR ?= runs/baseline

.PHONY: install run replay lint test bench clean

install: $(STAMP)

# setup.py builds the compiled core (cfx/*.pyx, cfx/core/*.pyx, cfx/sim/*.pyx, cfx/clearing/*.pyx) when a C++ compiler is
# there; CFX_NO_EXTENSION=1 make install skips it (the pure-Python engine is used).
$(STAMP): pyproject.toml setup.py $(wildcard cfx/*.pyx cfx/core/*.pyx cfx/core/*.pxd cfx/sim/*.pyx cfx/sim/*.pxd cfx/clearing/*.pyx)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# bytecode now, as a wheel install writes it: without it (an editable install under
	# PYTHONDONTWRITEBYTECODE) every command compiles cfx's modules again, ~1.8 MB of a replay's peak
	$(BIN)/python -m compileall -q cfx
	touch $(STAMP)

$(WORKLOAD): $(STAMP)
	mkdir -p .cache
	$(BIN)/cfx workload 1000000 $(WORKLOAD)

# The main job: simulate the default scenario, then say where everything is.
run: $(STAMP)
	$(BIN)/cfx run $(SCENARIO) --out $(RUN_DIR) > /dev/null
	@$(BIN)/python -m json.tool $(RUN_DIR)/summary.json
	@echo "outputs: $(RUN_DIR)/ (events, trades, book_top, fixings, settlements, accounts .parquet; summary.json; journal)"
	@echo "report:  $(RUN_DIR)/report.html"

# The throughput benchmark on a 1M-message workload (one JSON line).
replay: $(STAMP) $(WORKLOAD)
	$(BIN)/cfx replay $(WORKLOAD)

# ruff's lint rules, and its formatter's style (`ruff format cfx tests bench examples setup.py` applies it)
lint: $(STAMP)
	$(BIN)/ruff check cfx tests bench examples setup.py
	$(BIN)/ruff format --check cfx tests bench examples setup.py

test: $(STAMP) lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	mkdir -p .benchmarks
	$(BIN)/python -m pytest bench --benchmark-only --benchmark-json=.benchmarks/bench.json -p no:cacheprovider -o testpaths=bench

clean:
	rm -rf $(VENV) .cache .benchmarks
