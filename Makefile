# Two commands on a fresh machine: `make run` and `make test`. Only Python 3.11 is needed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Where the app is reached: the sandbox broker hosts, the login callbacks and the printed demo
# link all follow it, so `make run PORT=8101` is served and linked at :8101 throughout. Set
# SITE_URL yourself only when the app is reached at another address (a proxy, a LAN name).
SITE_URL ?= http://$(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST)):$(PORT)

.PHONY: install run test check lint typecheck format bench migrate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --no-input

run: migrate
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py seed_demo
	SITE_URL=$(SITE_URL) INPROCESS_SCHEDULER=true $(BIN)/python manage.py runserver $(HOST):$(PORT)

# -rs: every skipped test says why (no Chromium, no PostgreSQL...).
test: install
	$(BIN)/python -m pytest -rfEs $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy with the django and pydantic plugins over brokers/ and routing/ ([tool.mypy] in pyproject).
typecheck: install
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -rfEs $(PYTEST_ARGS)

bench: migrate
	$(BIN)/python -m bench $(BENCH_ARGS)

# Regenerate the lock after changing pyproject.toml dependencies.
lock:
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip compile pyproject.toml --extra dev \
		--python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
