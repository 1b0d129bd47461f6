# Two commands on a fresh machine: `make run` (the whole pipeline, embedded defaults) and
# `make test`. Both create .venv when it is missing and install what they need into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A persistent instance: run history, sensor cursors and `dagster dev` share it.
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# dagster-mlflow pins dagster exactly; an unpinned resolve silently picks an ancient release.
DAGSTER_MLFLOW_VERSION := 0.29.27

.PHONY: install install-dev run dev test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --progress-bar off -e .
	@# not grep -q: it would stop reading early and pip would complain of a broken pipe
	$(BIN)/pip show dagster-mlflow | grep -x 'Version: $(DAGSTER_MLFLOW_VERSION)' >/dev/null \
		|| { echo "dagster-mlflow is not $(DAGSTER_MLFLOW_VERSION): pip resolved another release" >&2; exit 1; }
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --progress-bar off -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(DAGSTER_HOME):
	mkdir -p $@

# The whole graph on the embedded defaults: a short run log and a summary at the end
# (MLOPS_ASSETS_VERBOSE=1 make run: Dagster's full event log). It creates $(DAGSTER_HOME).
run: install
	$(BIN)/mlops-assets run

dev: install | $(DAGSTER_HOME)
	$(BIN)/dagster dev -w workspace.yaml

test: install-dev
	$(BIN)/python -m pytest

lint: install-dev
	$(BIN)/ruff check mlops_assets mlops_assets_tests bench scripts

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf artifacts mlflow.db mlruns .dagster_home
