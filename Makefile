# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 is needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test check lint format bench migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: migrate
	$(BIN)/python manage.py seed_demo
	RUN_INPROCESS_SCHEDULER=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: migrate
	$(BIN)/python -m bench $(BENCH_ARGS)

# Regenerate the lock after changing pyproject.toml dependencies.
lock:
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip compile pyproject.toml --extra dev \
		--python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
