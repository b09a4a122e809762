# Two commands for a new machine: `make run` (the product) and `make test` (lint + tests).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test lint format bench install assets migrate seed messages clean e2e

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q ".[dev]"
	@touch $@

install: $(VENV)/.installed

static/vendor/.built: package.json package-lock.json scripts/copy-vendor.mjs
	npm ci --no-audit --no-fund --loglevel=error
	npm run --silent build
	@touch $@

assets: static/vendor/.built

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: install assets seed
	@echo ""
	@echo "  smsplatform is starting: http://127.0.0.1:8000/"
	@echo "  demo login: demo@smsplatform.local / demo-password-2026"
	@echo "  virtual phone (loopback gateway): http://127.0.0.1:8025/messages"
	@echo "  emails (sign-up confirmation, password reset, invitations) are not sent: they are printed"
	@echo "  in this terminal, in the lines of the web process (worker lines for alerts); open their links"
	@echo ""
	$(BIN)/honcho start -f Procfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install assets
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run >/dev/null
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: install assets
	@for b in bench/[!_]*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

messages: install
	$(BIN)/python manage.py makemessages -l fr -l en --ignore=.venv --ignore=node_modules --ignore=var
	$(BIN)/python manage.py makemessages -d djangojs -l fr -l en --ignore=.venv --ignore=node_modules --ignore=var --ignore=static/vendor
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf var/broker var/cache
