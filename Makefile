# Two commands for a new user: `make demo` and `make test`.
# Both create or reuse .venv and install the project with what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test bench lint clean venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# the benchmark's peers (PIMS, dask-image, ScanImageTiffReader, and the heavy registration peers
# suite2p/torch and jnormcorre/jax) only for make bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench,bench-peers]'
	touch $(BENCH_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m imfun.demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --durations=15

# warm runs, then fresh processes (open included), registration, cells, ΔF/F baselines
REG_BENCH_ARGS ?= --frames 500 --frames2 2000
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.run --fresh --skip-extra $(BENCH_ARGS)
	$(BIN)/python -m bench.registration_bench $(REG_BENCH_ARGS)
	$(BIN)/python -m bench.cells_bench $(CELLS_BENCH_ARGS)
	$(BIN)/python -m bench.dfof_bench $(DFOF_BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis demo-output
