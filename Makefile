# `make run` sets everything up and starts the whole system on this machine;
# `make test` sets up and runs every check. Nothing here downloads at run or
# test time beyond the Python packages that `pip install` takes.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: run test lint typecheck pytest bench messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

run: $(STAMP)
	$(BIN)/wuye run

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy .

pytest: $(STAMP)
	$(BIN)/pytest -q

# The speed figures, side by side in one run (bench/run.py); one line per
# figure and var/bench.json; exits 1 when a target is missed. BENCH_QUICK=1
# runs everything ten times smaller.
bench: $(STAMP)
	$(BIN)/python -m bench --out var/bench.json

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
		-o var/messages.pot api ui store wuye domain activities workflows
	$(BIN)/pybabel update -i var/messages.pot -d ui/locale --ignore-obsolete \
		--no-fuzzy-matching

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
