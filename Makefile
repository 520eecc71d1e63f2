# Every target bootstraps its own virtualenv: a fresh clone needs only python3.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
COMPOSE ?= docker compose -f docker/compose.yaml

.PHONY: install test lint run sim bench bench-cluster up down clean

install: $(STAMP)

# PYTHONWARNINGS: setuptools' editable-install notice warns about our own source layout; not
# news to someone installing it.
$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check controller tests bench examples

run: $(STAMP)
	$(BIN)/conference-controller run

sim: $(STAMP)
	$(BIN)/conference-controller sim demo

bench: $(STAMP)
	$(BIN)/python -m bench

# Two simulated nodes, two controllers, redis-server (bench/README.md, "Two nodes").
bench-cluster: $(STAMP)
	$(BIN)/python -m bench.cluster_capacity

up:
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build *.egg-info
