# The two commands a user needs: `make test` and `make run` (see README.md).
# Everything installs into .venv inside the repository; nothing goes to the user's home.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install test unit integration lint run demo bench local-up local-down clean

help:
	@echo "make test   - install into .venv (first time) and run every test"
	@echo "make run    - scrape today's IBOV portfolio from B3 into the local lake"
	@echo "make demo   - the same, offline, against the recorded B3 responses"
	@echo "make lint   - ruff and mypy"
	@echo "make bench  - print performance figures for this machine, record them in services/measured.json"
	@echo "make clean  - remove .venv and .state"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,infra]'
	touch $(STAMP)

install: $(STAMP)

# Two worker processes, each test file on one worker (its module fixtures, one emulator and
# one Spark per worker): about 10 minutes instead of 15 on 2 cores. TEST_WORKERS=0 runs serially,
# as it must against an emulator of your own (AWS_ENDPOINT_URL): the workers would share its stack.
TEST_WORKERS ?= $(if $(AWS_ENDPOINT_URL),0,2)

test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/functional -m "not integration"

integration: $(STAMP)
	$(BIN)/python -m pytest -m integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

run: $(STAMP)
	$(BIN)/bovespa run

demo: $(STAMP)
	$(BIN)/bovespa demo

bench: $(STAMP)
	$(BIN)/python -m services.bench

local-up: $(STAMP)
	$(BIN)/bovespa local up

local-down: $(STAMP)
	$(BIN)/bovespa local down

clean:
	rm -rf $(VENV) .state
