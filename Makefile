# Two commands: `make demo` shows the pipeline, offline; `make test` checks it (README.md,
# "Quick start"). `make help` lists every target, from the `## ` note on its line.
# Everything installs into .venv inside the repository; nothing goes to the user's home.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every extra of pyproject.toml: the parts' ([local], [analysis], [infra]) and the tests' and
# tools' ([dev]); the base is docker/scraper.requirements.txt.
EXTRAS := local,analysis,infra,dev

.PHONY: help install format lint test unit-test functional-test integration-test \
	run demo bench local-up local-down clean

help: ## list the targets
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z0-9-]*:[^#]*## / {printf "make %-17s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(STAMP): pyproject.toml docker/scraper.requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	# asl-validator (npm) lints statemachine/ beside statelint (tests/unit/test_statemachine.py).
	npm install --silent --no-audit --no-fund --prefix $(VENV)/npm asl-validator@4.0.0
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the pinned dependencies (again when pyproject.toml changes)

format: $(STAMP) ## fix what ruff can fix, then format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

lint: $(STAMP) ## ruff check, ruff format --check, mypy --strict, deptry
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/deptry .

# Two worker processes, each test file on one (one emulator and one Spark per worker).
# TEST_WORKERS=0 runs serially, as it must against your own emulator (AWS_ENDPOINT_URL).
TEST_WORKERS ?= $(if $(AWS_ENDPOINT_URL),0,2)
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

test: lint ## lint, then every test (unit, functional, integration) in two processes (TEST_WORKERS=0: one)
	$(PYTEST)

unit-test: $(STAMP) ## tests/unit: pure code and files, no Spark, no emulator
	$(PYTEST) tests/unit

functional-test: $(STAMP) ## tests/functional: real Spark, the B3 replay server, local files
	$(PYTEST) tests/functional

integration-test: $(STAMP) ## tests/integration: the whole stack on the local AWS emulator
	$(PYTEST) tests/integration

run: $(STAMP) ## bovespa run: today's IBOV portfolio from B3's live site through the local pipeline
	$(BIN)/bovespa run

demo: $(STAMP) ## bovespa demo: the local pipeline, offline, on B3's recorded answers
	$(BIN)/bovespa demo

bench: $(STAMP) ## performance figures for this machine, recorded in services/tool/measured.json
	$(BIN)/python -m services.tool.bench

local-up: $(STAMP) ## start the local AWS emulator on 127.0.0.1:4566
	$(BIN)/bovespa local up

local-down: $(STAMP) ## stop the local AWS emulator
	$(BIN)/bovespa local down

clean: ## stop the local AWS emulator, remove .venv and .state
	if [ -x $(BIN)/bovespa ]; then $(BIN)/bovespa local down; fi
	rm -rf $(VENV) .state
